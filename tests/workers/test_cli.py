"""``coachmatch worker`` and ``coachmatch jobs``, run as real processes."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from uuid import UUID

from matching import diagnostics, health, outbox
from matching.config import Settings
from matching.runtime import Runtime
from tests.conftest import make_settings
from tests.workers.conftest import REPO, Children, child_env
from tests.workers.waiting import wait_for


def coachmatch(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "web.cli", *args],
        cwd=REPO,
        env=child_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_worker_without_a_broker_says_so_and_exits_2(data_dir: Path) -> None:
    result = coachmatch(make_settings(data_dir), "worker")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "coachmatch: no COACHMATCH_BROKER_URL: embedded workers run inside `coachmatch run`"
    ]


async def test_probe_without_a_running_worker_leaves_the_job_queued(
    runtime: Runtime, job_settings: Settings
) -> None:
    result = coachmatch(job_settings, "jobs", "probe", "--json")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["done"] is False
    assert "no worker is running" in result.stderr and "coachmatch run" in result.stderr
    state = await outbox.job_state(UUID(output["job_id"]))
    assert state is not None and not state.done

    no_wait = json.loads(coachmatch(job_settings, "jobs", "probe", "--no-wait", "--json").stdout)
    assert no_wait["done"] is False
    status = coachmatch(job_settings, "jobs", "status", "--json")
    assert json.loads(status.stdout) == {"pending": 2, "done": 0, "failed": 0, "workers_alive": 0}


async def test_probe_waits_for_a_running_embedded_worker(
    runtime: Runtime, job_settings: Settings, children: Children
) -> None:
    worker = children.start_embedded(job_settings)
    try:
        await wait_for(health.workers_alive, timeout=30, what="the worker's heartbeat")
        result = coachmatch(job_settings, "jobs", "probe", "--json", "--timeout", "30")
        assert result.returncode == 0, result.stderr + children.logs()
        output = json.loads(result.stdout)
        assert output["done"] is True
        [outcome] = await diagnostics.probe_outcomes(UUID(output["job_id"]))
        assert outcome.runs == 1
        assert Children.terminate(worker) == 0, children.logs()  # SIGTERM: a clean stop
        assert await health.workers_alive() == 0
    finally:
        if worker.poll() is None:
            Children.kill9(worker)


def test_worker_with_an_unreachable_broker_is_a_one_line_error(data_dir: Path) -> None:
    settings = dataclasses.replace(
        make_settings(data_dir), broker_url="redis://:sekrit@127.0.0.1:1/0"
    )
    result = coachmatch(settings, "worker")
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("coachmatch: cannot reach the broker at 127.0.0.1:1 (")
    assert "sekrit" not in line


def test_bad_probe_arguments_are_one_line_errors(data_dir: Path) -> None:
    settings = make_settings(data_dir)
    result = coachmatch(settings, "jobs", "probe", "--work-seconds", "99")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "coachmatch: work_seconds must be between 0 and 60"
    ]
    result = coachmatch(settings, "worker", "--threads", "0")
    assert result.returncode == 2 and "at least 1" in result.stderr
