"""The candidate's side of a request: the private link, its status, withdraw, resend, erase.

A candidate has no account. Whoever holds the private link's token is the
candidate of that one request: :func:`authenticate` hashes the token
(:func:`matching.intake.hash_token`) and looks the hash up, so the database
never sees the token and the look-up takes no time that depends on how much of
a guess was right. Tokens are never logged, never put in errors or audit entries.

:func:`status` is what the status page and ``GET /api/requests/{id}`` show:
waiting (pending, held and open alike), matched (with the coach's name and
e-mail address, decrypted and audited), expired or withdrawn, and the text
coaches see. Every look-up through the link counts as activity of the candidate
(retention counts inactivity).

A request may be withdrawn before a coach accepts it; an expired request may be
sent again (a fresh expiry and a new broadcast). :func:`expire_due` ends open
requests whose time ran out (the worker host calls it every minute); it is
idempotent. :func:`erase` erases the candidate through the erasure service, after
which the link no longer works.
"""

from __future__ import annotations

import dataclasses
import datetime
import hmac
import re
from typing import Any, NamedTuple
from uuid import UUID

from matching import audit, filing, intake, outbox
from matching.erasure import ErasureResult
from matching.errors import NotFound, NotOpen, SubjectErased, UnknownLink
from matching.matches import CvDownload, read_cv
from matching.notifications import queue_mail
from matching.runtime import Runtime
from matching.subjects import read_subject, touch
from matching.tables import CandidateFile, Coach, ContactRequest, Offer

REQUESTS = ContactRequest._meta.tablename
SYSTEM_ACTOR = "system"
CANDIDATE_ACTOR = "candidate"
STATUS_PURPOSE = "candidate_status"
REQUEST_PURPOSE = "candidate_request"
EXPIRY_PURPOSE = "request_expiry"
ERASURE_REASON = "candidate_request"
EXPIRE_BATCH = 200

# What the candidate sees, for each stored status.
SHOWN_STATUS = {
    "pending": "waiting",
    "held": "waiting",
    "open": "waiting",
    "matched": "matched",
    "expired": "expired",
    "withdrawn": "withdrawn",
}
WITHDRAWABLE = ("pending", "held", "open", "expired")
# secrets.token_urlsafe(32) gives 43 characters; anything far off that is no token of ours.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_\-]{32,128}")


class Link(NamedTuple):
    """The request a private link opens, and its candidate (a data subject)."""

    request_id: UUID
    candidate_id: UUID


@dataclasses.dataclass(frozen=True)
class MatchedCoach:
    name: str = dataclasses.field(repr=False)
    email: str = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class RequestStatus:
    """A request as its candidate sees it. ``summary`` is the text coaches see
    (``None`` while it is being prepared)."""

    request_id: UUID
    status: str  # waiting | matched | expired | withdrawn
    stored_status: str
    created_at: datetime.datetime
    expires_at: datetime.datetime | None
    matched_at: datetime.datetime | None
    ended_at: datetime.datetime | None
    language: str
    topics: tuple[str, ...]
    province: str | None
    age_band: str | None
    field_of_work: str | None
    employment: str | None
    has_cv: bool
    summary: str | None = dataclasses.field(repr=False)
    coach: MatchedCoach | None = dataclasses.field(repr=False)

    @property
    def can_withdraw(self) -> bool:
        return self.stored_status in WITHDRAWABLE

    @property
    def can_resend(self) -> bool:
        return self.stored_status == "expired"

    def as_dict(self) -> dict[str, Any]:
        def when(value: datetime.datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "request_id": str(self.request_id),
            "status": self.status,
            "created_at": when(self.created_at),
            "expires_at": when(self.expires_at),
            "matched_at": when(self.matched_at),
            "ended_at": when(self.ended_at),
            "language": self.language,
            "topics": list(self.topics),
            "province": self.province,
            "age_band": self.age_band,
            "field_of_work": self.field_of_work,
            "employment": self.employment,
            "summary": self.summary,
            "coach": None
            if self.coach is None
            else {"name": self.coach.name, "email": self.coach.email},
            "has_cv": self.has_cv,
            "can_withdraw": self.can_withdraw,
            "can_resend": self.can_resend,
        }


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def actor_of(candidate_id: UUID) -> str:
    return f"candidate:{candidate_id}"


# -- the private link ------------------------------------------------------------------


async def authenticate(runtime: Runtime, token: str, *, request_id: UUID | None = None) -> Link:
    """The request and candidate of a private-link token.

    :class:`UnknownLink` if no request has this token; :class:`NotFound` if it
    has, but ``request_id`` names another request (the API's path). A request still
    waiting in the intake inbox is filed first (:func:`matching.filing.file_link`).
    """
    if not isinstance(token, str) or not _TOKEN_SHAPE.fullmatch(token):
        raise UnknownLink()
    digest = intake.hash_token(token)
    rows = await _requests_of(digest)
    if not rows:
        # Still waiting to be filed, or filed by the job a moment ago: read it again.
        await filing.file_link(runtime, digest)
        rows = await _requests_of(digest)
    if not rows or not hmac.compare_digest(str(rows[0]["token_hash"]), digest):
        raise UnknownLink()
    link = Link(rows[0]["id"], rows[0]["candidate_id"])
    if request_id is not None and link.request_id != request_id:
        raise NotFound("no such request")
    return link


async def _requests_of(token_hash: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await ContactRequest.select(
        ContactRequest.id, ContactRequest.candidate_id, ContactRequest.token_hash
    ).where(ContactRequest.token_hash == token_hash)
    return rows


async def status(runtime: Runtime, token: str, *, request_id: UUID | None = None) -> RequestStatus:
    """The request's status as its candidate sees it; counts as the candidate's activity."""
    link = await authenticate(runtime, token, request_id=request_id)
    await touch(link.candidate_id)
    return await _status(runtime, link)


async def _status(runtime: Runtime, link: Link) -> RequestStatus:
    rows = (
        await ContactRequest.select()
        .where(ContactRequest.id == link.request_id)
        .output(load_json=True)
    )
    if not rows:
        raise UnknownLink()
    row = rows[0]
    summary = None
    if row["summary"] is not None:
        summary = await runtime.vault.decrypt_text(
            link.candidate_id, REQUESTS, "summary", link.request_id, row["summary"]
        )
    coach = None
    if row["status"] == "matched" and row["matched_coach_id"] is not None:
        coach = await _matched_coach(runtime, link, row["matched_coach_id"])
    files = await CandidateFile.count().where(CandidateFile.request_id == link.request_id)
    return RequestStatus(
        request_id=link.request_id,
        status=SHOWN_STATUS.get(row["status"], "waiting"),
        stored_status=row["status"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        matched_at=row["matched_at"],
        ended_at=row["ended_at"],
        language=row["language"],
        topics=tuple(row["topics"] or ()),
        province=row["province"],
        age_band=row["age_band"],
        field_of_work=row["field_of_work"],
        employment=row["employment"],
        has_cv=bool(files),
        summary=summary,
        coach=coach,
    )


async def _matched_coach(runtime: Runtime, link: Link, coach_id: UUID) -> MatchedCoach | None:
    """The accepting coach's name and address (decrypted, and audited as such)."""
    coaches = await Coach.select(Coach.subject_id).where(Coach.id == coach_id)
    if not coaches:
        return None  # the coach's account is gone
    subject_id = coaches[0]["subject_id"]
    try:
        person = await read_subject(runtime.vault, subject_id)
    except (NotFound, SubjectErased):
        return None
    await audit.record(
        actor_of(link.candidate_id),
        audit.Action.DATA_DECRYPTED,
        subject_id=subject_id,
        purpose=STATUS_PURPOSE,
        details={"request_id": link.request_id, "fields": ["name", "email"]},
    )
    return MatchedCoach(name=" ".join(person.name.split()), email=person.email.strip())


# -- sending a request ----------------------------------------------------------------


async def preview(
    runtime: Runtime, form: intake.IntakeForm, *, today: datetime.date | None = None
) -> intake.Preview:
    """Check the form (:class:`~matching.errors.InvalidFields` names every wrong field)
    and show exactly what coaches will see."""
    checked = intake.validate(
        form, cv_max_bytes=runtime.settings.cv_max_bytes, today=today or _now().date()
    )
    return await intake.preview(runtime, checked)


async def send(
    runtime: Runtime, form: intake.IntakeForm, *, now: datetime.datetime | None = None
) -> intake.Submitted:
    """Check the form again and store the request; its broadcast anonymises the
    (possibly edited) text again before any coach sees it."""
    now = now or _now()
    checked = intake.validate(form, cv_max_bytes=runtime.settings.cv_max_bytes, today=now.date())
    return await intake.submit(runtime, checked, now=now)


# -- what the candidate may do ---------------------------------------------------------


async def withdraw(
    runtime: Runtime,
    token: str,
    *,
    request_id: UUID | None = None,
    now: datetime.datetime | None = None,
) -> RequestStatus:
    """Withdraw a request no coach has accepted yet; offers close. Withdrawing twice is fine."""
    link = await authenticate(runtime, token, request_id=request_id)
    now = now or _now()
    async with outbox.unit_of_work(runtime):
        done = (
            await ContactRequest.update(
                {ContactRequest.status: "withdrawn", ContactRequest.ended_at: now}
            )
            .where(
                (ContactRequest.id == link.request_id)
                & ContactRequest.status.is_in(list(WITHDRAWABLE))
            )
            .returning(ContactRequest.id)
        )
        if done:
            await _close_offers([link.request_id])
            await audit.record(
                actor_of(link.candidate_id),
                audit.Action.REQUEST_WITHDRAWN,
                subject_id=link.candidate_id,
                purpose=REQUEST_PURPOSE,
                details={"request_id": link.request_id},
            )
    await touch(link.candidate_id)
    if not done and await _stored_status(link) != "withdrawn":
        raise NotOpen("a coach has accepted your request already; it can no longer be withdrawn")
    return await _status(runtime, link)


async def resend(
    runtime: Runtime,
    token: str,
    *,
    request_id: UUID | None = None,
    now: datetime.datetime | None = None,
) -> RequestStatus:
    """Send an expired request again: a new expiry, and a new broadcast to fitting coaches.

    The broadcast offers it again to the coaches whose offers closed at expiry
    (and to coaches who fit now); coaches who declined are not asked again.
    Sending a request that is open already does nothing.
    """
    link = await authenticate(runtime, token, request_id=request_id)
    now = now or _now()
    expires_at = now + datetime.timedelta(days=runtime.settings.request_expiry_days)
    async with outbox.unit_of_work(runtime):
        done = (
            await ContactRequest.update(
                {
                    ContactRequest.status: "open",
                    ContactRequest.expires_at: expires_at,
                    ContactRequest.ended_at: None,
                }
            )
            .where((ContactRequest.id == link.request_id) & (ContactRequest.status == "expired"))
            .returning(ContactRequest.id)
        )
        if done:
            await _close_offers([link.request_id])
            await outbox.enqueue(intake.BROADCAST_ACTOR, request_id=link.request_id)
            await audit.record(
                actor_of(link.candidate_id),
                audit.Action.REQUEST_RESENT,
                subject_id=link.candidate_id,
                purpose=REQUEST_PURPOSE,
                details={"request_id": link.request_id},
            )
    await touch(link.candidate_id)
    if not done and SHOWN_STATUS.get(await _stored_status(link)) != "waiting":
        raise NotOpen("only an expired request can be sent again")
    return await _status(runtime, link)


async def _stored_status(link: Link) -> str:
    rows = await ContactRequest.select(ContactRequest.status).where(
        ContactRequest.id == link.request_id
    )
    if not rows:
        raise UnknownLink()
    return str(rows[0]["status"])


async def erase(runtime: Runtime, token: str, *, request_id: UUID | None = None) -> ErasureResult:
    """Erase the candidate and everything of theirs; the link stops working."""
    link = await authenticate(runtime, token, request_id=request_id)
    return await runtime.erasure.erase(
        link.candidate_id, reason=ERASURE_REASON, actor=CANDIDATE_ACTOR
    )


async def candidate_cv(
    runtime: Runtime, token: str, *, request_id: UUID | None = None
) -> CvDownload:
    """The candidate's own CV (``NotFound`` if they sent none)."""
    link = await authenticate(runtime, token, request_id=request_id)
    await touch(link.candidate_id)
    return await read_cv(runtime, link.candidate_id, link.request_id)


# -- expiry ----------------------------------------------------------------------------


async def expire_due(
    runtime: Runtime, now: datetime.datetime, *, batch_size: int = EXPIRE_BATCH
) -> int:
    """End every open request whose expiry has passed; returns how many. Idempotent.

    Per batch, in one transaction: the status, the offers (closed), the audit
    entry and the candidate's e-mail. A request accepted meanwhile is not touched
    (the update is conditional on ``open``).
    """
    expired = 0
    while True:
        due = (
            await ContactRequest.select(ContactRequest.id)
            .where((ContactRequest.status == "open") & (ContactRequest.expires_at <= now))
            .order_by(ContactRequest.expires_at)
            .limit(batch_size)
        )
        if not due:
            return expired
        async with outbox.unit_of_work(runtime):
            ended = (
                await ContactRequest.update(
                    {ContactRequest.status: "expired", ContactRequest.ended_at: now}
                )
                .where(
                    ContactRequest.id.is_in([row["id"] for row in due])
                    & (ContactRequest.status == "open")
                    & (ContactRequest.expires_at <= now)
                )
                .returning(ContactRequest.id, ContactRequest.candidate_id)
            )
            if ended:
                await _close_offers([row["id"] for row in ended])
            for row in ended:
                await queue_mail(row["candidate_id"], "request_expired", request_id=row["id"])
                await audit.record(
                    SYSTEM_ACTOR,
                    audit.Action.REQUEST_EXPIRED,
                    subject_id=row["candidate_id"],
                    purpose=EXPIRY_PURPOSE,
                    details={"request_id": row["id"]},
                )
        expired += len(ended)
        if len(due) < batch_size:
            return expired


async def _close_offers(request_ids: list[UUID]) -> None:
    await Offer.update({Offer.status: "closed"}).where(
        Offer.request_id.is_in(request_ids) & (Offer.status == "offered")
    )
