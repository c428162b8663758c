"""BSN (Dutch citizen service number): 9 digits, any grouping, with the 11-check."""

from __future__ import annotations

import re

from anonymiser.text.findings import Finding

# 9 digits, optionally separated by single spaces, dots or dashes; 8-digit BSNs are
# written with a leading zero, so 9 digits is the form to look for.
_CANDIDATE = re.compile(r"(?<![\w.,/+-])\d(?:[ .-]?\d){8}(?![\w]|[.,/-]\d)")


def is_valid(number: str) -> bool:
    """The 11-check ("elfproef") for a BSN."""
    digits = [int(ch) for ch in number if ch.isdigit()]
    if len(digits) != 9 or digits[0] == digits[1] == digits[2] == 0:
        return False
    total = sum(d * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - digits[8]
    return total % 11 == 0


def find(text: str) -> list[Finding]:
    return [
        Finding("bsn", m.start(), m.end())
        for m in _CANDIDATE.finditer(text)
        if is_valid(m.group()) and _groups_ok(m.group())
    ]


def _groups_ok(candidate: str) -> bool:
    """Separators must be used consistently (one kind) and groups be 2-4 digits long."""
    separators = {ch for ch in candidate if not ch.isdigit()}
    if not separators:
        return True
    if len(separators) > 1:
        return False
    groups = re.split(r"[ .-]", candidate)
    return all(1 <= len(g) <= 4 for g in groups) and len(groups) <= 4
