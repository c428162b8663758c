"""Case- and accent-blind text of the same length, so offsets carry over."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

_SPECIAL = {"\u0131": "i", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ß": "ß"}


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    special = _SPECIAL.get(ch)
    if special is not None:
        return special
    base = unicodedata.normalize("NFD", ch)[0].lower()
    return base[0] if base else ch


@lru_cache(maxsize=8)
def fold(text: str) -> str:
    """Lower-case, accents removed, one character for one character (cached per text)."""
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(ch) for ch in text)
