"""Telling all-lower-case messages apart (their names and places carry no capital)."""

from __future__ import annotations

_SAMPLE = 600
_MAX_CAPITAL_SHARE = 0.01


def is_lowercase(text: str) -> bool:
    """True when (nearly) no letter is a capital, as in "ik ben jan uit utrecht"."""
    sample = text[:_SAMPLE]
    letters = sum(1 for ch in sample if ch.isalpha())
    capitals = sum(1 for ch in sample if ch.isupper())
    return letters > 0 and capitals / letters < _MAX_CAPITAL_SHARE
