"""Embedded workers in this process: jobs run once, duplicates have no second effect,
the relay never sends what was rolled back, and the sweeper sends what was left."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import AsyncIterator
from uuid import UUID

import pytest

from matching import diagnostics, health, outbox
from matching.runtime import Runtime, leave_for_sweeper
from matching.tables import OutboxJob, ProbeResult
from tests.workers.waiting import wait_for
from workers.embedded import EmbeddedWorkers
from workers.host import BrokerLink
from workers.lifecycle import attach_workers
from workers.relay import job_message


@pytest.fixture
async def workers(runtime: Runtime) -> AsyncIterator[EmbeddedWorkers]:
    host = EmbeddedWorkers(runtime)
    await host.start()
    try:
        yield host
    finally:
        await host.stop()


async def _done(job_id: UUID) -> bool:
    return await outbox.is_done(job_id)


async def _all_done(job_ids: list[UUID]) -> bool:
    return all([await outbox.is_done(job_id) for job_id in job_ids])


async def test_a_probe_job_runs_once(runtime: Runtime, workers: EmbeddedWorkers) -> None:
    async with outbox.unit_of_work(runtime):
        job_id = await diagnostics.enqueue_probe()
    await wait_for(lambda: _done(job_id), timeout=10, what="the probe job")
    [outcome] = await diagnostics.probe_outcomes(job_id)
    assert outcome.runs == 1
    state = await outbox.job_state(job_id)
    assert state is not None and state.attempts == 1 and state.last_error is None


async def test_a_duplicate_delivery_has_no_second_effect(
    runtime: Runtime, workers: EmbeddedWorkers
) -> None:
    async with outbox.unit_of_work(runtime):
        job_id = await diagnostics.enqueue_probe(work_seconds=1)
    job = outbox.Job(id=job_id, actor=diagnostics.PROBE_ACTOR, args={})
    message = job_message(runtime.settings.job_queue, job)
    workers.broker.enqueue(message)  # the same job twice more, while the first runs
    workers.broker.enqueue(message)
    # Wait until all three deliveries are processed (join raises if one failed).
    await asyncio.to_thread(workers.broker.join, runtime.settings.job_queue, timeout=15_000)
    assert await outbox.is_done(job_id)
    [outcome] = await diagnostics.probe_outcomes(job_id)
    assert outcome.runs == 1
    assert await ProbeResult.count() == 1


async def test_a_rolled_back_job_never_runs(runtime: Runtime, workers: EmbeddedWorkers) -> None:
    with pytest.raises(LookupError):
        async with outbox.unit_of_work(runtime):
            await diagnostics.enqueue_probe()
            raise LookupError("changed my mind")
    async with outbox.unit_of_work(runtime):
        marker = await diagnostics.enqueue_probe()
    await wait_for(lambda: _done(marker), timeout=10, what="the later job")
    assert await OutboxJob.count() == 1
    assert await ProbeResult.count() == 1


async def test_jobs_committed_without_a_worker_run_when_workers_start(
    runtime: Runtime,
) -> None:
    runtime.dispatch = leave_for_sweeper
    async with outbox.unit_of_work(runtime):
        job_ids = [await diagnostics.enqueue_probe() for _ in range(3)]
    host = EmbeddedWorkers(runtime)
    await host.start()
    try:
        await wait_for(lambda: _all_done(job_ids), timeout=10, what="pending jobs")
    finally:
        await host.stop()
    assert await ProbeResult.count() == 3


async def test_a_job_for_an_unknown_actor_is_marked_failed(
    runtime: Runtime, workers: EmbeddedWorkers
) -> None:
    async with outbox.unit_of_work(runtime):
        job_id = await outbox.enqueue("no_such_actor")
    state = await outbox.job_state(job_id)
    assert state is not None and state.failed and state.last_error == "UnknownActor"
    assert (await outbox.counts()).failed == 1


async def test_the_heartbeat_is_visible_while_workers_run(runtime: Runtime) -> None:
    host = EmbeddedWorkers(runtime)
    await host.start()
    try:
        await wait_for(health.workers_alive, timeout=5, what="a heartbeat")
    finally:
        await host.stop()
    assert await health.workers_alive() == 0  # a clean stop removes the row at once


@pytest.mark.parametrize("broker_url", ["", "redis://127.0.0.1:6379/0"])
async def test_the_app_hooks_take_no_arguments(runtime: Runtime, broker_url: str) -> None:
    # Litestar passes the app to a start-up or shut-down hook that takes any parameter.
    runtime.settings = dataclasses.replace(runtime.settings, broker_url=broker_url)
    attached = attach_workers(runtime)
    assert isinstance(attached, EmbeddedWorkers if not broker_url else BrokerLink)
    for hook in (attached.start, attached.stop):
        assert inspect.signature(hook).parameters == {}
