"""Worker heartbeats as ``/health`` sees them."""

from __future__ import annotations

import asyncio
import datetime

from matching import health
from matching.tables import WorkerHeartbeat
from tests.workers.waiting import wait_for
from workers.heartbeat import new_worker_id, run_heartbeat


async def test_only_recent_heartbeats_count(database: object) -> None:
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    await WorkerHeartbeat.insert(WorkerHeartbeat(worker_id="redis-gone", seen_at=old, mode="redis"))
    assert await health.workers_alive() == 0
    await health.beat("redis-here", "redis")
    await health.beat("redis-here", "redis")  # an upsert, not a second row
    assert await health.workers_alive() == 1
    assert await health.workers_alive(within_seconds=600) == 2


async def test_stale_rows_are_pruned(database: object) -> None:
    ancient = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    await WorkerHeartbeat.insert(
        WorkerHeartbeat(worker_id="embedded-crashed", seen_at=ancient, mode="embedded")
    )
    await health.prune()
    assert await WorkerHeartbeat.count() == 0


async def test_a_running_heartbeat_is_alive_until_stopped(database: object) -> None:
    stop = asyncio.Event()
    worker_id = new_worker_id("embedded")
    task = asyncio.create_task(
        run_heartbeat(worker_id, "embedded", stop=stop, interval_seconds=0.05)
    )
    try:
        await wait_for(health.workers_alive, timeout=5, what="a heartbeat")
        first = await WorkerHeartbeat.select(WorkerHeartbeat.seen_at).first()
        await asyncio.sleep(0.2)
        later = await WorkerHeartbeat.select(WorkerHeartbeat.seen_at).first()
        assert first is not None and later is not None
        assert later["seen_at"] > first["seen_at"]  # it keeps beating
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
    assert await health.workers_alive() == 0
    assert worker_id.startswith("embedded-") and len(worker_id) <= 64
