"""Dutch postcodes ("1234 AB", "1234ab"), and telling deduce's locations apart."""

from __future__ import annotations

import re

from anonymiser.text.findings import Finding
from anonymiser.text.lexicon import words

_CANDIDATE = re.compile(r"(?<![\w.,/-])(?P<num>[1-9]\d{3})(?P<sep>\s?)(?P<let>[A-Za-z]{2})\b")
# two-letter words and units that follow a number in ordinary text
_NOT_LETTERS = frozenset(
    words(
        """
        en of op in is de te om al nu zo ja na me we je ze an at be by do go he if
        it my no on or so to up us am pm uur km kg mg ml cm mm gb mb kb tb hz kw ct
        pp ca vs
        """
    )
)
_UNITS = frozenset({"km", "kg", "mg", "ml", "cm", "mm", "gb", "mb", "kb", "tb", "hz"})
# a house number after a street word ("straat 12a,"), a comma, or a "postcode:" label
_ADDRESS_BEFORE = re.compile(
    r"(?:[^\W\d_]\s+\d{1,4}\s*[a-zA-Z]?\s*,?|[^\d\s]\s*,|postcode:?|zip(?: code)?:?)\s*$"
)
_FULL = re.compile(r"[1-9]\d{3}\s?[A-Za-z]{2}")


def find(text: str) -> list[Finding]:
    found: list[Finding] = []
    for m in _CANDIDATE.finditer(text):
        if _accept(text, m):
            found.append(Finding("postcode", m.start(), m.end()))
    return found


def _accept(text: str, m: re.Match[str]) -> bool:
    letters = m.group("let")
    if letters.isupper():
        return True
    rejected = _NOT_LETTERS if m.group("sep") else _UNITS
    if letters.lower() in rejected and not _after_address(text, m.start()):
        return False
    if m.group("sep") and not letters.islower() and not letters.isupper():
        return False  # "2019 In ..." is a year and a sentence
    year_like = bool(m.group("sep")) and 1900 <= int(m.group("num")) <= 2099
    return not (year_like and not _after_address(text, m.start()))


def _after_address(text: str, start: int) -> bool:
    return _ADDRESS_BEFORE.search(text[max(0, start - 20) : start]) is not None


def classify_location(value: str) -> str:
    """deduce tags streets, postcodes and places alike as 'locatie'."""
    if _FULL.fullmatch(value.strip()):
        return "postcode"
    if any(ch.isdigit() for ch in value):
        return "address"
    return "city"
