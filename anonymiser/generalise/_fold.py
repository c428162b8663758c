"""Text folding shared by the look-ups: case- and diacritic-insensitive keys."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z&]+")


def fold(value: str) -> str:
    """Lower-case, strip diacritics, turn punctuation into single spaces.

    ``"'s-Hertogenbosch"`` -> ``"s hertogenbosch"``, ``"Súdwest-Fryslân"`` ->
    ``"sudwest fryslan"``.
    """
    decomposed = unicodedata.normalize("NFKD", value)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_ALNUM.sub(" ", bare.casefold()).strip()
