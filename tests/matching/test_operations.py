"""The backup watch: admins are mailed while a backup fails or is overdue, once a day
while it lasts, and never about a new site whose first backup is not yet due."""

from __future__ import annotations

import datetime
from uuid import UUID, uuid4

import time_machine

from matching import accounts, audit, notifications, operations, outbox, schedule
from matching.runtime import Runtime
from matching.tables import Admin, OutboxJob, ScheduledRun

T0 = datetime.datetime(2026, 11, 30, 3, 0, tzinfo=datetime.UTC)
HOUR = datetime.timedelta(hours=1)


async def new_job(runtime: Runtime, actor: str) -> UUID:
    async with outbox.unit_of_work(runtime):
        return await outbox.enqueue(actor)


async def watch(runtime: Runtime, now: datetime.datetime, job_id: UUID | None = None) -> int:
    """One run of the hourly watch, at ``now``; how many admins it mailed."""
    with time_machine.travel(now, tick=False):
        job_id = job_id or await new_job(runtime, schedule.BACKUP_WATCH_ACTOR)
        return await operations.alert_admins(runtime, job_id, now)


async def alerts_queued() -> list[str]:
    """The subject ids the queued backup alerts go to."""
    rows = (
        await OutboxJob.select(OutboxJob.args)
        .where(OutboxJob.actor == notifications.SEND_MAIL_ACTOR)
        .output(load_json=True)
    )
    return [r["args"]["subject_id"] for r in rows if r["args"]["template"] == "backup_alert"]


async def backup_made(at: datetime.datetime) -> None:
    with time_machine.travel(at, tick=False):
        await audit.record("system", audit.Action.BACKUP_CREATED, purpose="backup")


async def admin(runtime: Runtime, email: str) -> str:
    admin_id, _ = await accounts.create_admin(runtime, email=email, password="a long passphrase")
    [row] = await Admin.select(Admin.subject_id).where(Admin.id == admin_id)
    return str(row["subject_id"])


async def test_a_failing_backup_mails_every_active_admin_once_a_day(runtime: Runtime) -> None:
    first = await admin(runtime, "a@example.org")
    second = await admin(runtime, "b@example.org")
    gone = await admin(runtime, "c@example.org")
    await Admin.update({Admin.active: False}).where(Admin.subject_id == UUID(gone))
    await backup_made(T0 - HOUR)
    assert await watch(runtime, T0) == 0  # all is well
    with time_machine.travel(T0, tick=False):
        failed = await new_job(runtime, schedule.BACKUP_ACTOR)
    await outbox.record_failure(failed, "BackupFailed")

    assert await watch(runtime, T0 + HOUR) == 2
    assert sorted(await alerts_queued()) == sorted([first, second])
    [entry] = await audit.latest(audit.Action.BACKUP_ALERT)
    assert entry.details == {"reason": "failing", "admins": 2}

    assert await watch(runtime, T0 + 2 * HOUR) == 0  # mailed an hour ago: not again yet
    assert await watch(runtime, T0 + 25 * HOUR) == 2  # still failing a day later
    await backup_made(T0 + 25 * HOUR + 10 * datetime.timedelta(minutes=1))  # made good
    assert await watch(runtime, T0 + 50 * HOUR) == 0
    assert len(await alerts_queued()) == 4


async def test_an_overdue_backup_is_an_alert_a_new_site_is_not(runtime: Runtime) -> None:
    await admin(runtime, "a@example.org")
    assert await watch(runtime, T0) == 0  # no backup ever, and none was due
    await ScheduledRun.insert(
        ScheduledRun(slot="backup:2026-11-30", task="backup", job_id=uuid4(), created_at=T0)
    )
    assert await watch(runtime, T0 + 25 * HOUR) == 0  # the first one is not overdue yet
    assert await watch(runtime, T0 + 27 * HOUR) == 1
    [entry] = await audit.latest(audit.Action.BACKUP_ALERT)
    assert entry.details["reason"] == "overdue"

    await backup_made(T0 + 28 * HOUR)
    assert await watch(runtime, T0 + 52 * HOUR) == 0  # a day after the alert: all is well
    assert await watch(runtime, T0 + 55 * HOUR) == 1  # overdue again


async def test_a_second_delivery_of_the_watch_mails_nobody(runtime: Runtime) -> None:
    await admin(runtime, "a@example.org")
    await backup_made(T0 - 30 * HOUR)
    job_id = await new_job(runtime, schedule.BACKUP_WATCH_ACTOR)
    assert await watch(runtime, T0, job_id) == 1
    assert await watch(runtime, T0 + 30 * HOUR, job_id) == 0  # the job is done
    assert len(await alerts_queued()) == 1


async def test_the_watch_runs_every_hour() -> None:
    [task] = [t for t in schedule.TASKS if t.actor == schedule.BACKUP_WATCH_ACTOR]
    assert task.slot(T0 + 59 * datetime.timedelta(minutes=1)) == "backup_watch:2026-11-30T03:00"
    assert task.slot(T0 + HOUR) == "backup_watch:2026-11-30T04:00"


async def test_a_new_failure_soon_after_one_made_good_is_told_at_once(runtime: Runtime) -> None:
    await admin(runtime, "a@example.org")
    await backup_made(T0 - 30 * HOUR)
    assert await watch(runtime, T0) == 1  # overdue
    await backup_made(T0 + HOUR)  # made good
    with time_machine.travel(T0 + 2 * HOUR, tick=False):
        failed = await new_job(runtime, schedule.BACKUP_ACTOR)
    await outbox.record_failure(failed, "BackupFailed")
    assert await watch(runtime, T0 + 3 * HOUR) == 1  # a new problem: not held back


async def test_without_admins_nothing_is_recorded_and_the_first_admin_hears(
    runtime: Runtime,
) -> None:
    await backup_made(T0 - 30 * HOUR)
    assert await watch(runtime, T0) == 0
    assert await audit.latest(audit.Action.BACKUP_ALERT) == []
    await admin(runtime, "a@example.org")
    assert await watch(runtime, T0 + HOUR) == 1
