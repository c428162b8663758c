"""Merging overlapping findings from several detectors into one clean list."""

from __future__ import annotations

from collections.abc import Iterable

from anonymiser.text.findings import Finding

# Which type names an overlapping group when two findings are equally long.
PRIORITY: dict[str, int] = {
    "email": 100,
    "url": 95,
    "iban": 92,
    "handle": 90,
    "bsn": 88,
    "date_of_birth": 85,
    "phone": 80,
    "postcode": 75,
    "address": 70,
    "date": 65,
    "age": 60,
    "employer": 55,
    "institution": 54,
    "name": 50,
    "city": 45,
    "id_number": 40,
}


def _rank(finding: Finding) -> tuple[int, int]:
    return (finding.end - finding.start, PRIORITY.get(finding.type, 0))


def merge(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Overlapping findings become one span; the longest (then most specific) names it."""
    ordered = sorted((f for f in findings if f.end > f.start), key=lambda f: (f.start, -f.end))
    merged: list[Finding] = []
    group: list[Finding] = []
    group_end = -1
    for finding in ordered:
        if group and finding.start < group_end:
            group.append(finding)
            group_end = max(group_end, finding.end)
            continue
        if group:
            merged.append(_combine(group, group_end))
        group = [finding]
        group_end = finding.end
    if group:
        merged.append(_combine(group, group_end))
    return tuple(merged)


def _combine(group: list[Finding], end: int) -> Finding:
    best = max(group, key=_rank)
    return Finding(best.type, group[0].start, end)


def overlaps(start: int, end: int, taken: Iterable[Finding]) -> bool:
    """True when [start, end) overlaps any of ``taken``."""
    return any(start < f.end and f.start < end for f in taken)
