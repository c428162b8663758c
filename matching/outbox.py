"""The transactional outbox: jobs are rows written with the change that caused them.

A service calls :func:`enqueue` inside its write transaction; the job exists if and
only if the change committed. :func:`unit_of_work` runs such a transaction and,
after a successful commit, hands the new job ids to ``runtime.dispatch`` (the
workers' relay sends them to the broker). Nothing is sent for a rolled-back
transaction. Whatever a crash or a broker outage loses, the sweeper re-sends from
here: a job is pending until :func:`complete` marks it done, in the same
transaction as the job's effect, so the effect commits exactly once however often
the job is delivered.

Job arguments are ids and codes only (they travel through the broker and sit in
this table); personal values are refused by construction.

The life of a row: ``sent_at`` is a lease, set when a sender claims the job
(:func:`claim_for_send`) or as the row is written by a writer that sends the job
itself right after its commit (:func:`claimed`), and renewed when a worker starts an attempt
(:func:`begin_attempt`); a job whose lease ran out is due again
(:func:`due_for_resend`). ``attempts`` counts started runs; after
:data:`MAX_ATTEMPTS` the job is failed and no longer sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import datetime
import json
import logging
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from matching import bulk, db
from matching.codes import check_code, check_token
from matching.errors import InvalidInput
from matching.ids import new_id
from matching.tables import OutboxJob

if TYPE_CHECKING:
    from matching.runtime import Runtime, SendClaimed

log = logging.getLogger(__name__)

#: Started runs after which a job counts as failed and is no longer sent.
MAX_ATTEMPTS = 10
MAX_ARGS = 16
ArgValue = str | int | bool
_ERROR_CODE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]{0,79}")

# The job ids enqueued inside the current unit of work (None outside one).
_collected: contextvars.ContextVar[list[UUID] | None] = contextvars.ContextVar(
    "outbox_collected", default=None
)


@dataclasses.dataclass(frozen=True)
class Job:
    """A job as a worker sees it: the row's id, actor and id-only arguments."""

    id: UUID
    actor: str
    args: Mapping[str, ArgValue]
    attempts: int = 0


@dataclasses.dataclass(frozen=True)
class JobState:
    id: UUID
    actor: str
    attempts: int
    sent_at: datetime.datetime | None
    done_at: datetime.datetime | None
    last_error: str | None

    @property
    def done(self) -> bool:
        return self.done_at is not None

    @property
    def failed(self) -> bool:
        return self.done_at is None and self.attempts >= MAX_ATTEMPTS


# -- writing jobs ------------------------------------------------------------------------


async def enqueue(actor: str, **ids: object) -> UUID:
    """Record a job for ``actor`` in the caller's transaction and return its id.

    Values must be ids or codes: UUIDs, whole numbers, booleans or id-like strings
    (no spaces, ``@`` or capitals), so no personal value can ride along.
    """
    (job_id,) = await enqueue_rows([job_row(actor, **ids)])
    return job_id


async def enqueue_rows(rows: Sequence[Mapping[str, Any]]) -> list[UUID]:
    """Record jobs made by :func:`job_row` in the caller's transaction; their ids."""
    if not in_transaction():
        raise RuntimeError("outbox.enqueue() must run inside a transaction (use unit_of_work)")
    await bulk.insert(OutboxJob, rows)
    job_ids: list[UUID] = [row["id"] for row in rows]
    collected = _collected.get()
    if collected is not None:
        collected.extend(job_ids)
    return job_ids


def job_row(actor: str, **ids: object) -> dict[str, Any]:
    """The outbox row of a new job, checked as :func:`enqueue` checks it, for a writer
    that inserts many rows at once (and dispatches the ids after its commit)."""
    check_code(actor, "a job's actor")
    if len(ids) > MAX_ARGS:
        raise InvalidInput("a job takes a few ids, not a document")
    args = {check_code(key, "a job argument name"): _arg(value) for key, value in ids.items()}
    return {"id": new_id(), "actor": actor, "args": args}


def _arg(value: object) -> ArgValue:
    if isinstance(value, bool | int):
        return value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, str):
        return check_token(value, "a job argument")
    raise InvalidInput("job arguments must be ids or codes (UUID, int, bool or an id string)")


def claimed(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Job rows (of :func:`job_row`) whose lease starts as they are written: for a
    writer that sends them itself right after its commit (see ``GroupCommit``)."""
    now = _now()
    return [{**row, "sent_at": now} for row in rows]


def job_of(row: Mapping[str, Any]) -> Job:
    """The job a row of :func:`job_row` describes."""
    return Job(id=row["id"], actor=row["actor"], args=row["args"])


def in_transaction() -> bool:
    return db.current_engine().current_transaction.get() is not None


@contextlib.asynccontextmanager
async def unit_of_work(runtime: Runtime) -> AsyncIterator[None]:
    """A write transaction whose enqueued jobs are dispatched after it commits.

    Nested inside another unit of work it simply joins it (the outer one
    dispatches). It must not be opened inside a bare transaction: that one's
    commit, not ours, would decide whether the jobs exist.
    """
    if _collected.get() is not None:
        yield
        return
    if in_transaction():
        raise RuntimeError("unit_of_work() must be the outermost transaction")
    collected: list[UUID] = []
    token = _collected.set(collected)
    try:
        async with db.write_transaction(runtime.engine):
            yield
    finally:
        _collected.reset(token)
    if collected:
        await dispatch_committed(runtime, collected)


async def dispatch_committed(runtime: Runtime, job_ids: Sequence[UUID]) -> None:
    """Hand committed jobs to the workers."""
    # The jobs are committed: a failed send only delays them until the next sweep.
    try:
        await runtime.dispatch(list(job_ids))
    except Exception as exc:
        log.warning("dispatch failed (%s); the sweeper will send the jobs", type(exc).__name__)


async def send_committed(send: SendClaimed, jobs: Sequence[Job]) -> None:
    """Hand committed jobs that were written claimed to the workers. If that fails
    (the broker's host stopped meanwhile, say), their lease is undone so that the next
    sweep, this process's or another's, sends them at once."""
    try:
        await send(jobs)
    except Exception as exc:
        log.warning("sending failed (%s); the sweeper will send the jobs", type(exc).__name__)
        with contextlib.suppress(Exception):  # the lease runs out anyway
            await release_many([job.id for job in jobs])


# -- sending ------------------------------------------------------------------------------


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _due(cutoff: datetime.datetime) -> Any:
    """Not done, not given up, and never sent or sent before ``cutoff``."""
    return (
        OutboxJob.done_at.is_null()
        & (OutboxJob.attempts < MAX_ATTEMPTS)
        & (OutboxJob.sent_at.is_null() | (OutboxJob.sent_at < cutoff))
    )


def lease_cutoff(
    lease_seconds: float, *, sent_before: datetime.datetime | None = None
) -> datetime.datetime:
    """Jobs sent before this instant are due again. ``sent_before`` can only move it later."""
    cutoff = _now() - datetime.timedelta(seconds=lease_seconds)
    return max(cutoff, sent_before) if sent_before is not None else cutoff


async def due_for_resend(cutoff: datetime.datetime, limit: int = 100) -> list[UUID]:
    """Ids of jobs due for (re)sending, oldest first. Claim them before sending."""
    rows = await (
        OutboxJob.select(OutboxJob.id)
        .where(_due(cutoff))
        .order_by(OutboxJob.created_at)
        .limit(limit)
    )
    return [row["id"] for row in rows]


async def claim_for_send(job_ids: Sequence[UUID], cutoff: datetime.datetime) -> list[Job]:
    """Start the lease of each job that is still due; return only the ones this call won.

    One conditional ``UPDATE``: of two senders racing for a row, the second finds
    ``sent_at`` already renewed and skips it, so a job is sent once per lease.
    """
    if not job_ids:
        return []
    async with db.write_transaction():
        rows = await (
            OutboxJob.update({OutboxJob.sent_at: _now()})
            .where(OutboxJob.id.is_in(list(job_ids)) & _due(cutoff))
            .returning(OutboxJob.id, OutboxJob.actor, OutboxJob.args, OutboxJob.attempts)
        )
    return [_job(row) for row in rows]


async def release(job_id: UUID) -> None:
    """Undo a claim whose send failed, so the next sweep tries again at once."""
    await release_many([job_id])


async def release_many(job_ids: Sequence[UUID]) -> None:
    """:func:`release` for several jobs at once."""
    if job_ids:
        await OutboxJob.update({OutboxJob.sent_at: None}).where(
            OutboxJob.id.is_in(list(job_ids)) & OutboxJob.done_at.is_null()
        )


async def give_up(job_id: UUID, error_code: str) -> None:
    """Mark a job failed for good (e.g. no actor of that name exists)."""
    await OutboxJob.update(
        {OutboxJob.attempts: MAX_ATTEMPTS, OutboxJob.last_error: _error_code(error_code)}
    ).where((OutboxJob.id == job_id) & OutboxJob.done_at.is_null())


# -- running -----------------------------------------------------------------------------


async def begin_attempt(job_id: UUID) -> Job | None:
    """Count a run and renew the lease; ``None`` if the job is done or failed.

    Workers call this before running a job: it loads the arguments, and a job
    someone else already completed is skipped without work.
    """
    async with db.write_transaction():
        rows = await (
            OutboxJob.update(
                {OutboxJob.attempts: OutboxJob.attempts + 1, OutboxJob.sent_at: _now()}
            )
            .where(
                (OutboxJob.id == job_id)
                & OutboxJob.done_at.is_null()
                & (OutboxJob.attempts < MAX_ATTEMPTS)
            )
            .returning(OutboxJob.id, OutboxJob.actor, OutboxJob.args, OutboxJob.attempts)
        )
    return _job(rows[0]) if rows else None


async def renew_lease(job_id: UUID) -> bool:
    """Start the lease of a running job afresh; ``False`` once it is done."""
    rows = await (
        OutboxJob.update({OutboxJob.sent_at: _now()})
        .where((OutboxJob.id == job_id) & OutboxJob.done_at.is_null())
        .returning(OutboxJob.id)
    )
    return bool(rows)


@contextlib.asynccontextmanager
async def lease_kept(job_id: UUID, every_seconds: float) -> AsyncIterator[None]:
    """Renew the job's lease every ``every_seconds`` while the block runs: a job that
    works longer than a lease (a backup of a big database) is not sent again meanwhile."""
    keeper = asyncio.create_task(_keep_lease(job_id, every_seconds))
    try:
        yield
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper


async def _keep_lease(job_id: UUID, every_seconds: float) -> None:
    while True:
        await asyncio.sleep(every_seconds)
        try:
            if not await renew_lease(job_id):
                return
        except Exception as exc:  # the database is busy or away: try again next time
            log.warning("could not renew a job lease (%s)", type(exc).__name__)


async def complete(job_id: UUID) -> bool:
    """Mark the job done; ``True`` only for the one call that did it.

    Must run inside the transaction that writes the job's effect: then the effect
    and ``done_at`` commit together, and a second delivery finds the job done
    (PostgreSQL: it waits on the row lock and re-checks; SQLite: writers are
    serialised by ``BEGIN IMMEDIATE``) and writes nothing.
    """
    if not in_transaction():
        raise RuntimeError("outbox.complete() must run in the transaction of the job's effect")
    rows = await (
        OutboxJob.update({OutboxJob.done_at: _now(), OutboxJob.last_error: None})
        .where((OutboxJob.id == job_id) & OutboxJob.done_at.is_null())
        .returning(OutboxJob.id)
    )
    return bool(rows)


@contextlib.asynccontextmanager
async def completing(job_id: UUID) -> AsyncIterator[bool]:
    """A write transaction that first completes the job; yields whether this run won.

    Write the effect only when it yields ``True``; an exception rolls back both.
    """
    async with db.write_transaction():
        yield await complete(job_id)


async def record_failure(job_id: UUID, error_code: str) -> None:
    """Note why the last run failed: an exception class name, never its message."""
    await OutboxJob.update({OutboxJob.last_error: _error_code(error_code)}).where(
        (OutboxJob.id == job_id) & OutboxJob.done_at.is_null()
    )


def _error_code(value: str) -> str:
    return value if _ERROR_CODE.fullmatch(value) else "Error"


# -- reading -----------------------------------------------------------------------------


async def is_done(job_id: UUID) -> bool:
    state = await job_state(job_id)
    return state is not None and state.done


async def job_state(job_id: UUID) -> JobState | None:
    rows = await OutboxJob.select(
        OutboxJob.id,
        OutboxJob.actor,
        OutboxJob.attempts,
        OutboxJob.sent_at,
        OutboxJob.done_at,
        OutboxJob.last_error,
    ).where(OutboxJob.id == job_id)
    return JobState(**rows[0]) if rows else None


@dataclasses.dataclass(frozen=True)
class OutboxCounts:
    pending: int
    done: int
    failed: int

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


async def counts() -> OutboxCounts:
    done = await OutboxJob.count().where(OutboxJob.done_at.is_not_null())
    failed = await OutboxJob.count().where(
        OutboxJob.done_at.is_null() & (OutboxJob.attempts >= MAX_ATTEMPTS)
    )
    pending = await OutboxJob.count().where(
        OutboxJob.done_at.is_null() & (OutboxJob.attempts < MAX_ATTEMPTS)
    )
    return OutboxCounts(pending=pending, done=done, failed=failed)


def _job(row: Mapping[str, Any]) -> Job:
    args = row["args"]
    if isinstance(args, str):  # piccolo returns JSON columns as text
        args = json.loads(args)
    return Job(id=row["id"], actor=row["actor"], args=dict(args), attempts=int(row["attempts"]))
