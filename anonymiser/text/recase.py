"""Re-casing all-lower-case text so deduce's case-sensitive name and place lists apply.

Only the case of letters changes, so every offset stays valid for the original text.
"""

from __future__ import annotations

import re
from typing import Protocol

from anonymiser.text.casing import is_lowercase
from anonymiser.text.lexicon import FUNCTION_WORDS, PARTICLES
from anonymiser.text.public_words import ORDINARY_WORDS

__all__ = ["Recaser", "is_lowercase"]

_WORD = re.compile(r"(?<![\w'])[^\W\d_]+")
_PAIR = re.compile(r"(?<![\w'])(den|de|ter|ten|het|'s|'t|la|le|van)[ \t]+([^\W\d_]+)")


class _Lists(Protocol):
    whitelist: frozenset[str]
    first_names: dict[str, str]
    surnames: dict[str, str]
    places: dict[str, str]
    particle_places: dict[str, str]


class Recaser:
    """Gives known names and places their usual capitals; leaves ordinary words alone."""

    def __init__(self, lists: _Lists) -> None:
        cased: dict[str, str] = {}
        for table in (lists.places, lists.surnames, lists.first_names):
            for lower, usual in table.items():
                if len(usual) != len(lower) or lower in lists.whitelist:
                    continue
                if lower not in FUNCTION_WORDS | PARTICLES | ORDINARY_WORDS:
                    cased[lower] = usual
        self._cased = cased
        self._pairs = lists.particle_places

    def recase(self, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            word = match.group()
            return self._cased.get(word, word)

        recased = _WORD.sub(replace, text)
        if not self._pairs:
            return recased

        def replace_pair(match: re.Match[str]) -> str:
            pair = f"{match.group(1)} {match.group(2)}"
            usual = self._pairs.get(pair)
            if usual is None or len(usual) != len(pair):
                return match.group()
            return (
                usual[: len(match.group(1))]
                + match.group()[len(match.group(1)) : -len(match.group(2))]
                + usual[-len(match.group(2)) :]
            )

        return _PAIR.sub(replace_pair, recased)
