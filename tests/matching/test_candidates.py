"""The candidate's side on SQLite and PostgreSQL: link, status, withdraw, resend, erase, expiry."""

from __future__ import annotations

import datetime
import logging
from uuid import UUID, uuid4

import pytest

from matching import (
    accounts,
    agreement,
    audit,
    candidates,
    intake,
    matches,
)
from matching.errors import InvalidFields, NotFound, NotOpen
from matching.runtime import Runtime
from matching.tables import (
    AuditEntry,
    CandidateDetail,
    Consent,
    ContactRequest,
    Offer,
    OutboxJob,
    Subject,
)
from tests.matching.request_jobs import run_broadcasts

NOW = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.UTC)
PASSWORD = "a long enough password"


def form(**overrides: object) -> intake.IntakeForm:
    values: dict[str, object] = {
        "name": "Fenna de Wit",
        "email": "fenna.dewit@example.org",
        "motivation": "Ik ben Fenna en werk als verpleegkundige. "
        "Ik wil graag hulp bij een carrièreswitch.",
        "topics": ["carriereswitch"],
        "consents": ["contact_share", "address"],
        "city": "Zwolle",
    }
    values.update(overrides)
    return intake.IntakeForm(**values)  # type: ignore[arg-type]


async def make_coach(runtime: Runtime, email: str = "coach@example.org") -> UUID:
    coach_id, _ = await accounts.create_coach(
        runtime,
        email=email,
        name="Coach  Kim Jansen",
        password=PASSWORD,
        topics=["carriereswitch"],
        regions=["online"],
        languages=["nl"],
    )
    await agreement.accept(coach_id, agreement.VERSION, actor=f"coach:{coach_id}")
    return coach_id


async def send(runtime: Runtime, **overrides: object) -> intake.Submitted:
    submitted = await candidates.send(runtime, form(**overrides), now=NOW)
    await run_broadcasts(runtime)
    return submitted


async def stored(request_id: UUID) -> dict[str, object]:
    [row] = await ContactRequest.select().where(ContactRequest.id == request_id)
    return row


async def test_the_link_opens_only_its_own_request(runtime: Runtime) -> None:
    first = await send(runtime)
    second = await send(runtime, email="someone.else@example.org")
    link = await candidates.authenticate(runtime, first.token)
    assert link.request_id == first.request_id
    assert (await stored(first.request_id))["token_hash"] == intake.hash_token(first.token)
    assert len(first.token) >= 22  # at least 128 bits of URL-safe base64
    for bad in ("", "short", first.token[:-1] + ("A" if first.token[-1] != "A" else "B")):
        with pytest.raises(candidates.UnknownLink):
            await candidates.authenticate(runtime, bad)
    with pytest.raises(NotFound) as caught:
        await candidates.status(runtime, first.token, request_id=second.request_id)
    assert not isinstance(caught.value, candidates.UnknownLink)
    own = await candidates.status(runtime, first.token, request_id=first.request_id)
    assert own.request_id == first.request_id


async def test_status_shows_waiting_then_the_coach(runtime: Runtime) -> None:
    coach_id = await make_coach(runtime)
    submitted = await candidates.send(runtime, form(), now=NOW)
    before = await candidates.status(runtime, submitted.token)
    assert before.status == "waiting" and before.summary is None and before.coach is None
    await run_broadcasts(runtime)

    waiting = await candidates.status(runtime, submitted.token)
    assert waiting.status == "waiting" and waiting.stored_status == "open"
    assert waiting.summary is not None and "Fenna" not in waiting.summary
    assert waiting.topics == ("carriereswitch",) and waiting.province == "overijssel"
    assert waiting.expires_at is not None and waiting.can_withdraw and not waiting.can_resend

    await matches.accept(runtime, coach_id, submitted.request_id)
    matched = await candidates.status(runtime, submitted.token)
    assert matched.status == "matched" and not matched.can_withdraw
    assert matched.coach is not None
    assert matched.coach.name == "Coach Kim Jansen" and matched.coach.email == "coach@example.org"
    assert "Kim" not in repr(matched)
    [coach_subject] = await accounts_subject(coach_id)
    reads = await AuditEntry.select().where(
        (AuditEntry.action == audit.Action.DATA_DECRYPTED.value)
        & (AuditEntry.subject_id == coach_subject)
    )
    assert reads and reads[-1]["purpose"] == candidates.STATUS_PURPOSE
    with pytest.raises(NotOpen):
        await candidates.withdraw(runtime, submitted.token)


async def accounts_subject(coach_id: UUID) -> list[UUID]:
    from matching.tables import Coach

    return [r["subject_id"] for r in await Coach.select().where(Coach.id == coach_id)]


async def test_a_held_request_shows_as_waiting(runtime: Runtime) -> None:
    submitted = await candidates.send(runtime, form(), now=NOW)
    await ContactRequest.update({ContactRequest.status: "held"}).where(
        ContactRequest.id == submitted.request_id
    )
    shown = await candidates.status(runtime, submitted.token)
    assert shown.status == "waiting" and shown.can_withdraw and shown.summary is None
    assert (await candidates.withdraw(runtime, submitted.token)).status == "withdrawn"


async def test_status_counts_as_activity(runtime: Runtime) -> None:
    submitted = await send(runtime)
    link = await candidates.authenticate(runtime, submitted.token)
    long_ago = NOW - datetime.timedelta(days=400)
    await Subject.update({Subject.last_active_at: long_ago}).where(Subject.id == link.candidate_id)
    await candidates.status(runtime, submitted.token)
    [row] = await Subject.select(Subject.last_active_at).where(Subject.id == link.candidate_id)
    assert row["last_active_at"] > long_ago + datetime.timedelta(days=300)


async def test_withdraw_closes_the_offers_and_is_idempotent(runtime: Runtime) -> None:
    coach_id = await make_coach(runtime)
    submitted = await send(runtime)
    assert await Offer.count().where(Offer.status == "offered") == 1
    result = await candidates.withdraw(runtime, submitted.token, now=NOW)
    assert result.status == "withdrawn" and not result.can_withdraw
    assert await Offer.count().where(Offer.status == "offered") == 0
    again = await candidates.withdraw(runtime, submitted.token, now=NOW)
    assert again.status == "withdrawn"
    withdrawn = await AuditEntry.count().where(
        AuditEntry.action == audit.Action.REQUEST_WITHDRAWN.value
    )
    assert withdrawn == 1
    with pytest.raises(Exception) as caught:
        await matches.accept(runtime, coach_id, submitted.request_id)
    assert isinstance(caught.value, NotOpen)
    with pytest.raises(NotOpen):
        await candidates.resend(runtime, submitted.token, now=NOW)


async def test_expiry_then_resend(runtime: Runtime) -> None:
    await make_coach(runtime)
    submitted = await send(runtime)
    row = await stored(submitted.request_id)
    expires_at = row["expires_at"]
    assert isinstance(expires_at, datetime.datetime)

    assert await candidates.expire_due(runtime, expires_at - datetime.timedelta(seconds=1)) == 0
    later = expires_at + datetime.timedelta(minutes=1)
    assert await candidates.expire_due(runtime, later) == 1
    assert await candidates.expire_due(runtime, later) == 0  # idempotent
    expired = await candidates.status(runtime, submitted.token)
    assert expired.status == "expired" and expired.can_resend and expired.can_withdraw
    assert await Offer.count().where(Offer.status == "offered") == 0
    mails = await OutboxJob.select(OutboxJob.args).where(OutboxJob.actor == "send_mail")
    assert sum("request_expired" in str(m["args"]) for m in mails) == 1

    resent = await candidates.resend(runtime, submitted.token, now=later)
    assert resent.status == "waiting" and resent.expires_at is not None
    assert resent.expires_at > later + datetime.timedelta(days=13)
    await run_broadcasts(runtime)
    assert await Offer.count().where(Offer.status == "offered") == 1
    # Pressing "send again" twice does nothing more.
    await candidates.resend(runtime, submitted.token, now=later)
    pending = await OutboxJob.count().where(
        (OutboxJob.actor == intake.BROADCAST_ACTOR) & OutboxJob.done_at.is_null()
    )
    assert pending == 0


async def test_expire_due_works_in_batches(runtime: Runtime) -> None:
    ids = [(await send(runtime, email=f"c{i}@example.org")).request_id for i in range(5)]
    far = NOW + datetime.timedelta(days=400)
    assert await candidates.expire_due(runtime, far, batch_size=2) == 5
    statuses = {r["status"] for r in await ContactRequest.select(ContactRequest.status)}
    assert statuses == {"expired"}
    assert await AuditEntry.count().where(
        AuditEntry.action == audit.Action.REQUEST_EXPIRED.value
    ) == len(ids)


async def test_erase_ends_the_link(runtime: Runtime) -> None:
    submitted = await send(runtime, consents=["contact_share", "address", "special"])
    link = await candidates.authenticate(runtime, submitted.token)
    result = await candidates.erase(runtime, submitted.token)
    assert result.subject_id == link.candidate_id and not result.already_erased
    with pytest.raises(candidates.UnknownLink):
        await candidates.status(runtime, submitted.token)
    assert await ContactRequest.count() == 0
    assert await CandidateDetail.count() == 0


async def test_cv_for_the_candidate(runtime: Runtime) -> None:
    pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    submitted = await send(
        runtime,
        consents=["contact_share", "cv"],
        city="",
        cv_filename="mijn cv.pdf",
        cv_content=pdf,
    )
    download = await candidates.candidate_cv(runtime, submitted.token)
    assert download.content == pdf and download.filename == "mijn cv.pdf"
    other = await send(runtime, email="no.cv@example.org")
    with pytest.raises(NotFound):
        await candidates.candidate_cv(runtime, other.token)


async def test_bad_input_is_refused_before_anything_is_stored(runtime: Runtime) -> None:
    with pytest.raises(InvalidFields) as caught:
        await candidates.preview(runtime, form(consents=["address"], email="nope"))
    assert {"consents", "email"} <= set(caught.value.errors)
    with pytest.raises(InvalidFields):
        await candidates.send(runtime, form(topics=["astrology"]), now=NOW)
    assert await ContactRequest.count() == 0


async def test_tokens_never_reach_the_logs(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    submitted = await send(runtime)
    await candidates.status(runtime, submitted.token)
    await candidates.withdraw(runtime, submitted.token)
    with pytest.raises(candidates.UnknownLink):
        await candidates.status(runtime, submitted.token[::-1])
    with pytest.raises(NotFound):
        await candidates.status(runtime, submitted.token, request_id=uuid4())
    await candidates.erase(runtime, submitted.token)
    assert all(submitted.token not in r.getMessage() for r in caplog.records)
    assert submitted.token not in caplog.text


async def test_ids_kept_after_erasure_or_shown_to_coaches_say_nothing_of_when(
    runtime: Runtime,
) -> None:
    # A subject's id stays in the erasure journal, a request's id is in coaches' URLs:
    # random. The rows that go with their subject are time-ordered (cheaper to write).
    submitted = await send(runtime)
    [request] = await ContactRequest.select(ContactRequest.id, ContactRequest.candidate_id)
    assert submitted.request_id.version == 4
    assert UUID(str(request["candidate_id"])).version == 4
    consents = await Consent.select(Consent.id)
    assert consents and all(UUID(str(row["id"])).version == 7 for row in consents)
