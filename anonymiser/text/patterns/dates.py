"""Full dates (day, month, year) in Dutch and English; birth dates by their context."""

from __future__ import annotations

import re

from anonymiser.text.findings import Finding
from anonymiser.text.folding import fold

_NL_MONTHS = (
    "januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december"
    "|jan|feb|febr|mrt|mar|apr|jun|jul|aug|sep|sept|okt|oct|nov|dec"
)
_EN_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_MONTH = rf"(?:{_NL_MONTHS}|{_EN_MONTHS})\.?"
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_ORDINAL = r"(?:st|nd|rd|th|e|ste|de)?"
_YEAR4 = r"(?:1[89]\d\d|20\d\d)"
_YEAR = rf"(?:{_YEAR4}|'?\d\d)"
_NUM_MONTH = r"(?:0?[1-9]|1[0-2])"

_PATTERNS = [
    # 21-04-1974, 4/7/91, 25.05.1997 (same separator twice)
    rf"(?<![\d.,/-]){_DAY}(?P<s>[-/.]){_NUM_MONTH}(?P=s){_YEAR}(?![\d]|[.,/-]\d)",
    # 1993-05-13, 1993/05/13
    rf"(?<![\d.,/-]){_YEAR4}(?P<t>[-/.]){_NUM_MONTH}(?P=t){_DAY}(?![\d]|[.,/-]\d)",
    # 27 december 1962, 28 jul. 1976, 21st of July 2001, 5 March '91
    rf"\b{_DAY}{_ORDINAL}\s*(?:of\s+)?{_MONTH}\s*,?\s*{_YEAR}\b",
    # March 5, 1991; August 23rd 1990
    rf"\b{_MONTH}\s*{_DAY}{_ORDINAL},?\s*{_YEAR}\b",
]
_DATE = re.compile("|".join(f"(?:{p})" for p in _PATTERNS))
# A birth year on its own: "geboren in 1985", "born in '85", "bouwjaar" is not matched.
_BIRTH_YEAR = re.compile(
    rf"\b(?:geboren|geb\.|born)\s+(?:in|op|on|te\s+\w+\s+in)?\s*(?P<year>{_YEAR4})\b",
)
_BIRTH_CONTEXT = re.compile(
    r"geboren|geboorte|geb\.|\bborn\b|\bbirth|\bd\.?o\.?b\b|verjaardag|jarig"
)
_CONTEXT_WINDOW = 60


def find(text: str) -> list[Finding]:
    """Searched in the folded text (lower case, same offsets)."""
    text = fold(text)
    found: list[Finding] = []
    for m in _DATE.finditer(text):
        before = text[max(0, m.start() - _CONTEXT_WINDOW) : m.start()]
        kind = "date_of_birth" if _BIRTH_CONTEXT.search(before) else "date"
        found.append(Finding(kind, m.start(), m.end()))
    for m in _BIRTH_YEAR.finditer(text):
        found.append(Finding("date_of_birth", m.start("year"), m.end("year")))
    return found
