"""``coachmatch run`` on a fresh data folder, and its one-line errors."""

from __future__ import annotations

import gc
import os
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from web.cli.serve import YOUNG_COLLECTION_THRESHOLD, settle_heap

pytestmark = pytest.mark.slow

COACHMATCH = [sys.executable, "-m", "web.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COACHMATCH_")}
    env["COACHMATCH_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    data_dir = tmp_path / "fresh" / "var"  # does not exist yet
    port = free_port()
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [*COACHMATCH, "run", "--port", str(port)],
        env=clean_env(data_dir, COACHMATCH_SWEEP_INTERVAL_SECONDS="1"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                raise AssertionError((tmp_path / "server.log").read_text())
            try:
                status, _, _ = get(base + "/health")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server did not become healthy within 60 s")
            time.sleep(0.2)
        yield base, data_dir, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_run_on_a_fresh_checkout_creates_data_key_and_database(
    server: tuple[str, Path, subprocess.Popen[bytes]],
) -> None:
    base, data_dir, _ = server
    key = data_dir / "master.key"
    assert key.exists()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert (data_dir / "coachmatch.sqlite3").exists()
    status, headers, body = get(base + "/health")
    assert status == 200
    assert b'"workers"' in body
    status, headers, _ = get(base + "/")
    assert status == 200
    assert "Set-Cookie" not in headers


def test_port_in_use_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = subprocess.run(
            [*COACHMATCH, "run", "--port", str(port)],
            env=clean_env(tmp_path / "var"),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"coachmatch: port {port} on 127.0.0.1 is already in use"
    ]


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"COACHMATCH_DATABASE_URL": "mysql://db/x"}, "COACHMATCH_DATABASE_URL"),
        ({"COACHMATCH_BROKER_URL": "kafka://x"}, "COACHMATCH_BROKER_URL"),
        ({"COACHMATCH_MASTER_KEY": "not base64!"}, "COACHMATCH_MASTER_KEY"),
    ],
)
def test_bad_configuration_is_a_one_line_error(
    tmp_path: Path, extra: dict[str, str], fragment: str
) -> None:
    result = subprocess.run(
        [*COACHMATCH, "migrate"],
        env=clean_env(tmp_path / "var", **extra),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("coachmatch: ")
    assert fragment in lines[0]


def test_unreadable_key_file_is_a_one_line_error(tmp_path: Path) -> None:
    key_file = tmp_path / "garbled.key"
    key_file.write_text("this is not a key\n")
    key_file.chmod(0o600)
    result = subprocess.run(
        [*COACHMATCH, "migrate"],
        env=clean_env(tmp_path / "var", COACHMATCH_MASTER_KEY_FILE=str(key_file)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "key" in lines[0].lower()


async def test_start_up_objects_are_left_out_of_later_full_collections() -> None:
    threshold = gc.get_threshold()
    try:
        await settle_heap()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == YOUNG_COLLECTION_THRESHOLD
        assert gc.get_threshold()[1:] == threshold[1:]
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
