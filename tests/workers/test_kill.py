"""kill -9 a worker process mid-job: after a restart the job runs to exactly one effect.

Embedded mode (in-memory queue, ``python -m workers.embedded_process``) and Redis
(``coachmatch worker``); RabbitMQ: a probe goes through ``coachmatch worker`` and
``coachmatch jobs probe``. Children get their settings from the environment only.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from uuid import UUID

import pytest

from matching import diagnostics, health, outbox
from matching.config import Settings
from matching.runtime import Runtime
from tests.conftest import (
    POSTGRES_URL,
    RABBITMQ_URL,
    REDIS_URL,
    requires_rabbitmq,
    requires_redis,
)
from tests.workers.conftest import REPO, Children, child_env
from tests.workers.waiting import wait_for
from workers.host import BrokerLink

WORK_SECONDS = 2

pytestmark = pytest.mark.slow


async def _started(job_id: UUID) -> bool:
    state = await outbox.job_state(job_id)
    return state is not None and state.attempts > 0


async def _done(job_id: UUID) -> bool:
    return await outbox.is_done(job_id)


async def _kill_mid_job_then_restart(
    children: Children, runtime: Runtime, job_id: UUID, start: object
) -> None:
    """Wait until the job started in the first child, kill -9 it, check no effect, restart."""
    first = start()  # type: ignore[operator]
    try:
        await wait_for(lambda: _started(job_id), timeout=30, what="the job to start")
    except AssertionError:
        raise AssertionError(children.logs()) from None
    Children.kill9(first)
    assert await diagnostics.probe_outcomes(job_id) == []
    assert not await outbox.is_done(job_id)

    start()  # type: ignore[operator]
    try:
        await wait_for(lambda: _done(job_id), timeout=45, what="the job after restart")
    except AssertionError:
        raise AssertionError(children.logs()) from None
    [outcome] = await diagnostics.probe_outcomes(job_id)
    assert outcome.runs == 1
    state = await outbox.job_state(job_id)
    assert state is not None and state.attempts >= 2


async def test_kill_9_embedded_worker_mid_job(
    runtime: Runtime, job_settings: Settings, children: Children
) -> None:
    # Nothing is dispatched from here: the child's sweeper finds the committed job.
    async with outbox.unit_of_work(runtime):
        job_id = await diagnostics.enqueue_probe(work_seconds=WORK_SECONDS)

    await _kill_mid_job_then_restart(
        children, runtime, job_id, lambda: children.start_embedded(job_settings)
    )
    state = await outbox.job_state(job_id)
    # Run 1 died with the first process; the restart re-sent it at once (run 2).
    assert state is not None and state.attempts == 2


def _scaled_out_database(request: pytest.FixtureRequest) -> None:
    """External brokers run against PostgreSQL when it is there (the scaled-out set-up);
    only without it do they use SQLite. One database each keeps the suite quick."""
    if request.node.callspec.params.get("database") == "sqlite" and POSTGRES_URL:
        pytest.skip("external-broker tests run on PostgreSQL when it is available")


@pytest.fixture
def redis_settings(job_settings: Settings, request: pytest.FixtureRequest) -> Iterator[Settings]:
    """Redis from COACHMATCH_TEST_REDIS_URL, under a namespace only this test uses."""
    if not REDIS_URL:
        pytest.skip("set COACHMATCH_TEST_REDIS_URL to run Redis tests")
    _scaled_out_database(request)
    import redis

    settings = dataclasses.replace(job_settings, broker_url=REDIS_URL, job_lease_seconds=3.0)
    yield settings
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{settings.job_queue}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@requires_redis
async def test_kill_9_redis_worker_mid_job(
    redis_settings: Settings, runtime: Runtime, children: Children
) -> None:
    runtime.settings = redis_settings
    link = BrokerLink(runtime)
    await link.start()
    try:
        async with outbox.unit_of_work(runtime):
            job_id = await diagnostics.enqueue_probe(work_seconds=WORK_SECONDS)
        state = await outbox.job_state(job_id)
        assert state is not None and state.sent_at is not None  # sent through Redis
        await _kill_mid_job_then_restart(
            children, runtime, job_id, lambda: children.start_cli(redis_settings, "worker")
        )
    finally:
        await link.stop()
        for process in children.processes:
            if process.poll() is None:
                Children.terminate(process)


@pytest.fixture
def rabbitmq_settings(job_settings: Settings, request: pytest.FixtureRequest) -> Iterator[Settings]:
    if not RABBITMQ_URL:
        pytest.skip("set COACHMATCH_TEST_RABBITMQ_URL to run RabbitMQ tests")
    _scaled_out_database(request)
    import pika

    settings = dataclasses.replace(job_settings, broker_url=RABBITMQ_URL)
    yield settings
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    try:
        channel = connection.channel()
        for suffix in ("", ".DQ", ".XQ"):
            channel.queue_delete(settings.job_queue + suffix)
    finally:
        connection.close()


@requires_rabbitmq
async def test_a_probe_runs_once_through_rabbitmq(
    rabbitmq_settings: Settings, runtime: Runtime, children: Children
) -> None:
    worker = children.start_cli(rabbitmq_settings, "worker")
    try:
        # `jobs probe` waits only when a worker beats: let the worker come up first.
        await wait_for(health.workers_alive, timeout=30, what="the worker's heartbeat")
        probe = subprocess.run(
            [sys.executable, "-m", "web.cli", "jobs", "probe", "--json", "--timeout", "30"],
            cwd=REPO,
            env=child_env(rabbitmq_settings),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert probe.returncode == 0, probe.stderr + children.logs()
        result = json.loads(probe.stdout)
        assert result["done"] is True
        job_id = UUID(result["job_id"])
        [outcome] = await diagnostics.probe_outcomes(job_id)
        assert outcome.runs == 1
        assert Children.terminate(worker) == 0, children.logs()
    finally:
        if worker.poll() is None:
            Children.kill9(worker)
