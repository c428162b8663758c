"""Retention: what we keep, and for how long (seed 003), applied every day.

:func:`run` applies each rule for a given day (``as_of``), or only counts with
``dry_run``. Every rule is idempotent and works in batches that commit on their
own, so a run killed half-way is finished by the next one. The report holds
counts by rule, never personal data (also written to the audit log as
``retention.run``). Its cost grows with what is due, not with
what is stored: every rule starts from an index range (``last_active_at``,
``expires_at``, ...).

The rules:

- ``inactive_subjects``: candidates and coaches inactive for :data:`INACTIVE_YEARS`
  years (``last_active_at``: any action of theirs, such as a request, a visit to
  the private link, a login) are erased through the erasure service. A legal
  hold (:class:`~matching.tables.LegalHold`, with a reason and an end date) is
  the only exception; holds are counted in the report.
- ``retention_notice``: a notice by e-mail ``notice_days`` before that day, once
  per period of inactivity (activity after it voids it, and the clock restarts).
- ``special_data``: employment, employer and income a candidate asked us to keep
  for their request, once that request has ended (expired, withdrawn, closed).
- ``sessions``: login sessions past their end. ``login_throttle``: counters of
  failed logins older than a day (they hold hashes, never an address).
- ``dev_mailbox``: messages in the development mailbox older than
  :data:`MAILBOX_DAYS` days.
- ``unsent_links``: a private link kept (encrypted) for its e-mail, when that
  e-mail's job has failed for good and is :data:`UNSENT_LINK_DAYS` days old. The
  link is the only one-time secret stored; its token is kept only as a hash.
- ``unfiled_requests``: a submission still waiting in the intake inbox when its
  request would have expired (``COACHMATCH_REQUEST_EXPIRY_DAYS``): one that could
  not be filed. Its candidate is erased through the erasure service.
- ``finished_jobs``: outbox jobs done more than :data:`JOB_DAYS` days ago, and the
  scheduler's slot records older than that.

Logs: the site writes no access log and stores no IP address (the login
throttle keeps a keyed hash); application logs go to the operator's log system.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from matching import audit, db, outbox
from matching.codes import check_code
from matching.erasure import SYSTEM_ACTOR
from matching.erasure_journal import ErasureReason
from matching.errors import InvalidInput, NotFound
from matching.notifications import SEND_MAIL_ACTOR, mail_job
from matching.runtime import Runtime
from matching.tables import (
    CandidateDetail,
    ContactRequest,
    LegalHold,
    LoginThrottle,
    OutboxJob,
    ScheduledRun,
    Subject,
    WaitingIntake,
    WebSession,
)

INACTIVE_YEARS = 2
ERASABLE_KINDS = ("candidate", "coach")
ENDED_REQUESTS = ("expired", "withdrawn", "closed")
MAILBOX_DAYS = 30
JOB_DAYS = 30
#: A private link whose e-mail could not go out in this many days is destroyed.
UNSENT_LINK_DAYS = 7
BATCH = 500
NOTICE_TEMPLATE = "retention_notice"


@dataclasses.dataclass
class RetentionReport:
    """Counts by rule; in a dry run, what would go."""

    as_of: datetime.date
    dry_run: bool
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    legal_holds_active: int = 0
    held_back: int = 0  # due for erasure, but under a legal hold
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "as_of": self.as_of.isoformat()}


def erase_before(as_of: datetime.date) -> datetime.datetime:
    """Inactive since before this moment means erased on ``as_of``: exactly
    :data:`INACTIVE_YEARS` calendar years (29 February falls back to the 28th)."""
    try:
        day = as_of.replace(year=as_of.year - INACTIVE_YEARS)
    except ValueError:
        day = as_of.replace(year=as_of.year - INACTIVE_YEARS, day=28)
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)


async def run(runtime: Runtime, as_of: datetime.date, *, dry_run: bool = False) -> RetentionReport:
    """Apply every rule for ``as_of`` (or count, with ``dry_run``)."""
    started = time.perf_counter()
    report = RetentionReport(as_of=as_of, dry_run=dry_run)
    now = datetime.datetime.combine(as_of, datetime.time(), tzinfo=datetime.UTC)
    held = await _held_subjects(as_of)
    report.legal_holds_active = len(held)
    rules: list[tuple[str, Callable[[], Awaitable[int]]]] = [
        ("inactive_subjects", lambda: _inactive(runtime, now, held, report, dry_run)),
        ("retention_notice", lambda: _notices(runtime, now, held, dry_run)),
        ("special_data", lambda: _special_data(dry_run)),
        ("sessions", lambda: _sessions(now, dry_run)),
        ("login_throttle", lambda: _throttle(now, dry_run)),
        ("dev_mailbox", lambda: _mailbox(runtime, now, dry_run)),
        ("unsent_links", lambda: _unsent_links(now, dry_run)),
        ("unfiled_requests", lambda: _unfiled(runtime, now, dry_run)),
        ("finished_jobs", lambda: _jobs(now, dry_run)),
    ]
    for name, rule in rules:
        report.counts[name] = await rule()
    report.seconds = round(time.perf_counter() - started, 3)
    if not dry_run:
        await audit.record(
            SYSTEM_ACTOR,
            audit.Action.RETENTION_RUN,
            purpose="retention",
            details={
                "as_of": as_of.isoformat(),
                "held_back": report.held_back,
                "legal_holds": report.legal_holds_active,
                **report.counts,
            },
        )
    return report


async def _held_subjects(as_of: datetime.date) -> set[UUID]:
    rows = await LegalHold.select(LegalHold.subject_id).where(LegalHold.until >= as_of)
    return {row["subject_id"] for row in rows}


@dataclasses.dataclass(frozen=True)
class _Cursor:
    """Where the walk through ``last_active_at`` got to (the index's own order)."""

    at: datetime.datetime
    id: UUID


async def _inactive_between(
    before: datetime.datetime, after: datetime.datetime | None, cursor: _Cursor | None
) -> tuple[list[dict[str, Any]], _Cursor | None]:
    """The next batch of subjects last active in ``[after, before)``, in index order.

    Every kind comes back (admins are skipped by the caller): a filter on ``kind``
    would tempt the planner into the ``kind`` index, a scan of every subject.
    """
    where: Any = Subject.last_active_at < before
    if after is not None:
        where &= Subject.last_active_at >= after
    if cursor is not None:
        where &= (Subject.last_active_at > cursor.at) | (
            (Subject.last_active_at == cursor.at) & (Subject.id > cursor.id)
        )
    rows = (
        await Subject.select(
            Subject.id, Subject.kind, Subject.last_active_at, Subject.retention_notice_at
        )
        .where(where)
        .order_by(Subject.last_active_at, Subject.id)
        .limit(BATCH)
    )
    if not rows:
        return [], None
    last = rows[-1]
    return [r for r in rows if r["kind"] in ERASABLE_KINDS], _Cursor(
        last["last_active_at"], last["id"]
    )


async def _inactive(
    runtime: Runtime,
    now: datetime.datetime,
    held: set[UUID],
    report: RetentionReport,
    dry_run: bool,
) -> int:
    before = erase_before(now.date())
    done, cursor = 0, None
    while True:
        rows, cursor = await _inactive_between(before, None, cursor)
        if cursor is None:
            return done
        due = [row["id"] for row in rows if row["id"] not in held]
        report.held_back += len(rows) - len(due)
        if not dry_run and due:  # one journal write and one transaction per batch
            erased = await runtime.erasure.erase_many(
                due,
                reason=ErasureReason.RETENTION,
                actor=SYSTEM_ACTOR,
                still_due=functools.partial(_still_due, before, now.date()),
            )
            due = [result.subject_id for result in erased]
        done += len(due)


async def _notices(runtime: Runtime, now: datetime.datetime, held: set[UUID], dry_run: bool) -> int:
    erase_at = erase_before(now.date())
    notice_from = erase_at + datetime.timedelta(days=runtime.settings.retention_notice_days)
    sent, cursor = 0, None
    while True:
        rows, cursor = await _inactive_between(notice_from, erase_at, cursor)
        if cursor is None:
            return sent
        due = [
            row["id"]
            for row in rows
            if row["id"] not in held
            and (
                row["retention_notice_at"] is None
                or row["retention_notice_at"] < row["last_active_at"]
            )
        ]
        if due and not dry_run:
            async with outbox.unit_of_work(runtime):
                # Conditional again, inside the transaction: a second run at the same
                # time (a re-sent job) finds the notice recorded and sends nothing.
                marked = await db.for_ids(Subject, _MARK_NOTICE, due, now)
                due = [row["id"] for row in marked]
                await outbox.enqueue_rows([mail_job(sid, NOTICE_TEMPLATE) for sid in due])
        sent += len(due)


async def _still_due(
    before: datetime.datetime, today: datetime.date, subject_ids: list[UUID]
) -> list[UUID]:
    """Of these subjects, those still inactive and on no hold, checked in the erasure's
    transaction (PostgreSQL: their rows locked, so activity now waits for the end)."""
    lock = "" if db.is_sqlite() else " FOR UPDATE"
    rows = await db.for_ids(Subject, _STILL_DUE + lock, subject_ids, before, today)
    return [db.as_uuid(row["id"]) for row in rows]


_STILL_DUE = (
    "SELECT id FROM data_subject WHERE last_active_at < {} AND NOT EXISTS ("
    "SELECT 1 FROM legal_hold WHERE legal_hold.subject_id = data_subject.id "
    "AND legal_hold.until >= {}) AND id {ids}"
)
_MARK_NOTICE = (
    "UPDATE data_subject SET retention_notice_at = {} "
    "WHERE (retention_notice_at IS NULL OR retention_notice_at < last_active_at) "
    "AND id {ids} RETURNING id"
)


async def _special_data(dry_run: bool) -> int:
    ended = ContactRequest.select(ContactRequest.id).where(
        ContactRequest.status.is_in(list(ENDED_REQUESTS))
    )
    where = (CandidateDetail.special == True) & CandidateDetail.request_id.is_in(ended)  # noqa: E712
    return await _delete(CandidateDetail, where, CandidateDetail.id, dry_run)


async def _sessions(now: datetime.datetime, dry_run: bool) -> int:
    return await _delete(WebSession, WebSession.expires_at < now, WebSession.id_hash, dry_run)


async def _throttle(now: datetime.datetime, dry_run: bool) -> int:
    before = now - datetime.timedelta(days=1)
    return await _delete(
        LoginThrottle, LoginThrottle.window_start < before, LoginThrottle.key_hash, dry_run
    )


async def _unfiled(runtime: Runtime, now: datetime.datetime, dry_run: bool) -> int:
    """A submission that could not be filed (see :mod:`matching.filing`) by the time
    its request would have expired never will be: its candidate is erased, through
    the erasure service."""
    before = now - datetime.timedelta(days=runtime.settings.request_expiry_days)
    rows = await WaitingIntake.select(WaitingIntake.subject_id).where(
        WaitingIntake.received_at < before
    )
    due = list(dict.fromkeys(row["subject_id"] for row in rows))
    if not dry_run:
        for start in range(0, len(due), BATCH):
            await runtime.erasure.erase_many(
                due[start : start + BATCH], reason=ErasureReason.RETENTION, actor=SYSTEM_ACTOR
            )
    return len(due)


async def _unsent_links(now: datetime.datetime, dry_run: bool) -> int:
    """The private link of a request is kept (encrypted) only until its e-mail has
    gone out; one whose e-mail job has failed for good and is older than
    :data:`UNSENT_LINK_DAYS` days is destroyed (a job merely waiting, say for the
    workers to come back, still sends it). Found through those jobs (few: a job
    that succeeds clears the link as it completes), not by walking the requests."""
    before = now - datetime.timedelta(days=UNSENT_LINK_DAYS)
    jobs = (
        await OutboxJob.select(OutboxJob.args)
        .where(
            (OutboxJob.actor == SEND_MAIL_ACTOR)
            & OutboxJob.done_at.is_null()
            & (OutboxJob.attempts >= outbox.MAX_ATTEMPTS)
            & (OutboxJob.created_at < before)
        )
        .output(load_json=True)
    )
    requests = [
        UUID(str(job["args"]["request_id"]))
        for job in jobs
        if job["args"].get("template") == "request_received" and job["args"].get("request_id")
    ]
    if not requests:
        return 0
    where = ContactRequest.id.is_in(requests) & ContactRequest.link_sealed.is_not_null()
    if dry_run:
        return int(await ContactRequest.count().where(where))
    async with db.write_transaction():
        cleared = await (
            ContactRequest.update({ContactRequest.link_sealed: None})
            .where(where)
            .returning(ContactRequest.id)
        )
    return len(cleared)


async def _jobs(now: datetime.datetime, dry_run: bool) -> int:
    before = now - datetime.timedelta(days=JOB_DAYS)
    jobs = await _delete(
        OutboxJob,
        OutboxJob.done_at.is_not_null() & (OutboxJob.done_at < before),
        OutboxJob.id,
        dry_run,
    )
    slots = await _delete(
        ScheduledRun, ScheduledRun.created_at < before, ScheduledRun.slot, dry_run
    )
    return jobs + slots


async def _delete(table: Any, where: Any, key: Any, dry_run: bool) -> int:
    if dry_run:
        return int(await table.count().where(where))
    async with db.write_transaction():
        return len(await table.delete().where(where).returning(key))


async def _mailbox(runtime: Runtime, now: datetime.datetime, dry_run: bool) -> int:
    folder = runtime.settings.mailbox_dir
    cutoff = (now - datetime.timedelta(days=MAILBOX_DAYS)).timestamp()

    def sweep() -> int:
        if not folder.is_dir():
            return 0
        old = [p for p in folder.glob("*.eml") if p.stat().st_mtime < cutoff]
        if not dry_run:
            for path in old:
                path.unlink(missing_ok=True)
        return len(old)

    return await asyncio.to_thread(sweep)


# -- legal holds ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Hold:
    id: UUID
    subject_id: UUID
    reason: str
    until: datetime.date

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "subject_id": str(self.subject_id),
            "reason": self.reason,
            "until": self.until.isoformat(),
        }


async def add_hold(
    subject_id: UUID, *, reason: str, until: datetime.date, actor: str, today: datetime.date
) -> Hold:
    """Record a legal obligation to keep a subject's data until ``until``."""
    check_code(reason, "the reason")
    if until <= today:
        raise InvalidInput("a legal hold needs an end date in the future")
    if not await Subject.exists().where(Subject.id == subject_id):
        raise NotFound("no such data subject")
    hold = LegalHold(subject_id=subject_id, reason=reason, until=until, actor=actor)
    async with db.write_transaction():
        await hold.save()
        await audit.record(
            actor,
            audit.Action.LEGAL_HOLD_ADDED,
            subject_id=subject_id,
            purpose="retention",
            details={"reason": reason, "until": until.isoformat()},
        )
    return Hold(hold.id, subject_id, reason, until)


async def holds(today: datetime.date) -> list[Hold]:
    """The legal holds in force, soonest end first."""
    rows = (
        await LegalHold.select(
            LegalHold.id, LegalHold.subject_id, LegalHold.reason, LegalHold.until
        )
        .where(LegalHold.until >= today)
        .order_by(LegalHold.until)
    )
    return [Hold(r["id"], r["subject_id"], r["reason"], r["until"]) for r in rows]
