"""``coachmatch coach create`` and ``coachmatch admin create`` as an operator runs them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest
from piccolo.engine.base import Engine

from matching import db
from matching.tables import Admin, Coach

PASSWORD = "a password of some length"


async def _cli(
    data_dir: Path, database_url: str, *args: str, stdin: str = PASSWORD + "\n"
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "COACHMATCH_DATA_DIR": str(data_dir),
        "COACHMATCH_DATABASE_URL": database_url,
    }
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "web.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _errors(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("coachmatch:")]


async def test_coach_create_prints_id_and_secret(
    database: Engine, database_url: str, data_dir: Path
) -> None:
    done = await _cli(
        data_dir,
        database_url,
        "coach",
        "create",
        "--email",
        "new.coach@example.org",
        "--name",
        "New Coach",
        "--topics",
        "carriereswitch, burn-out",
        "--regions",
        "utrecht",
        "--languages",
        "nl,en",
        "--password-stdin",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    result = json.loads(line)
    assert set(result) >= {"id", "totp_secret"}
    assert result["totp_required"] is False
    db.bind(database)  # the subprocess bound nothing here, but be explicit
    [row] = await Coach.select().where(Coach.id == UUID(result["id"])).output(load_json=True)
    assert row["topics"] == ["carriereswitch", "burn-out"] and row["languages"] == ["nl", "en"]
    assert PASSWORD not in done.stdout + done.stderr


async def test_admin_create(database: Engine, database_url: str, data_dir: Path) -> None:
    done = await _cli(
        data_dir,
        database_url,
        "admin",
        "create",
        "--email",
        "privacy@example.org",
        "--name",
        "Privacy Officer",
        "--password-stdin",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert len(result["totp_secret"]) == 32 and result["totp_required"] is True
    assert await Admin.count().where(Admin.id == UUID(result["id"])) == 1


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("--email", "nope"), PASSWORD + "\n", "coachmatch: the e-mail address is not valid"),
        (
            ("--email", "ok@example.org"),
            "short\n",
            "coachmatch: the password must have at least 12 characters",
        ),
        (("--email", "ok@example.org"), "", "coachmatch: no password on standard input"),
    ],
)
async def test_one_line_errors(
    database: Engine,
    database_url: str,
    data_dir: Path,
    args: tuple[str, ...],
    stdin: str,
    message: str,
) -> None:
    done = await _cli(
        data_dir, database_url, "admin", "create", *args, "--password-stdin", stdin=stdin
    )
    assert done.returncode == 1
    assert _errors(done) == [message]
    assert "Traceback" not in done.stderr


async def test_password_stdin_is_required(
    database: Engine, database_url: str, data_dir: Path
) -> None:
    done = await _cli(data_dir, database_url, "admin", "create", "--email", "a@example.org")
    assert done.returncode == 1
    assert _errors(done) == [
        "coachmatch: pass the password on standard input with --password-stdin"
    ]


async def test_a_duplicate_is_one_line(database: Engine, database_url: str, data_dir: Path) -> None:
    args = (
        "coach",
        "create",
        "--email",
        "twice@example.org",
        "--name",
        "Twice",
        "--password-stdin",
    )
    assert (await _cli(data_dir, database_url, *args)).returncode == 0
    again = await _cli(data_dir, database_url, *args)
    assert again.returncode == 1
    assert _errors(again) == ["coachmatch: a coach account with this e-mail address exists already"]
