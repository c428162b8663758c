"""The scheduler on SQLite and PostgreSQL: one lease holder, each slot's job queued once,
and the periodic jobs do their work when they run."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator

import pytest

from matching import filing, operations, outbox, schedule
from matching.config import Settings
from matching.outbox import Job
from matching.runtime import Runtime, close_runtime, open_runtime
from matching.tables import AuditEntry, OutboxJob, ScheduledRun
from workers import actors, backups
from workers.scheduler import run_scheduler, tick

T0 = datetime.datetime(2026, 11, 30, 3, 0, tzinfo=datetime.UTC)


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    runtime = await open_runtime(settings)
    yield runtime
    await close_runtime(runtime)


async def test_the_lease(runtime: Runtime) -> None:
    assert await schedule.take_lease("a", T0, 60)
    assert not await schedule.take_lease("b", T0 + datetime.timedelta(seconds=30), 60)
    assert await schedule.take_lease("a", T0 + datetime.timedelta(seconds=30), 60)  # renewed
    assert not await schedule.take_lease("b", T0 + datetime.timedelta(seconds=80), 60)
    assert await schedule.take_lease("b", T0 + datetime.timedelta(seconds=91), 60)  # lapsed
    await schedule.release_lease("a")  # not a's any more: nothing happens
    assert not await schedule.take_lease("a", T0 + datetime.timedelta(seconds=92), 60)
    await schedule.release_lease("b")
    assert await schedule.take_lease("a", T0 + datetime.timedelta(seconds=93), 60)


async def test_each_slot_is_queued_once_however_many_schedulers_tick(runtime: Runtime) -> None:
    results = await asyncio.gather(*(schedule.queue_due(runtime, T0) for _ in range(5)))
    queued = [slot for slots in results for slot in slots]
    assert sorted(queued) == [
        "backup:2026-11-30",
        "backup_watch:2026-11-30T03:00",
        "expire_requests:2026-11-30T03:00",
        "file_intake:2026-11-30T03:00",
        "retention:2026-11-30",
    ]
    jobs = await OutboxJob.select(OutboxJob.actor, OutboxJob.args).output(load_json=True)
    assert sorted(j["actor"] for j in jobs) == sorted(
        [
            schedule.BACKUP_ACTOR,
            schedule.BACKUP_WATCH_ACTOR,
            schedule.EXPIRE_REQUESTS_ACTOR,
            schedule.FILE_INTAKE_ACTOR,
            schedule.RETENTION_ACTOR,
        ]
    )
    assert {j["args"]["as_of"] for j in jobs} == {"2026-11-30"}
    later = await schedule.queue_due(runtime, T0 + datetime.timedelta(minutes=1))
    # The daily ones wait for tomorrow.
    assert sorted(later) == ["expire_requests:2026-11-30T03:01", "file_intake:2026-11-30T03:01"]
    tomorrow = await schedule.queue_due(runtime, T0 + datetime.timedelta(days=1))
    assert len(tomorrow) == 5
    assert set(await schedule.last_runs()) == {
        "expire_requests",
        "file_intake",
        "retention",
        "backup",
        "backup_watch",
    }


async def test_only_the_lease_holder_queues(runtime: Runtime) -> None:
    first = await tick(runtime, "host-1")
    assert len(first) == len(schedule.TASKS)
    await ScheduledRun.delete(force=True)
    assert await tick(runtime, "host-2") == []  # host-1 holds the lease
    assert len(await tick(runtime, "host-1")) == len(schedule.TASKS)


async def test_the_loop_ticks_and_gives_the_lease_up_when_stopped(runtime: Runtime) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(run_scheduler(runtime, "host-1", stop=stop, tick_seconds=0.05))
    for _ in range(200):
        if await ScheduledRun.count() >= 3:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await task
    assert await ScheduledRun.count() >= 3
    assert await schedule.take_lease("host-2", datetime.datetime.now(datetime.UTC), 60)


async def test_the_periodic_jobs_do_their_work_once(runtime: Runtime) -> None:
    await schedule.queue_due(runtime, T0)
    rows = await OutboxJob.select(OutboxJob.id, OutboxJob.actor, OutboxJob.args).output(
        load_json=True
    )
    jobs = {row["actor"]: Job(row["id"], row["actor"], row["args"], 1) for row in rows}

    await actors._retention_and_complete(
        runtime, jobs[schedule.RETENTION_ACTOR].id, datetime.date(2026, 11, 30)
    )
    await actors._backup_and_complete(runtime, jobs[schedule.BACKUP_ACTOR].id)
    await actors._backup_and_complete(runtime, jobs[schedule.BACKUP_ACTOR].id)  # again: no-op
    await actors._expire_and_complete(runtime, jobs[schedule.EXPIRE_REQUESTS_ACTOR].id)
    await filing.run(runtime, jobs[schedule.FILE_INTAKE_ACTOR].id)
    await operations.alert_admins(runtime, jobs[schedule.BACKUP_WATCH_ACTOR].id, T0)
    for job in jobs.values():
        assert await outbox.is_done(job.id)
    assert len(backups.list_backups(runtime.settings, runtime.vault.keyring)) == 1
    [run] = (
        await AuditEntry.select(AuditEntry.details)
        .where(AuditEntry.action == "retention.run")
        .output(load_json=True)
    )
    assert run["details"]["as_of"] == "2026-11-30" and run["details"]["inactive_subjects"] == 0


async def test_a_backup_job_delivered_again_after_its_backup_makes_no_second(
    runtime: Runtime,
) -> None:
    async with outbox.unit_of_work(runtime):
        job_id = await outbox.enqueue(schedule.BACKUP_ACTOR)
    # The first delivery made its backup and died before completing the job.
    await backups.create_backup(runtime.settings, runtime.vault.keyring, job_id=job_id)
    assert await backups.made_by_job(job_id)
    await actors._backup_and_complete(runtime, job_id)
    assert await outbox.is_done(job_id)
    assert len(backups.list_backups(runtime.settings, runtime.vault.keyring)) == 1


async def test_a_long_job_keeps_its_lease(runtime: Runtime) -> None:
    async with outbox.unit_of_work(runtime):
        job_id = await outbox.enqueue(schedule.BACKUP_ACTOR)
    await outbox.begin_attempt(job_id)
    async with outbox.lease_kept(job_id, every_seconds=0.05):
        await asyncio.sleep(2.5)  # far longer than the lease of 1 s
        assert job_id not in await outbox.due_for_resend(outbox.lease_cutoff(1.0))
    await asyncio.sleep(1.2)  # no longer kept: due again
    assert job_id in await outbox.due_for_resend(outbox.lease_cutoff(1.0))
