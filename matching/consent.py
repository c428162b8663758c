"""Consents: one per purpose, recorded with the privacy statement's version and the time.

The contact-sharing consent is required for every request. Every optional field
of the request form is enabled by its own consent, which says what it is for.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from matching.errors import ConsentMissing, InvalidInput
from matching.ids import new_id
from matching.tables import Consent

PRIVACY_STATEMENT_VERSION = "2026-11-29"

CONTACT = "contact_share"
PHONE = "phone"
ADDRESS = "address"
AGE = "age"
GENDER = "gender"
EDUCATION = "education"
JOB_TITLE = "job_title"
CV = "cv"
SPECIAL = "special"  # employment, employer, income: used for matching, then deleted
KEEP_SPECIAL = "keep_special"  # ... unless the candidate asks us to keep them


@dataclasses.dataclass(frozen=True)
class Purpose:
    code: str
    required: bool
    # What the consent says (English msgid; the web translates it).
    text: str


PURPOSES: Mapping[str, Purpose] = {
    p.code: p
    for p in (
        Purpose(
            CONTACT,
            True,
            "Share my name, e-mail address and phone number (if given) with the one coach "
            "who accepts my request, so that this coach can contact me.",
        ),
        Purpose(
            PHONE,
            False,
            "Use my phone number so that the coach who accepts can call me.",
        ),
        Purpose(
            ADDRESS,
            False,
            "Use my address to offer my request to coaches in my province (coaches see only "
            "the province) and share it with the coach who accepts.",
        ),
        Purpose(
            AGE,
            False,
            "Use my birth date or age to show coaches my age band (never the exact date).",
        ),
        Purpose(
            GENDER,
            False,
            "Share my gender with the coach who accepts, because it matters to me.",
        ),
        Purpose(
            EDUCATION,
            False,
            "Share my education level with the coach who accepts.",
        ),
        Purpose(
            JOB_TITLE,
            False,
            "Use my job title to show coaches my field of work (not the title itself) and "
            "share it with the coach who accepts.",
        ),
        Purpose(
            CV,
            False,
            "Store my CV encrypted and show it only to the coach who accepts.",
        ),
        Purpose(
            SPECIAL,
            False,
            "Use my employment situation, employer and income for matching: coaches see only "
            "the kind of employment; everything else is deleted right after matching.",
        ),
        Purpose(
            KEEP_SPECIAL,
            False,
            "Keep my employment situation, employer and income after matching, because my "
            "coaching needs them (for example a return-to-work plan), and share them with "
            "the coach who accepts.",
        ),
    )
}


def check(given: Iterable[str]) -> frozenset[str]:
    """The purposes consented to; the contact consent must be among them."""
    chosen = frozenset(str(p).strip() for p in given if str(p).strip())
    unknown = chosen - PURPOSES.keys()
    if unknown:
        raise InvalidInput("unknown consent purpose")
    if CONTACT not in chosen:
        raise ConsentMissing(
            "we need your consent to share your contact details with the coach who accepts"
        )
    if KEEP_SPECIAL in chosen and SPECIAL not in chosen:
        raise ConsentMissing("keeping employment data needs the consent to use it first")
    return chosen


def rows(
    subject_id: UUID,
    purposes: Iterable[str],
    now: datetime.datetime,
    *,
    statement_version: str = PRIVACY_STATEMENT_VERSION,
) -> list[dict[str, Any]]:
    """One consent row per purpose, with the privacy statement's version (the one the
    person was shown) and the time."""
    return [
        {
            "id": new_id(),
            "subject_id": subject_id,
            "purpose": purpose,
            "statement_version": statement_version,
            "given_at": now,
        }
        for purpose in sorted(purposes)
    ]


async def given(subject_id: UUID) -> frozenset[str]:
    rows = await Consent.select(Consent.purpose).where(
        (Consent.subject_id == subject_id) & Consent.withdrawn_at.is_null()
    )
    return frozenset(row["purpose"] for row in rows)
