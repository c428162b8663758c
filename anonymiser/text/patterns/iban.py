"""IBAN, compact or in groups, any case, kept only with a valid mod-97 check."""

from __future__ import annotations

import re

from anonymiser.text.findings import Finding

# Lengths per country (ISO 13616 registry) for the countries seen in NL banking.
_LENGTHS: dict[str, int] = {
    "NL": 18, "BE": 16, "DE": 22, "FR": 27, "GB": 22, "LU": 20, "ES": 24, "IT": 27,
    "PT": 25, "IE": 22, "AT": 20, "CH": 21, "DK": 18, "SE": 24, "NO": 15, "FI": 18,
    "PL": 28, "CZ": 24, "GR": 27, "TR": 26, "MA": 28, "HU": 28, "RO": 24, "BG": 22,
    "HR": 21, "SK": 24, "SI": 19, "LT": 20, "LV": 21, "EE": 20, "IS": 26, "MT": 31,
    "CY": 28, "LI": 21, "MC": 27, "SM": 27, "AD": 24, "GI": 23,
}  # fmt: skip
_CANDIDATE = re.compile(
    r"\b[A-Za-z]{2}[ ]?\d{2}(?:[ ]?[A-Za-z0-9]){10,30}\b",
)


def is_valid(iban: str) -> bool:
    """The ISO 7064 mod-97 check of an IBAN without separators."""
    compact = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", compact):
        return False
    if _LENGTHS.get(compact[:2]) != len(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def find(text: str) -> list[Finding]:
    found: list[Finding] = []
    for m in _CANDIDATE.finditer(text):
        span = _longest_valid(text, m.start(), m.end())
        if span is not None:
            found.append(Finding("iban", *span))
    return found


def _longest_valid(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Try the match and shorter prefixes ending on a character (a group may follow)."""
    stop = end
    while stop - start >= 14:
        if text[stop - 1] != " " and is_valid(text[start:stop]):
            return start, stop
        stop -= 1
    return None
