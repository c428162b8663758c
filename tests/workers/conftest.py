"""Fixtures for the job tests: settings with a shared master key, an open runtime,
and child worker processes configured only through ``COACHMATCH_*`` variables."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from matching.config import Settings
from matching.runtime import Runtime, close_runtime, open_runtime
from tests.conftest import make_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def master_key_b64() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def job_settings(data_dir: Path, database_url: str, master_key_b64: str) -> Settings:
    """Settings for job tests: quick sweeps, a queue name no other test uses."""
    return make_settings(
        data_dir,
        database_url=database_url,
        master_key_b64=master_key_b64,
        sweep_interval_seconds=1.0,
        job_lease_seconds=30.0,
        job_queue=f"cmtest_{uuid.uuid4().hex[:12]}",
    )


@pytest.fixture
async def runtime(job_settings: Settings) -> AsyncIterator[Runtime]:
    runtime = await open_runtime(job_settings, migrate=False)
    yield runtime
    await close_runtime(runtime)


def child_env(settings: Settings) -> dict[str, str]:
    """The environment of a child process: the parent's, minus any COACHMATCH_*, plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COACHMATCH_")}
    env.update(
        COACHMATCH_DATA_DIR=str(settings.data_dir),
        COACHMATCH_DATABASE_URL=settings.database_url,
        COACHMATCH_MASTER_KEY=settings.master_key_b64,
        COACHMATCH_BROKER_URL=settings.broker_url,
        COACHMATCH_SMTP_URL=settings.smtp_url,
        COACHMATCH_JOB_QUEUE=settings.job_queue,
        COACHMATCH_JOB_LEASE_SECONDS=str(int(settings.job_lease_seconds)),
        COACHMATCH_SWEEP_INTERVAL_SECONDS=str(int(settings.sweep_interval_seconds)),
        PYTHONUNBUFFERED="1",
    )
    return env


class Children:
    """Starts child processes and makes sure none outlives the test."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], settings: Settings) -> subprocess.Popen[bytes]:
        log_path = self.log_dir / f"child-{len(self.processes)}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, *args],
                cwd=REPO,
                env=child_env(settings),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.processes.append(process)
        return process

    def start_embedded(self, settings: Settings) -> subprocess.Popen[bytes]:
        return self.start(["-m", "workers.embedded_process"], settings)

    def start_cli(self, settings: Settings, *cli_args: str) -> subprocess.Popen[bytes]:
        return self.start(["-m", "web.cli", *cli_args], settings)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
            for path in sorted(self.log_dir.glob("child-*.log"))
        )

    @staticmethod
    def kill9(process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    @staticmethod
    def terminate(process: subprocess.Popen[bytes], timeout: float = 20) -> int:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
            raise

    def cleanup(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Children]:
    kids = Children(tmp_path)
    try:
        yield kids
    finally:
        kids.cleanup()
