"""The data-processing agreement a coach accepts before receiving anyone's contact details.

Seed 003: recipients agree to use the data only for this purpose and to delete it
when it is no longer needed. Each acceptance is recorded with the version.
"""

from __future__ import annotations

import datetime
from uuid import UUID

from matching import audit, db
from matching.errors import AgreementMissing, InvalidInput
from matching.tables import CoachAgreement

VERSION = "2026-11-29"

# English msgids; the web translates them. One clause per item.
CLAUSES = (
    "I use a candidate's contact details and other data only to offer and provide "
    "coaching for the request I accepted.",
    "I do not pass the data on to anyone else and keep it safe (a locked device, no "
    "shared accounts).",
    "I delete the data as soon as it is no longer needed for the coaching, and at the "
    "latest when the coaching ends.",
    "I report a suspected data leak to Coachmatch at once, within 24 hours.",
    "I help Coachmatch answer a candidate's request to see, correct or erase their data.",
)


async def accept(coach_id: UUID, version: str, *, actor: str) -> None:
    if version != VERSION:
        raise InvalidInput("this is not the current version of the agreement")
    async with db.write_transaction():
        await CoachAgreement.insert(
            CoachAgreement(
                coach_id=coach_id, version=version, accepted_at=datetime.datetime.now(datetime.UTC)
            )
        )
        await audit.record(
            actor,
            audit.Action.AGREEMENT_ACCEPTED,
            purpose="processing_agreement",
            details={"coach_id": coach_id, "version": version},
        )


async def has_current(coach_id: UUID) -> bool:
    rows = await CoachAgreement.count().where(
        (CoachAgreement.coach_id == coach_id) & (CoachAgreement.version == VERSION)
    )
    return bool(rows)


async def require_current(coach_id: UUID) -> None:
    if not await has_current(coach_id):
        raise AgreementMissing("accept the data-processing agreement before accepting requests")
