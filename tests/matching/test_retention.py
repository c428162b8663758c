"""Retention on SQLite and PostgreSQL: two years of inactivity, to the day; notices;
legal holds; the other rules; dry runs that change nothing."""

from __future__ import annotations

import datetime
from typing import Any
from uuid import UUID

import pytest
import time_machine

from matching import intake, outbox, retention, subjects
from matching.erasure import still_present
from matching.errors import InvalidInput, NotFound
from matching.notifications import mail_job
from matching.runtime import Runtime
from matching.tables import (
    CandidateDetail,
    ContactRequest,
    OutboxJob,
    Subject,
    WaitingIntake,
    WebSession,
)
from tests.matching.test_request_flow import form as request_form

AS_OF = datetime.date(2026, 11, 30)


async def someone_last_seen(
    runtime: Runtime, at: datetime.datetime, kind: str = "candidate"
) -> UUID:
    """A subject created (and so last active) at ``at``: the clock really goes back."""
    with time_machine.travel(at, tick=False):
        return await subjects.create_subject(
            runtime.vault, kind, name="Iemand", email=f"iemand-{at:%Y%m%d%H%M}@example.org"
        )


def days_before(days: int, date: datetime.date = AS_OF) -> datetime.datetime:
    return datetime.datetime.combine(
        date - datetime.timedelta(days=days), datetime.time(12), tzinfo=datetime.UTC
    )


def two_years_before(date: datetime.date = AS_OF) -> datetime.date:
    return date.replace(year=date.year - 2)


def at(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)


async def test_two_years_minus_a_day_is_kept_and_plus_a_day_is_erased(runtime: Runtime) -> None:
    boundary = two_years_before()
    kept = await someone_last_seen(runtime, at(boundary + datetime.timedelta(days=1)))
    gone = await someone_last_seen(runtime, at(boundary - datetime.timedelta(days=1)))
    coach = await someone_last_seen(runtime, at(boundary - datetime.timedelta(days=1)), "coach")
    admin = await someone_last_seen(runtime, at(boundary - datetime.timedelta(days=400)), "admin")

    report = await retention.run(runtime, AS_OF)

    assert report.counts["inactive_subjects"] == 2
    assert await still_present([kept, gone, coach, admin]) == {kept, admin}
    journal = {e.subject_id: e.reason for e in runtime.journal.entries()}
    assert journal == {gone: "retention", coach: "retention"}
    assert (await retention.run(runtime, AS_OF)).counts["inactive_subjects"] == 0


async def test_any_activity_resets_the_clock(runtime: Runtime) -> None:
    subject_id = await someone_last_seen(runtime, days_before(800))
    with time_machine.travel(days_before(3), tick=False):
        await subjects.touch(subject_id)
    await retention.run(runtime, AS_OF)
    assert await still_present([subject_id]) == {subject_id}


async def test_a_notice_goes_out_once_a_month_before(runtime: Runtime) -> None:
    boundary = two_years_before()
    soon = await someone_last_seen(runtime, at(boundary + datetime.timedelta(days=10)))
    later = await someone_last_seen(runtime, at(boundary + datetime.timedelta(days=40)))

    async def notices() -> list[str]:
        rows = (
            await OutboxJob.select(OutboxJob.args)
            .where(OutboxJob.actor == "send_mail")
            .output(load_json=True)
        )
        return [
            r["args"]["subject_id"] for r in rows if r["args"]["template"] == "retention_notice"
        ]

    first = await retention.run(runtime, AS_OF)
    assert first.counts["retention_notice"] == 1 and await notices() == [str(soon)]
    again = await retention.run(runtime, AS_OF + datetime.timedelta(days=1))
    assert again.counts["retention_notice"] == 0
    # Activity voids the notice; a new period of inactivity earns a new one.
    with time_machine.travel(at(AS_OF + datetime.timedelta(days=2)), tick=False):
        await subjects.touch(soon)
    next_time = AS_OF + datetime.timedelta(days=2 + 730 - 20)
    report = await retention.run(runtime, next_time)
    assert report.counts["retention_notice"] == 1
    assert sorted(await notices()) == sorted([str(soon), str(soon)])
    assert await still_present([later]) == set()  # erased meanwhile, two years on


async def test_a_legal_hold_is_the_only_exception_and_is_reported(runtime: Runtime) -> None:
    held = await someone_last_seen(runtime, days_before(900))
    free = await someone_last_seen(runtime, days_before(900))
    hold = await retention.add_hold(
        held,
        reason="tax_records",
        until=AS_OF + datetime.timedelta(days=30),
        actor="cli",
        today=AS_OF,
    )
    report = await retention.run(runtime, AS_OF)
    assert report.legal_holds_active == 1 and report.held_back == 1
    assert await still_present([held, free]) == {held}
    assert [h.subject_id for h in await retention.holds(AS_OF)] == [held]
    later = hold.until + datetime.timedelta(days=1)
    assert (await retention.run(runtime, later)).counts["inactive_subjects"] == 1
    assert await still_present([held]) == set()


async def test_activity_or_a_hold_after_the_batch_was_found_keeps_the_subject(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    woke = await someone_last_seen(runtime, days_before(900))
    held = await someone_last_seen(runtime, days_before(900))
    gone = await someone_last_seen(runtime, days_before(900))
    erase_many = runtime.erasure.erase_many

    async def after_a_visit_and_a_hold(ids: list[UUID], **kwargs: Any) -> Any:
        # Between finding the batch and erasing it: one visits their private link,
        # an admin puts another on hold.
        with time_machine.travel(at(AS_OF), tick=False):
            await subjects.touch(woke)
        await retention.add_hold(
            held,
            reason="tax_records",
            until=AS_OF + datetime.timedelta(days=30),
            actor="cli",
            today=AS_OF,
        )
        return await erase_many(ids, **kwargs)

    monkeypatch.setattr(runtime.erasure, "erase_many", after_a_visit_and_a_hold)
    report = await retention.run(runtime, AS_OF)

    assert report.counts["inactive_subjects"] == 1
    assert await still_present([woke, held, gone]) == {woke, held}
    assert [entry.subject_id for entry in runtime.journal.entries()] == [gone]


async def test_holds_need_a_code_a_future_end_and_a_subject(runtime: Runtime) -> None:
    someone = await someone_last_seen(runtime, days_before(1))
    with pytest.raises(InvalidInput):
        await retention.add_hold(
            someone, reason="Tax records!", until=AS_OF.replace(year=2030), actor="cli", today=AS_OF
        )
    with pytest.raises(InvalidInput):
        await retention.add_hold(
            someone, reason="tax_records", until=AS_OF, actor="cli", today=AS_OF
        )
    with pytest.raises(NotFound):
        await retention.add_hold(
            UUID(int=7),
            reason="tax_records",
            until=AS_OF.replace(year=2030),
            actor="cli",
            today=AS_OF,
        )


async def test_a_dry_run_counts_and_changes_nothing(runtime: Runtime) -> None:
    due = await someone_last_seen(runtime, days_before(800))
    soon = await someone_last_seen(runtime, days_before(720))
    before = await Subject.select(Subject.id, Subject.retention_notice_at)
    report = await retention.run(runtime, AS_OF, dry_run=True)
    assert report.dry_run
    assert report.counts["inactive_subjects"] == 1 and report.counts["retention_notice"] == 1
    assert await still_present([due, soon]) == {due, soon}
    assert await Subject.select(Subject.id, Subject.retention_notice_at) == before
    assert await OutboxJob.count() == 0
    assert set(report.as_dict()["counts"]) == {
        "inactive_subjects",
        "retention_notice",
        "special_data",
        "sessions",
        "login_throttle",
        "dev_mailbox",
        "unsent_links",
        "unfiled_requests",
        "finished_jobs",
    }


async def test_ended_sessions_and_kept_special_data_of_ended_requests_go(
    runtime: Runtime,
) -> None:
    candidate = await someone_last_seen(runtime, days_before(1))
    ended = ContactRequest(
        candidate_id=candidate, status="expired", language="nl", topics=[], token_hash="e" * 64
    )
    running = ContactRequest(
        candidate_id=candidate, status="open", language="nl", topics=[], token_hash="f" * 64
    )
    for request in (ended, running):
        await request.save()
        await CandidateDetail.insert(
            CandidateDetail(
                subject_id=candidate,
                request_id=request.id,
                field="income",
                value=b"x",
                special=True,
            ),
            CandidateDetail(
                subject_id=candidate,
                request_id=request.id,
                field="phone",
                value=b"x",
                special=False,
            ),
        )
    await WebSession.insert(
        WebSession(
            id_hash="a" * 64,
            principal_kind="coach",
            principal_id=candidate,
            csrf_token="t",
            expires_at=days_before(1),
        ),
        WebSession(
            id_hash="b" * 64,
            principal_kind="coach",
            principal_id=candidate,
            csrf_token="t",
            expires_at=days_before(-1),
        ),
    )
    report = await retention.run(runtime, AS_OF)
    assert report.counts["special_data"] == 1 and report.counts["sessions"] == 1
    left = await CandidateDetail.select(CandidateDetail.request_id, CandidateDetail.field)
    assert sorted((r["request_id"] == ended.id, r["field"]) for r in left) == [
        (False, "income"),
        (False, "phone"),
        (True, "phone"),
    ]
    assert [r["id_hash"] for r in await WebSession.select(WebSession.id_hash)] == ["b" * 64]


async def test_a_private_link_whose_mail_failed_for_good_goes_after_a_week(
    runtime: Runtime,
) -> None:
    candidate = await someone_last_seen(runtime, days_before(1))
    stuck, sent_soon, waiting = (
        ContactRequest(
            candidate_id=candidate,
            status="open",
            language="nl",
            topics=[],
            token_hash=mark * 64,
            link_sealed=b"sealed link",
        )
        for mark in "cde"
    )
    for request, days in ((stuck, 8), (sent_soon, 6), (waiting, 8)):
        await request.save()
        with time_machine.travel(days_before(days), tick=False):
            async with outbox.unit_of_work(runtime):
                [job_id] = await outbox.enqueue_rows(
                    [mail_job(candidate, "request_received", request_id=request.id)]
                )
        if request is not waiting:  # the others failed for good
            await outbox.give_up(job_id, "SMTPRecipientsRefused")
    dry = await retention.run(runtime, AS_OF, dry_run=True)
    assert dry.counts["unsent_links"] == 1
    report = await retention.run(runtime, AS_OF)
    assert report.counts["unsent_links"] == 1
    rows = await ContactRequest.select(ContactRequest.id, ContactRequest.link_sealed)
    assert {r["id"]: r["link_sealed"] is None for r in rows} == {
        stuck.id: True,
        sent_soon.id: False,  # failed, but only six days ago
        waiting.id: False,  # eight days old, but its job may still send it
    }


async def test_a_submission_never_filed_is_erased_when_its_request_would_expire(
    runtime: Runtime,
) -> None:
    form = request_form(consents=["contact_share"], city="", employment="", employer="")
    checked = intake.validate(form, cv_max_bytes=1 << 20, today=AS_OF)
    expiry = datetime.timedelta(days=runtime.settings.request_expiry_days)
    old = await intake.submit(runtime, checked, now=at(AS_OF) - expiry - datetime.timedelta(1))
    new = await intake.submit(runtime, checked, now=at(AS_OF) - expiry + datetime.timedelta(1))
    rows = await WaitingIntake.select(WaitingIntake.subject_id, WaitingIntake.request_id)
    subject_of = {row["request_id"]: row["subject_id"] for row in rows}
    assert (await retention.run(runtime, AS_OF, dry_run=True)).counts["unfiled_requests"] == 1
    report = await retention.run(runtime, AS_OF)
    assert report.counts["unfiled_requests"] == 1
    assert await still_present(subject_of.values()) == {subject_of[new.request_id]}
    assert subject_of[old.request_id] not in await still_present([subject_of[old.request_id]])
    [left] = await WaitingIntake.select(WaitingIntake.request_id)
    assert left["request_id"] == new.request_id


def test_the_boundary_of_a_leap_day() -> None:
    assert retention.erase_before(datetime.date(2028, 2, 29)).date() == datetime.date(2026, 2, 28)
    assert retention.erase_before(datetime.date(2026, 3, 1)).date() == datetime.date(2024, 3, 1)
