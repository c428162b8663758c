"""A coach's side of a request: the feed of open offers, declining, and "my matches".

The feed is what the portal's home page and ``GET /api/coach/requests`` show: the
coach's offers with status ``offered`` on requests that are still open, newest
first. It is two queries whatever the size of the database: one on the offer
index ``(coach_id, status, offered_at)`` with keyset pagination (the cursor is
the last row's ``offered_at`` and offer id, so no page is ever counted or
skipped through), and one for the page's requests by primary key. The
anonymised summaries are ciphertexts under each candidate's data key; the page's
keys are loaded with one more query (:meth:`~matching.vault.Vault.prefetch`).
Anonymised text identifies nobody, so reading it is not audited.

Accepting is :func:`matching.matches.accept` (the one conditional update).
Showing a candidate's name or contact details decrypts personal data, and every
such read is written to the audit log with its purpose. A closed match shows no
personal data any more: the coaching ended, the data is no longer needed.
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from piccolo.columns.combination import WhereRaw

from anonymiser.generalise import WorkField
from matching import audit, db, matches
from matching.errors import InvalidInput, NotFound, NotOpen, RequestAlreadyMatched
from matching.matches import Contact, CvDownload
from matching.runtime import Runtime
from matching.tables import ContactRequest, Offer, Subject

REQUESTS = ContactRequest._meta.tablename
SUBJECTS = Subject._meta.tablename
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
DECLINE_REASONS = ("no_capacity", "not_my_field", "region", "language", "other")
LIST_PURPOSE = "match_list"
DECLINE_PURPOSE = "offer_declined"
CLOSE_PURPOSE = "match_closed"
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_FEED_COLUMNS = (
    ContactRequest.id,
    ContactRequest.candidate_id,
    ContactRequest.status,
    ContactRequest.matched_coach_id,
    ContactRequest.language,
    ContactRequest.topics,
    ContactRequest.province,
    ContactRequest.age_band,
    ContactRequest.field_of_work,
    ContactRequest.employment,
    ContactRequest.summary,
    ContactRequest.expires_at,
)


_REQUEST_OPEN = WhereRaw(
    'EXISTS (SELECT 1 FROM contact_request r WHERE r.id = "offer"."request_id"'
    " AND r.status = 'open')"
)


@dataclasses.dataclass(frozen=True)
class OfferView:
    """One offered request as the coach sees it: anonymised text, generalised attributes."""

    request_id: UUID
    offer_id: UUID
    status: str  # offered | declined | accepted
    offered_at: datetime.datetime
    expires_at: datetime.datetime | None
    topics: tuple[str, ...]
    province: str | None
    age_band: str | None
    field_of_work: str | None
    employment: str | None
    language: str
    summary: str
    decline_reason: str | None = None

    @property
    def cursor(self) -> str:
        """Where the next (older) page starts: pass as ``before``."""
        return encode_cursor(self.offered_at, self.offer_id)

    def as_dict(self) -> dict[str, Any]:
        return {
            "request_id": str(self.request_id),
            "status": self.status,
            "offered_at": self.offered_at.isoformat(),
            "expires_at": None if self.expires_at is None else self.expires_at.isoformat(),
            "topics": list(self.topics),
            "province": self.province,
            "age_band": self.age_band,
            "field_of_work": self.field_of_work,
            "employment": self.employment,
            "language": self.language,
            "summary": self.summary,
            "decline_reason": self.decline_reason,
        }


class FeedPage(list[OfferView]):
    """A page of the feed: the offers, and ``next_before`` when older ones follow."""

    def __init__(self, items: Sequence[OfferView], next_before: str | None) -> None:
        super().__init__(items)
        self.next_before = next_before


@dataclasses.dataclass(frozen=True)
class MatchSummary:
    """A request this coach won. ``name`` only while the match is open (audited read)."""

    request_id: UUID
    matched_at: datetime.datetime
    closed_at: datetime.datetime | None
    topics: tuple[str, ...]
    name: str | None = dataclasses.field(repr=False, default=None)

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "request_id": str(self.request_id),
            "matched_at": self.matched_at.isoformat(),
            "closed": self.closed,
            "closed_at": None if self.closed_at is None else self.closed_at.isoformat(),
            "topics": list(self.topics),
            "name": self.name,
        }


@dataclasses.dataclass(frozen=True)
class MatchDetail:
    """One match; ``contact`` is ``None`` once it is closed (nothing is decrypted then)."""

    summary: MatchSummary
    contact: Contact | None

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.summary.as_dict(),
            "contact": None if self.contact is None else self.contact.as_dict(),
        }


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


# -- the cursor --------------------------------------------------------------------------


def encode_cursor(offered_at: datetime.datetime, offer_id: UUID) -> str:
    micros = (offered_at - _EPOCH) // datetime.timedelta(microseconds=1)
    return f"{micros}.{offer_id.hex}"


def decode_cursor(cursor: str) -> tuple[datetime.datetime, UUID]:
    """The position a cursor names; ``InvalidInput`` for anything we did not hand out."""
    micros, _, hex_id = cursor.partition(".")
    try:
        if not micros.isdigit() or len(micros) > 18 or len(hex_id) != 32:
            raise ValueError
        return _EPOCH + datetime.timedelta(microseconds=int(micros)), uuid.UUID(hex=hex_id)
    except (ValueError, OverflowError):
        raise InvalidInput("the page cursor is not valid") from None


# -- the feed ----------------------------------------------------------------------------


async def feed(
    runtime: Runtime,
    coach_id: UUID,
    *,
    limit: int = DEFAULT_LIMIT,
    before: str | None = None,
) -> FeedPage:
    """The coach's open offers, newest first, ``limit`` at a time (``before``: a cursor)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    # The other coaches' offers of a matched request stay "offered" until the job
    # after the match settles them (matching.matches): only open requests count.
    where = (Offer.coach_id == coach_id) & (Offer.status == "offered") & _REQUEST_OPEN
    if before:
        at, offer_id = decode_cursor(before)
        # "<=" first: the index range; the OR only breaks ties (an OR of two ranges would
        # make SQLite sort every offer of the coach).
        where = where & (
            (Offer.offered_at <= at) & ((Offer.offered_at < at) | (Offer.id < offer_id))
        )
    offers = (
        await Offer.select(Offer.id, Offer.request_id, Offer.offered_at)
        .where(where)
        .order_by(Offer.offered_at, Offer.id, ascending=False)
        .limit(limit + 1)
    )
    page, more = offers[:limit], len(offers) > limit
    requests = await _requests([o["request_id"] for o in page], open_only=True)
    await runtime.vault.prefetch(r["candidate_id"] for r in requests.values())
    views = []
    for offer in page:
        request = requests.get(offer["request_id"])
        if request is not None and request["summary"] is not None:
            views.append(await _view(runtime, request, offer, status="offered"))
    last = page[-1] if page else None
    next_before = encode_cursor(last["offered_at"], last["id"]) if more and last else None
    return FeedPage(views, next_before)


async def _requests(ids: Sequence[UUID], *, open_only: bool) -> dict[UUID, dict[str, Any]]:
    if not ids:
        return {}
    # By primary key only: with a status condition too, SQLite may walk the status
    # index over every open request instead (hundreds of milliseconds at 100,000).
    rows = (
        await ContactRequest.select(*_FEED_COLUMNS)
        .where(ContactRequest.id.is_in(list(ids)))
        .output(load_json=True)
    )
    return {row["id"]: row for row in rows if not open_only or row["status"] == "open"}


async def _view(
    runtime: Runtime, request: Mapping[str, Any], offer: Mapping[str, Any], *, status: str
) -> OfferView:
    summary = await runtime.vault.decrypt_text(
        request["candidate_id"], REQUESTS, "summary", request["id"], request["summary"]
    )
    return OfferView(
        request_id=request["id"],
        offer_id=offer["id"],
        status=status,
        offered_at=offer["offered_at"],
        expires_at=request["expires_at"],
        topics=tuple(request["topics"] or ()),
        province=request["province"],
        age_band=request["age_band"],
        field_of_work=request["field_of_work"],
        employment=request["employment"],
        language=request["language"],
        summary=summary,
        decline_reason=offer.get("decline_reason"),
    )


async def offer(runtime: Runtime, coach_id: UUID, request_id: UUID) -> OfferView:
    """One request offered to this coach.

    ``NotFound`` if it was never offered to them; ``RequestAlreadyMatched`` when
    another coach accepted it first; ``NotOpen`` when it expired or was withdrawn.
    A request this coach won comes back with status ``accepted``.
    """
    rows = await Offer.select(Offer.id, Offer.status, Offer.offered_at, Offer.decline_reason).where(
        (Offer.request_id == request_id) & (Offer.coach_id == coach_id)
    )
    if not rows:
        raise NotFound("no such request")
    found = (await _requests([request_id], open_only=False)).get(request_id)
    if found is None:
        raise NotFound("no such request")
    if found["status"] == "matched":
        if found["matched_coach_id"] != coach_id:
            raise RequestAlreadyMatched("another coach has accepted this request already")
        return await _view(runtime, found, rows[0], status="accepted")
    if found["status"] != "open" or found["summary"] is None:
        raise NotOpen("this request is no longer open")
    status = "declined" if rows[0]["status"] == "declined" else "offered"
    return await _view(runtime, found, rows[0], status=status)


# -- declining ---------------------------------------------------------------------------


async def decline(coach_id: UUID, request_id: UUID, reason: str | None = None) -> None:
    """Record that this coach declines the request (a reason code from DECLINE_REASONS).

    Declining again only changes the reason. The coach may still accept later
    while the request is open.
    """
    reason = (reason or "").strip() or None
    if reason is not None and reason not in DECLINE_REASONS:
        raise InvalidInput("unknown reason: choose from the list")
    async with db.write_transaction():
        offered = await Offer.exists().where(
            (Offer.request_id == request_id) & (Offer.coach_id == coach_id)
        )
        rows = await ContactRequest.select(
            ContactRequest.candidate_id, ContactRequest.status, ContactRequest.matched_coach_id
        ).where(ContactRequest.id == request_id)
        if not offered or not rows:
            raise NotFound("no such request")
        request = rows[0]
        if request["status"] == "matched" and request["matched_coach_id"] != coach_id:
            raise RequestAlreadyMatched("another coach has accepted this request already")
        changed = []
        if request["status"] == "open":
            changed = (
                await Offer.update(
                    {
                        Offer.status: "declined",
                        Offer.answered_at: _now(),
                        Offer.decline_reason: reason,
                    }
                )
                .where(
                    (Offer.request_id == request_id)
                    & (Offer.coach_id == coach_id)
                    & Offer.status.is_in(["offered", "declined"])
                )
                .returning(Offer.id)
            )
        if not changed:
            raise NotOpen("this request is no longer open")
        await audit.record(
            matches.actor_of(coach_id),
            audit.Action.REQUEST_DECLINED,
            subject_id=request["candidate_id"],
            purpose=DECLINE_PURPOSE,
            details={"request_id": request_id, "coach_id": coach_id, "reason": reason},
        )


# -- my matches --------------------------------------------------------------------------


async def my_matches(runtime: Runtime, coach_id: UUID) -> list[MatchSummary]:
    """The requests this coach won, newest first; names of open ones (audited)."""
    rows = (
        await ContactRequest.select(
            ContactRequest.id,
            ContactRequest.candidate_id,
            ContactRequest.matched_at,
            ContactRequest.closed_at,
            ContactRequest.topics,
        )
        .where((ContactRequest.matched_coach_id == coach_id) & (ContactRequest.status == "matched"))
        .order_by(ContactRequest.matched_at, ascending=False)
        .output(load_json=True)
    )
    names = await _names(runtime, coach_id, [r for r in rows if r["closed_at"] is None])
    return [
        MatchSummary(
            request_id=row["id"],
            matched_at=row["matched_at"],
            closed_at=row["closed_at"],
            topics=tuple(row["topics"] or ()),
            name=names.get(row["id"]),
        )
        for row in rows
    ]


async def _names(
    runtime: Runtime, coach_id: UUID, rows: Sequence[Mapping[str, Any]]
) -> dict[UUID, str]:
    """The candidates' names for these matches; each read is audited."""
    if not rows:
        return {}
    by_subject = {row["candidate_id"]: row["id"] for row in rows}
    subjects = await Subject.select(Subject.id, Subject.name).where(
        Subject.id.is_in(list(by_subject))
    )
    vault = runtime.vault
    await vault.prefetch(by_subject)
    names: dict[UUID, str] = {}
    async with db.write_transaction():
        for subject in subjects:
            if subject["name"] is None:
                continue
            request_id = by_subject[subject["id"]]
            names[request_id] = await vault.decrypt_text(
                subject["id"], SUBJECTS, "name", subject["id"], subject["name"]
            )
            await audit.record(
                matches.actor_of(coach_id),
                audit.Action.DATA_DECRYPTED,
                subject_id=subject["id"],
                purpose=LIST_PURPOSE,
                details={"request_id": request_id, "fields": ["name"]},
            )
    return names


async def _won(coach_id: UUID, request_id: UUID) -> dict[str, Any]:
    rows = (
        await ContactRequest.select(
            ContactRequest.id,
            ContactRequest.candidate_id,
            ContactRequest.matched_at,
            ContactRequest.closed_at,
            ContactRequest.topics,
        )
        .where(
            (ContactRequest.id == request_id)
            & (ContactRequest.matched_coach_id == coach_id)
            & (ContactRequest.status == "matched")
        )
        .output(load_json=True)
    )
    if not rows:
        raise NotFound("no such match")
    return rows[0]


async def match(runtime: Runtime, coach_id: UUID, request_id: UUID) -> MatchDetail:
    """A match of this coach with the contact details while it is open (audited read)."""
    row = await _won(coach_id, request_id)
    contact = None
    if row["closed_at"] is None:
        contact = await matches.contact(runtime, coach_id, request_id)
    summary = MatchSummary(
        request_id=row["id"],
        matched_at=row["matched_at"],
        closed_at=row["closed_at"],
        topics=tuple(row["topics"] or ()),
        name=None if contact is None else contact.name,
    )
    return MatchDetail(summary, contact)


async def cv(runtime: Runtime, coach_id: UUID, request_id: UUID) -> CvDownload:
    """The CV of an open match of this coach (audited); ``NotFound`` otherwise."""
    row = await _won(coach_id, request_id)
    if row["closed_at"] is not None:
        raise NotFound("this match is closed")
    return await matches.cv_for_coach(runtime, coach_id, request_id)


async def close_match(coach_id: UUID, request_id: UUID) -> None:
    """End a match: its contact details are no longer shown, and capacity is freed."""
    async with db.write_transaction():
        closed = (
            await ContactRequest.update({ContactRequest.closed_at: _now()})
            .where(
                (ContactRequest.id == request_id)
                & (ContactRequest.matched_coach_id == coach_id)
                & (ContactRequest.status == "matched")
                & ContactRequest.closed_at.is_null()
            )
            .returning(ContactRequest.candidate_id)
        )
        if not closed:
            await _won(coach_id, request_id)  # NotFound unless it was closed already
            return
        await audit.record(
            matches.actor_of(coach_id),
            audit.Action.DATA_CHANGED,
            subject_id=closed[0]["candidate_id"],
            purpose=CLOSE_PURPOSE,
            details={"request_id": request_id, "coach_id": coach_id},
        )


async def active_match_count(coach_id: UUID) -> int:
    """Matches of this coach that are not closed: what counts against the capacity."""
    return int(
        await ContactRequest.count().where(
            (ContactRequest.matched_coach_id == coach_id)
            & (ContactRequest.status == "matched")
            & ContactRequest.closed_at.is_null()
        )
    )


def field_of_work_label(code: str | None, language: str) -> str | None:
    """The display name of a stored field-of-work code (a code no longer known shows as is)."""
    if code is None:
        return None
    try:
        return WorkField(code).display(language)
    except ValueError:
        return code
