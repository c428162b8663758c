"""Accepting a request: the first coach wins, and only the winner may read the contact.

:func:`accept` is one conditional update (``... WHERE id = ? AND status = 'open'
RETURNING``): however many coaches accept at once, exactly one row changes, for
exactly one of them. Everyone else gets :class:`~matching.errors.RequestAlreadyMatched`.
The winner's offer is marked accepted in the same transaction, and two jobs are
queued with it: the candidate's e-mail ("coach X accepted") and
:func:`settle_offers`, which marks every other coach's offer missed. Those
offers could be hundreds of rows; writing them after the answer keeps the
winner's commit short, and nothing waits for them: the feed and every answer to
a coach look at the request's own status.

Contact details are decrypted only for the winning coach, and every decryption
is written to the audit log with its purpose and the fields it read.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any
from uuid import UUID

from matching import agreement, audit, db, outbox
from matching.errors import AgreementMissing, AtCapacity, NotFound, NotOpen, RequestAlreadyMatched
from matching.notifications import mail_job
from matching.runtime import Runtime
from matching.subjects import read_subject
from matching.tables import CandidateDetail, CandidateFile, ContactRequest, Offer

REQUESTS = ContactRequest._meta.tablename
DETAILS = CandidateDetail._meta.tablename
FILES = CandidateFile._meta.tablename
CONTACT_PURPOSE = "match_contact"
CV_PURPOSE = "match_cv"
SETTLE_OFFERS_ACTOR = "settle_offers"


@dataclasses.dataclass(frozen=True)
class Contact:
    """What the accepting coach receives. Personal values stay out of ``repr``."""

    request_id: UUID
    name: str = dataclasses.field(repr=False)
    email: str = dataclasses.field(repr=False)
    phone: str | None = dataclasses.field(repr=False)
    motivation: str = dataclasses.field(repr=False)
    details: dict[str, str] = dataclasses.field(repr=False)
    cv_filename: str | None = dataclasses.field(repr=False)
    matched_at: datetime.datetime
    closed: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "request_id": str(self.request_id),
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "motivation": self.motivation,
            "details": self.details,
            "cv": self.cv_filename is not None,
            "matched_at": self.matched_at.isoformat(),
            "closed": self.closed,
        }


@dataclasses.dataclass(frozen=True)
class CvDownload:
    filename: str = dataclasses.field(repr=False)
    media_type: str
    content: bytes = dataclasses.field(repr=False)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def actor_of(coach_id: UUID) -> str:
    return f"coach:{coach_id}"


async def accept(runtime: Runtime, coach_id: UUID, request_id: UUID) -> Contact:
    """Accept an offered request; the winner gets the contact details, others a 409."""
    await _check_may_accept(coach_id, request_id)
    now = _now()
    async with outbox.unit_of_work(runtime):
        won = (
            await ContactRequest.update(
                {
                    ContactRequest.status: "matched",
                    ContactRequest.matched_coach_id: coach_id,
                    ContactRequest.matched_at: now,
                }
            )
            .where((ContactRequest.id == request_id) & (ContactRequest.status == "open"))
            .returning(ContactRequest.candidate_id)
        )
        if not won:
            await _ensure_open(request_id)
            raise NotOpen("this request is no longer open")
        candidate_id = won[0]["candidate_id"]
        await Offer.update({Offer.status: "accepted", Offer.answered_at: now}).where(
            (Offer.request_id == request_id) & (Offer.coach_id == coach_id)
        )
        await audit.record(
            actor_of(coach_id),
            audit.Action.REQUEST_MATCHED,
            subject_id=candidate_id,
            purpose=CONTACT_PURPOSE,
            details={"request_id": request_id, "coach_id": coach_id},
        )
        await outbox.enqueue_rows(
            [
                mail_job(candidate_id, "request_matched", request_id=request_id),
                outbox.job_row(SETTLE_OFFERS_ACTOR, request_id=request_id),
            ]
        )
    return await contact(runtime, coach_id, request_id)


async def settle_offers(job_id: UUID, request_id: UUID) -> int:
    """The job after a match: the other coaches' open offers become ``missed``.

    Idempotent: the update and the job's completion commit together. Returns how many
    offers changed (0 for a repeated delivery).
    """
    async with outbox.completing(job_id) as first:
        if not first:
            return 0
        settled = (
            await Offer.update({Offer.status: "missed"})
            .where((Offer.request_id == request_id) & (Offer.status == "offered"))
            .returning(Offer.id)
        )
    return len(settled)


# Everything accept checks before writing, in one statement: in a burst of accepts the
# losers are answered after one read, and a decided request never reaches the write lock.
_PRECHECK = """
SELECT r.status AS status,
       (SELECT COUNT(*) FROM coach_agreement a
         WHERE a.coach_id = {} AND a.version = {}) AS signed,
       (SELECT c.capacity FROM coach c WHERE c.id = {}) AS capacity,
       (SELECT COUNT(*) FROM contact_request m
         WHERE m.matched_coach_id = {} AND m.status = 'matched' AND m.closed_at IS NULL) AS load
FROM offer o JOIN contact_request r ON r.id = o.request_id
WHERE o.request_id = {} AND o.coach_id = {}
"""


async def _check_may_accept(coach_id: UUID, request_id: UUID) -> None:
    rows = await db.fetch(
        Offer, _PRECHECK, coach_id, agreement.VERSION, coach_id, coach_id, request_id, coach_id
    )
    if not rows:
        raise NotFound("no such request")
    row = rows[0]
    _raise_unless_open(row["status"])
    if not row["signed"]:
        raise AgreementMissing("accept the data-processing agreement before accepting requests")
    if row["capacity"] is None:
        raise NotFound("no such coach")
    if int(row["load"]) >= int(row["capacity"]):
        raise AtCapacity("you have as many active matches as your capacity; close one first")


async def _ensure_open(request_id: UUID) -> None:
    rows = await ContactRequest.select(ContactRequest.status).where(ContactRequest.id == request_id)
    if not rows:
        raise NotFound("no such request")
    _raise_unless_open(rows[0]["status"])


def _raise_unless_open(status: str) -> None:
    if status == "matched":
        raise RequestAlreadyMatched("another coach has accepted this request already")
    if status != "open":
        raise NotOpen("this request is no longer open")


async def contact(runtime: Runtime, coach_id: UUID, request_id: UUID) -> Contact:
    """The contact details of a request this coach won; every read is audited."""
    rows = await ContactRequest.select().where(
        (ContactRequest.id == request_id) & (ContactRequest.matched_coach_id == coach_id)
    )
    if not rows:
        raise NotFound("no such match")
    request = rows[0]
    vault, subject_id = runtime.vault, request["candidate_id"]
    person = await read_subject(vault, subject_id)
    motivation = await vault.decrypt_text(
        subject_id, REQUESTS, "motivation", request_id, request["motivation"]
    )
    details: dict[str, str] = {}
    for row in await CandidateDetail.select().where(CandidateDetail.request_id == request_id):
        details[row["field"]] = await vault.decrypt_text(
            subject_id, DETAILS, "value", row["id"], row["value"]
        )
    files = await CandidateFile.select(CandidateFile.id, CandidateFile.filename).where(
        CandidateFile.request_id == request_id
    )
    cv_name = None
    if files:
        cv_name = await vault.decrypt_text(
            subject_id, FILES, "filename", files[0]["id"], files[0]["filename"]
        )
    fields = ["name", "email", "motivation", *sorted(details)]
    if person.phone:
        fields.append("phone")
    await audit.record(
        actor_of(coach_id),
        audit.Action.DATA_DECRYPTED,
        subject_id=subject_id,
        purpose=CONTACT_PURPOSE,
        details={"request_id": request_id, "fields": fields},
    )
    return Contact(
        request_id=request_id,
        name=person.name,
        email=person.email,
        phone=person.phone,
        motivation=motivation,
        details=details,
        cv_filename=cv_name,
        matched_at=request["matched_at"],
        closed=request["closed_at"] is not None,
    )


async def cv_for_coach(runtime: Runtime, coach_id: UUID, request_id: UUID) -> CvDownload:
    """The CV of a request this coach won (audited)."""
    rows = await ContactRequest.select(ContactRequest.candidate_id).where(
        (ContactRequest.id == request_id) & (ContactRequest.matched_coach_id == coach_id)
    )
    if not rows:
        raise NotFound("no such match")
    download = await read_cv(runtime, rows[0]["candidate_id"], request_id)
    await audit.record(
        actor_of(coach_id),
        audit.Action.DATA_DECRYPTED,
        subject_id=rows[0]["candidate_id"],
        purpose=CV_PURPOSE,
        details={"request_id": request_id, "fields": ["cv"]},
    )
    return download


async def read_cv(runtime: Runtime, subject_id: UUID, request_id: UUID) -> CvDownload:
    rows = await CandidateFile.select().where(
        (CandidateFile.request_id == request_id) & (CandidateFile.subject_id == subject_id)
    )
    if not rows:
        raise NotFound("there is no CV")
    row, vault = rows[0], runtime.vault
    return CvDownload(
        filename=await vault.decrypt_text(
            subject_id, FILES, "filename", row["id"], row["filename"]
        ),
        media_type=row["media_type"],
        content=await vault.decrypt_bytes(subject_id, FILES, "content", row["id"], row["content"]),
    )
