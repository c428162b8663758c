"""The request's spine on SQLite and PostgreSQL: intake, broadcast, first accept wins."""

from __future__ import annotations

import asyncio
import datetime
from uuid import UUID

import pytest

from anonymiser.text import Anonymiser, AnonymiserError
from matching import accounts, agreement, broadcast, filing, intake, matches
from matching.errors import (
    AgreementMissing,
    AnonymisationFailed,
    InvalidFields,
    NotFound,
    RequestAlreadyMatched,
)
from matching.runtime import Runtime
from matching.scrubbing import KnownValues, Scrubber, ScrubberUnavailable
from matching.tables import AuditEntry, CandidateDetail, ContactRequest, Offer, OutboxJob

TODAY = datetime.date(2026, 11, 29)
NOW = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.UTC)
PASSWORD = "a long enough password"


def form(**overrides: object) -> intake.IntakeForm:
    values: dict[str, object] = {
        "name": "Fenna de Wit",
        "email": "fenna.dewit@example.org",
        "motivation": "Ik ben Fenna de Wit en werk bij Bakkerij Molenaar in Zwolle. "
        "Ik wil graag hulp bij een carrièreswitch.",
        "topics": ["carriereswitch"],
        "consents": ["contact_share", "address", "special"],
        "city": "Zwolle",
        "employment": "employed",
        "employer": "Bakkerij Molenaar",
    }
    values.update(overrides)
    return intake.IntakeForm(**values)  # type: ignore[arg-type]


async def coach(runtime: Runtime, email: str, *, regions: list[str], sign: bool = True) -> UUID:
    coach_id, _ = await accounts.create_coach(
        runtime,
        email=email,
        name=f"Coach {email}",
        password=PASSWORD,
        topics=["carriereswitch", "stress"],
        regions=regions,
        languages=["nl"],
    )
    if sign:
        await agreement.accept(coach_id, agreement.VERSION, actor=f"coach:{coach_id}")
    return coach_id


async def submit_and_broadcast(runtime: Runtime, **overrides: object) -> UUID:
    checked = intake.validate(form(**overrides), cv_max_bytes=1 << 20, today=TODAY)
    submitted = await intake.submit(runtime, checked, now=NOW)
    await filing.file_waiting(runtime)
    [job] = (
        await OutboxJob.select(OutboxJob.id)
        .where(OutboxJob.actor == intake.BROADCAST_ACTOR)
        .order_by(OutboxJob.created_at, ascending=False)
        .limit(1)
    )
    result = await broadcast.run(runtime, job["id"], submitted.request_id)
    assert result.status == "open"
    return submitted.request_id


async def test_the_first_coach_wins_and_sees_the_contact(runtime: Runtime) -> None:
    first = await coach(runtime, "one@example.org", regions=["overijssel"])
    second = await coach(runtime, "two@example.org", regions=["online"])
    elsewhere = await coach(runtime, "three@example.org", regions=["limburg"])
    request_id = await submit_and_broadcast(runtime)

    offered = {r["coach_id"] for r in await Offer.select().where(Offer.request_id == request_id)}
    assert offered == {first, second} and elsewhere not in offered
    [row] = await ContactRequest.select().where(ContactRequest.id == request_id)
    assert row["province"] == "overijssel" and row["employment"] == "employed"
    # Special data was used (the employer left the text) and not stored.
    assert await CandidateDetail.count().where(CandidateDetail.special == True) == 0  # noqa: E712
    summary = await runtime.vault.decrypt_text(
        row["candidate_id"], "contact_request", "summary", request_id, row["summary"]
    )
    assert "Fenna" not in summary and "Molenaar" not in summary and "Zwolle" not in summary

    contact = await matches.accept(runtime, first, request_id)
    assert contact.email == "fenna.dewit@example.org" and contact.details["city"] == "Zwolle"
    with pytest.raises(RequestAlreadyMatched):
        await matches.accept(runtime, second, request_id)
    with pytest.raises(NotFound):
        await matches.accept(runtime, elsewhere, request_id)
    with pytest.raises(NotFound):
        await matches.contact(runtime, second, request_id)


async def test_concurrent_accepts_have_one_winner(runtime: Runtime) -> None:
    coaches = [await coach(runtime, f"c{i}@example.org", regions=["online"]) for i in range(12)]
    request_id = await submit_and_broadcast(runtime)

    async def attempt(coach_id: UUID) -> str:
        try:
            await matches.accept(runtime, coach_id, request_id)
        except RequestAlreadyMatched:
            return "lost"
        return "won"

    results = await asyncio.gather(*(attempt(c) for c in coaches))
    assert sorted(results) == ["lost"] * 11 + ["won"]


async def test_a_coach_without_the_agreement_cannot_accept(runtime: Runtime) -> None:
    unsigned = await coach(runtime, "new@example.org", regions=["online"], sign=False)
    request_id = await submit_and_broadcast(runtime)
    with pytest.raises(AgreementMissing):
        await matches.accept(runtime, unsigned, request_id)


def test_bad_input_names_every_wrong_field() -> None:
    with pytest.raises(InvalidFields) as caught:
        intake.validate(
            form(email="not an address", topics=["astrology"], phone="12", motivation="kort"),
            cv_max_bytes=1 << 20,
            today=TODAY,
        )
    assert set(caught.value.errors) >= {"email", "topics", "phone", "motivation"}
    with pytest.raises(InvalidFields) as caught:
        intake.validate(form(consents=["address"]), cv_max_bytes=1 << 20, today=TODAY)
    assert "consents" in caught.value.errors


async def test_special_data_is_kept_only_when_the_candidate_asks(runtime: Runtime) -> None:
    await coach(runtime, "keep@example.org", regions=["online"])
    dropped = await submit_and_broadcast(runtime)
    kept = await submit_and_broadcast(
        runtime, consents=["contact_share", "address", "special", "keep_special"]
    )
    special = CandidateDetail.special == True  # noqa: E712
    assert (
        await CandidateDetail.count().where(special & (CandidateDetail.request_id == dropped)) == 0
    )
    fields = await CandidateDetail.select(CandidateDetail.field).where(
        special & (CandidateDetail.request_id == kept)
    )
    assert {row["field"] for row in fields} == {"employment", "employer"}


class _BrokenText(Scrubber):
    """An anonymiser that fails on every text (as it would on a text it cannot handle)."""

    def scrub(self, text: str, known: KnownValues) -> str:
        raise AnonymiserError("anonymising failed (ValueError)")


class _NotLoaded(Scrubber):
    def load(self) -> Anonymiser:
        raise ScrubberUnavailable("loading the anonymiser failed (OSError)")


async def _submit(runtime: Runtime) -> tuple[UUID, UUID]:
    checked = intake.validate(form(), cv_max_bytes=1 << 20, today=TODAY)
    submitted = await intake.submit(runtime, checked, now=NOW)
    await filing.file_waiting(runtime)
    [job] = await OutboxJob.select(OutboxJob.id).where(OutboxJob.actor == intake.BROADCAST_ACTOR)
    return job["id"], submitted.request_id


async def test_a_text_the_anonymiser_cannot_handle_is_held_back(runtime: Runtime) -> None:
    await coach(runtime, "held@example.org", regions=["online"])
    runtime.scrubber = _BrokenText(runtime.settings.effective_cache_dir)
    job_id, request_id = await _submit(runtime)
    result = await broadcast.run(runtime, job_id, request_id)
    assert result.status == "held"
    [row] = await ContactRequest.select(ContactRequest.status, ContactRequest.summary).where(
        ContactRequest.id == request_id
    )
    assert row == {"status": "held", "summary": None}
    assert await Offer.count().where(Offer.request_id == request_id) == 0
    actions = await AuditEntry.select(AuditEntry.action)
    assert {"action": "request.held"} in actions


async def test_an_anonymiser_that_cannot_load_leaves_the_job_to_be_retried(
    runtime: Runtime,
) -> None:
    runtime.scrubber = _NotLoaded(runtime.settings.effective_cache_dir)
    job_id, request_id = await _submit(runtime)
    with pytest.raises(ScrubberUnavailable):
        await broadcast.run(runtime, job_id, request_id)
    [row] = await ContactRequest.select(ContactRequest.status).where(
        ContactRequest.id == request_id
    )
    assert row["status"] == "pending"
    with pytest.raises(AnonymisationFailed):
        await intake.preview(runtime, intake.validate(form(), cv_max_bytes=1, today=TODAY))
