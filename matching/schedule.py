"""The periodic tasks, and the two guarantees that keep them single.

Every task has a period (a minute, a day) and an actor. Each period is a *slot*
(``retention:2026-11-30``). When the scheduler finds a slot without its row in
:class:`~matching.tables.ScheduledRun`, it inserts the row and queues the task's
job in one transaction: the primary key refuses a second row, so a slot's job is
queued once, however many schedulers tick. The outbox delivers it (again after a
crash) and the actors are idempotent, so a task killed mid-run finishes on its
next delivery.

Only one process is the scheduler at a time: it holds the lease in
:class:`~matching.tables.SchedulerLease` (taken with a conditional update, renewed
on every tick, free for another process once it lapses).
"""

from __future__ import annotations

import dataclasses
import datetime
from uuid import UUID

from matching import db, outbox
from matching.runtime import Runtime
from matching.tables import ScheduledRun, SchedulerLease

LEASE_NAME = "scheduler"
EXPIRE_REQUESTS_ACTOR = "expire_requests"
FILE_INTAKE_ACTOR = "file_intake"  # matching.intake.FILE_ACTOR
RETENTION_ACTOR = "run_retention"
BACKUP_ACTOR = "daily_backup"
BACKUP_WATCH_ACTOR = "watch_backups"
BACKUP_TASK = "backup"


@dataclasses.dataclass(frozen=True)
class Task:
    name: str
    actor: str
    period: datetime.timedelta

    def slot(self, now: datetime.datetime) -> str:
        """The slot ``now`` falls in: its start (UTC), to the minute or the day."""
        utc = now.astimezone(datetime.UTC)
        if self.period >= datetime.timedelta(days=1):
            return f"{self.name}:{utc:%Y-%m-%d}"
        start = utc - (utc - _EPOCH) % self.period
        return f"{self.name}:{start:%Y-%m-%dT%H:%M}"


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


TASKS = (
    Task("expire_requests", EXPIRE_REQUESTS_ACTOR, datetime.timedelta(minutes=1)),
    # Every submission queues its filing; this one files what a lost job left behind.
    Task("file_intake", FILE_INTAKE_ACTOR, datetime.timedelta(minutes=1)),
    Task("retention", RETENTION_ACTOR, datetime.timedelta(days=1)),
    Task(BACKUP_TASK, BACKUP_ACTOR, datetime.timedelta(days=1)),
    # Mails the admins while a backup fails or is overdue (matching.operations).
    Task("backup_watch", BACKUP_WATCH_ACTOR, datetime.timedelta(hours=1)),
)


async def take_lease(holder: str, now: datetime.datetime, seconds: float) -> bool:
    """Become (or stay) the scheduler until ``now + seconds``; ``False`` if another is."""
    until = now + datetime.timedelta(seconds=seconds)
    async with db.write_transaction():
        renewed = (
            await SchedulerLease.update(
                {SchedulerLease.holder: holder, SchedulerLease.expires_at: until}
            )
            .where(
                (SchedulerLease.name == LEASE_NAME)
                & ((SchedulerLease.holder == holder) | (SchedulerLease.expires_at < now))
            )
            .returning(SchedulerLease.holder)
        )
        if renewed:
            return True
        if await SchedulerLease.exists().where(SchedulerLease.name == LEASE_NAME):
            return False
    try:
        await SchedulerLease.insert(
            SchedulerLease(name=LEASE_NAME, holder=holder, expires_at=until)
        )
    except Exception as exc:
        if db.is_unique_violation(exc):
            return False  # another process took it a moment ago
        raise
    return True


async def release_lease(holder: str) -> None:
    await SchedulerLease.delete().where(
        (SchedulerLease.name == LEASE_NAME) & (SchedulerLease.holder == holder)
    )


async def queue_due(runtime: Runtime, now: datetime.datetime) -> list[str]:
    """Queue the job of every task whose current slot has none yet; the slots queued."""
    queued = []
    for task in TASKS:
        slot = task.slot(now)
        if await ScheduledRun.exists().where(ScheduledRun.slot == slot):
            continue
        if await _queue(runtime, task, slot, now):
            queued.append(slot)
    return queued


async def _queue(runtime: Runtime, task: Task, slot: str, now: datetime.datetime) -> bool:
    try:
        async with outbox.unit_of_work(runtime):
            job_id = await outbox.enqueue(task.actor, as_of=now.date().isoformat())
            await ScheduledRun.insert(
                ScheduledRun(slot=slot, task=task.name, job_id=job_id, created_at=now)
            )
    except Exception as exc:
        if db.is_unique_violation(exc):
            return False  # another scheduler queued this slot a moment ago
        raise
    return True


async def last_runs() -> dict[str, tuple[datetime.datetime, UUID]]:
    """The latest slot of every task, for the admin's overview."""
    found: dict[str, tuple[datetime.datetime, UUID]] = {}
    for task in TASKS:
        rows = (
            await ScheduledRun.select(ScheduledRun.created_at, ScheduledRun.job_id)
            .where(ScheduledRun.task == task.name)
            .order_by(ScheduledRun.created_at, ascending=False)
            .limit(1)
        )
        if rows:
            found[task.name] = (rows[0]["created_at"], rows[0]["job_id"])
    return found
