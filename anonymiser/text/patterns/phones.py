"""Phone numbers via phonenumbers (region NL), lenient but anchored on + / 0 / (."""

from __future__ import annotations

from collections.abc import Iterable

import phonenumbers

from anonymiser.text.findings import Finding

_REGION = "NL"


def find(text: str, *, taken: Iterable[Finding] = ()) -> list[Finding]:
    """Numbers that start with '+', '0' or '(' and do not cut into ``taken`` (IBAN, BSN, dates)."""
    claimed = list(taken)
    found: list[Finding] = []
    matcher = phonenumbers.PhoneNumberMatcher(
        text, _REGION, leniency=phonenumbers.Leniency.POSSIBLE
    )
    for match in matcher:
        if match.raw_string[:1] not in "+0(":
            continue
        yielding = [f for f in claimed if not _phone_wins(match.raw_string, f)]
        if any(
            match.start < f.end
            and f.start < match.end
            and not (match.start <= f.start and f.end <= match.end)
            for f in yielding
        ):
            continue  # part of an IBAN, date or BSN; a longer number containing one stays
        found.append(Finding("phone", match.start, match.end))
    return found


def _phone_wins(raw: str, other: Finding) -> bool:
    """International numbers beat a BSN/postcode reading; national ones beat postcodes."""
    if other.type == "postcode":
        return True
    return other.type == "bsn" and raw.startswith(("+", "00"))


def drop_beaten(found: list[Finding], numbers: list[Finding], text: str) -> list[Finding]:
    """Remove the postcode/BSN candidates that a phone number in ``numbers`` overlaps."""
    return [
        f
        for f in found
        if not any(
            f.start < p.end and p.start < f.end and _phone_wins(text[p.start : p.end], f)
            for p in numbers
        )
    ]
