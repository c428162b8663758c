"""Result types of the text anonymiser and the placeholder table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PlaceholderSet = Literal["nl", "en"]

TYPES: tuple[str, ...] = (
    "name",
    "email",
    "phone",
    "iban",
    "bsn",
    "url",
    "handle",
    "postcode",
    "address",
    "city",
    "date_of_birth",
    "date",
    "age",
    "employer",
    "institution",
    "id_number",
)

PLACEHOLDERS: dict[str, dict[str, str]] = {
    "nl": {
        "name": "[naam]",
        "email": "[e-mailadres]",
        "phone": "[telefoonnummer]",
        "iban": "[iban]",
        "bsn": "[bsn]",
        "url": "[url]",
        "handle": "[account]",
        "postcode": "[postcode]",
        "address": "[adres]",
        "city": "[woonplaats]",
        "date_of_birth": "[geboortedatum]",
        "date": "[datum]",
        "age": "[leeftijd]",
        "employer": "[werkgever]",
        "institution": "[instelling]",
        "id_number": "[nummer]",
    },
    "en": {
        "name": "[name]",
        "email": "[email]",
        "phone": "[phone]",
        "iban": "[iban]",
        "bsn": "[bsn]",
        "url": "[url]",
        "handle": "[handle]",
        "postcode": "[postcode]",
        "address": "[address]",
        "city": "[city]",
        "date_of_birth": "[date of birth]",
        "date": "[date]",
        "age": "[age]",
        "employer": "[employer]",
        "institution": "[institution]",
        "id_number": "[number]",
    },
}


@dataclass(frozen=True)
class Finding:
    """A personal value found in the text: its type and offsets into the ORIGINAL text."""

    type: str
    start: int
    end: int


@dataclass(frozen=True)
class AnonymisedText:
    """The anonymised text and what was replaced (offsets into the original)."""

    text: str
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class CandidateName:
    """The candidate's own name, removed in every spelling."""

    first: str
    last: str
