"""Ages in Dutch and English phrasing; work experience ("15 jaar ervaring") is no age.

Anchored on the numbers 15-119: the words before and after decide.
"""

from __future__ import annotations

import re

from anonymiser.text.findings import Finding
from anonymiser.text.folding import fold

_NUMBER = re.compile(r"(?<![\d.,/€$-])(?:1[5-9]|[2-9]\d|1[01]\d)(?![\d]|[.,/:]\d)")
# What follows the number and makes it an age on its own.
_AGE_AFTER = re.compile(
    r"\s*(?:-\s*)?(?:jaar\s+oud|jaar\s+jong|jarige|jarig\b|years?[\s-]+old|years?\s+young|"
    r"yrs?[\s-]+old|y/o\b|yo\b|year-old|yr-old)"
)
_NOT_AGE_AFTER = re.compile(
    r"\s*(?:jaar|jr\.?|years?)?\s*(?:ervaring|werkervaring|werkzaam|in\s+dienst|geleden|bij|"
    r"lang|gewerkt|getrouwd|samen|of\s+experience|experience|ago|at\b|in\s+the|for\b|"
    r"procent|%|uur|euro|keer|kinderen|hours|percent|times|minuten|minutes|dagen|days|"
    r"weken|weeks|maanden|months|werk|work|kilo|km|kg|cm|meter|graden|degrees|euro)"
)
# What comes right before the number.
_BEFORE = re.compile(
    r"(?:\bik\s+ben|\bben\s+ik|\bik\s+word|\bword\s+ik|\bik\s+werd|\bi\s+am|\bi'm|\bi\u2019m|"
    r"\bim|\bage|\baged|\bleeftijd|\bmijn\s+leeftijd\s+is|\bmy\s+age\s+is|\bi\s+turn(?:ed)?|"
    r"\bturning|\bturned|\bwerd\s+ik|\bis\s+nu|\bben\s+nu|\bam\s+now|(?:^|[,;]|\ben)\s*ben|"
    r"\bleeftijd\s+van|\bage\s+of|\bik\s+word(?:\s+[a-z]+){1,3})"
    r"(?:\s+(?:net|bijna|al|pas|nu|inmiddels|just|almost|nearly|already|now))?\s*:?\s*$"
)
_AFTER_NAME = re.compile(r"[^\W\d_]\s*\(\s*$|[^\W\d_],\s*$")
_CLOSE_AFTER_NAME = re.compile(
    r"\s*(?:jaar|j|yrs?|years?)?\s*\)|\s*(?=,|\.|;|\s+(?:jaar|years|"
    r"jr|uit|from|en|and|wonend|living|woonachtig)\b)"
)
_WINDOW = 30


def find(text: str) -> list[Finding]:
    folded = fold(text)
    found: list[Finding] = []
    for m in _NUMBER.finditer(folded):
        if _is_age(folded, m.start(), m.end()):
            found.append(Finding("age", m.start(), m.end()))
    return found


def _is_age(folded: str, start: int, end: int) -> bool:
    if _AGE_AFTER.match(folded, end):
        return True
    before = folded[max(0, start - _WINDOW) : start]
    if _BEFORE.search(before):
        return not _NOT_AGE_AFTER.match(folded, end)
    if _AFTER_NAME.search(before):
        return _CLOSE_AFTER_NAME.match(folded, end) is not None
    return False


def number_within(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink an age annotation ("45 jaar") to its number, keeping the words readable."""
    m = re.search(r"\d+", text[start:end])
    if m is None:
        return start, end
    return start + m.start(), start + m.end()
