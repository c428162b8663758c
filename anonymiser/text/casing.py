"""Telling all-lower-case messages apart (their names and places carry no capital)."""

from __future__ import annotations

from functools import lru_cache

_SAMPLE = 600
_MAX_CAPITAL_SHARE = 0.01


@lru_cache(maxsize=8)  # asked by several detectors for the same message
def is_lowercase(text: str) -> bool:
    """True when (nearly) no letter is a capital, as in "ik ben jan uit utrecht"."""
    sample = text[:_SAMPLE]
    letters = sum(map(str.isalpha, sample))
    capitals = sum(map(str.isupper, sample))
    return letters > 0 and capitals / letters < _MAX_CAPITAL_SHARE
