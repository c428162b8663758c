"""Broadcast: anonymise a request and offer it to every coach it fits.

Runs as a job (the ``broadcast_request`` actor) after the request is committed.
The text is anonymised off the event loop; if that fails, the request is held
back (status ``held``) instead of being broadcast. Offers are one row per request
and coach (a unique index), so running the job twice offers nothing twice. Each
new offer queues a notification that carries no data of the candidate. Special
data (employment, employer, income) has done its work once the text is scrubbed and
the offers are out: it is deleted in the same transaction, unless the candidate
asked us to keep it.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from anonymiser.text import AnonymiserError
from matching import audit, bulk, catalogue, consent, db, outbox
from matching.ids import new_id
from matching.notifications import mail_job
from matching.runtime import Runtime
from matching.scrubbing import KnownValues
from matching.subjects import read_subject
from matching.tables import CandidateDetail, Coach, ContactRequest, Offer

REQUESTS = ContactRequest._meta.tablename
DETAILS = CandidateDetail._meta.tablename
SYSTEM_ACTOR = "system"
_SCRUB_TERMS = {
    "street": "address",
    "postcode": "postcode",
    "city": "city",
    "employer": "employer",
    "job_title": "job_title",
}


@dataclasses.dataclass(frozen=True)
class CoachFit:
    id: UUID
    subject_id: UUID


@dataclasses.dataclass(frozen=True)
class BroadcastResult:
    status: str  # open | held | skipped
    offered: int = 0


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def run(runtime: Runtime, job_id: UUID, request_id: UUID) -> BroadcastResult:
    """The broadcast job's whole effect; idempotent."""
    rows = (
        await ContactRequest.select().where(ContactRequest.id == request_id).output(load_json=True)
    )
    if not rows or rows[0]["status"] not in ("pending", "open"):
        async with outbox.completing(job_id):
            return BroadcastResult("skipped")
    request = rows[0]
    summary = None
    if request["summary"] is None:
        try:
            summary = await _anonymise(runtime, request)
        except AnonymiserError:
            return await _hold(runtime, job_id, request_id)
    coaches = await fitting_coaches(request)
    now = _now()
    async with outbox.unit_of_work(runtime):
        if not await outbox.complete(job_id):
            return BroadcastResult("skipped")
        changes: dict[Any, Any] = {ContactRequest.status: "open", ContactRequest.draft: None}
        if summary is not None:
            changes[ContactRequest.summary] = await runtime.vault.encrypt(
                request["candidate_id"], REQUESTS, "summary", request_id, summary
            )
            changes[ContactRequest.broadcast_at] = now
        if request["expires_at"] is None or request["status"] == "pending":
            days = runtime.settings.request_expiry_days
            changes[ContactRequest.expires_at] = now + datetime.timedelta(days=days)
        updated = (
            await ContactRequest.update(changes)
            .where(
                (ContactRequest.id == request_id) & ContactRequest.status.is_in(["pending", "open"])
            )
            .returning(ContactRequest.id)
        )
        if not updated:  # withdrawn or erased while we anonymised
            return BroadcastResult("skipped")
        await drop_special_data(request["candidate_id"], request_id)
        offered = await _offer(request_id, coaches, now)
    return BroadcastResult("open", offered)


async def _anonymise(runtime: Runtime, request: Mapping[str, Any]) -> str:
    vault, subject_id, request_id = runtime.vault, request["candidate_id"], request["id"]
    column = "draft" if request["draft"] is not None else "motivation"
    text = await vault.decrypt_text(subject_id, REQUESTS, column, request_id, request[column])
    candidate = await read_subject(vault, subject_id)
    terms: list[tuple[str, str]] = [("email", candidate.email)]
    if candidate.phone:
        terms.append(("phone", candidate.phone))
    details = await CandidateDetail.select().where(CandidateDetail.request_id == request_id)
    for row in details:
        kind = _SCRUB_TERMS.get(row["field"])
        if kind is not None:
            value = await vault.decrypt_text(subject_id, DETAILS, "value", row["id"], row["value"])
            terms.append((kind, value))
    known = KnownValues(name=candidate.name, terms=tuple(terms))
    return await runtime.scrubber.scrub_async(text, known)


async def drop_special_data(subject_id: UUID, request_id: UUID) -> int:
    """Seed 003: special data is deleted once matching has used it, unless it must be kept."""
    if consent.KEEP_SPECIAL in await consent.given(subject_id):
        return 0
    deleted = (
        await CandidateDetail.delete()
        .where((CandidateDetail.request_id == request_id) & (CandidateDetail.special == True))  # noqa: E712
        .returning(CandidateDetail.id)
    )
    return len(deleted)


async def _hold(runtime: Runtime, job_id: UUID, request_id: UUID) -> BroadcastResult:
    async with outbox.unit_of_work(runtime):
        if await outbox.complete(job_id):
            await ContactRequest.update({ContactRequest.status: "held"}).where(
                (ContactRequest.id == request_id) & (ContactRequest.status == "pending")
            )
            await audit.record(
                SYSTEM_ACTOR,
                audit.Action.REQUEST_HELD,
                purpose="anonymisation_failed",
                details={"request_id": request_id},
            )
    return BroadcastResult("held")


async def fitting_coaches(request: Mapping[str, Any]) -> list[CoachFit]:
    """Active, unpaused coaches whose topics, regions and languages fit, under capacity.

    One query: the database walks the coaches' lists (JSON arrays), and counts
    active matches only for the coaches that fit otherwise."""
    topics = sorted(set(request["topics"] or ()))
    if not topics:
        return []
    province = request["province"]
    args: list[Any] = [*topics, request["language"]]
    if province is not None:
        args += [province, catalogue.ONLINE]
    rows = await Coach.raw(_fitting_sql(len(topics), any_region=province is None), *args)
    return [CoachFit(row["id"], row["subject_id"]) for row in rows]


def _fitting_sql(topic_count: int, *, any_region: bool) -> str:
    def elements(column: str) -> str:
        if db.is_sqlite():
            return f"json_each({column})"
        # Only arrays: json_array_elements_text fails on anything else (json_each does not).
        array = f"CASE WHEN json_typeof({column}) = 'array' THEN {column} ELSE '[]' END"
        return f"json_array_elements_text({array}) AS e(value)"

    topic_marks = ", ".join("{}" for _ in range(topic_count))
    region = (
        ""
        if any_region
        else f"AND EXISTS (SELECT 1 FROM {elements('c.regions')} WHERE value IN ({{}}, {{}}))"  # noqa: S608
    )
    return f"""
SELECT c.id AS id, c.subject_id AS subject_id FROM coach c
WHERE c.active = TRUE AND c.paused = FALSE
  AND EXISTS (SELECT 1 FROM {elements("c.topics")} WHERE value IN ({topic_marks}))
  AND EXISTS (SELECT 1 FROM {elements("c.languages")} WHERE value = {{}})
  {region}
  AND c.capacity > (SELECT COUNT(*) FROM contact_request m
                     WHERE m.matched_coach_id = c.id AND m.status = 'matched'
                       AND m.closed_at IS NULL)
ORDER BY c.id
"""  # noqa: S608 (no value in the text: marks only)


async def _offer(request_id: UUID, coaches: Sequence[CoachFit], now: datetime.datetime) -> int:
    if not coaches:
        return 0
    existing = await Offer.select(Offer.coach_id, Offer.status).where(
        Offer.request_id == request_id
    )
    known = {row["coach_id"]: row["status"] for row in existing}
    fresh = [c for c in coaches if c.id not in known]
    again = [c.id for c in coaches if known.get(c.id) == "closed"]  # sent again after expiry
    await bulk.insert(
        Offer,
        [
            {
                "id": new_id(),
                "request_id": request_id,
                "coach_id": c.id,
                "status": "offered",
                "offered_at": now,
            }
            for c in fresh
        ],
    )
    if again:
        await Offer.update({Offer.status: "offered", Offer.offered_at: now}).where(
            (Offer.request_id == request_id) & Offer.coach_id.is_in(again)
        )
    notify = [c for c in coaches if c.id not in known or c.id in again]
    await outbox.enqueue_rows([mail_job(coach.subject_id, "new_offer") for coach in notify])
    return len(notify)
