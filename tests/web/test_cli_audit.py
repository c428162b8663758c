"""``coachmatch audit verify`` and ``coachmatch journal verify`` as an operator runs them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from piccolo.engine.base import Engine

from matching import audit
from matching.audit import Action
from matching.erasure_journal import ErasureJournal
from tests.matching.test_audit import _bypass_triggers


async def _cli(data_dir: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "COACHMATCH_DATA_DIR": str(data_dir),
        "COACHMATCH_DATABASE_URL": database_url,
    }
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "web.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _messages(done: subprocess.CompletedProcess[str]) -> list[str]:
    """The command's own error lines (log lines from the frame are left out)."""
    return [line for line in done.stderr.splitlines() if line.startswith("coachmatch:")]


async def test_audit_verify_reports_a_good_chain_and_anchors_it(
    database: Engine, database_url: str, data_dir: Path
) -> None:
    done = await _cli(data_dir, database_url, "audit", "verify", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] is True
    for _ in range(3):
        await audit.record("cli", Action.KEYS_ROTATED)
    done = await _cli(data_dir, database_url, "audit", "verify")
    assert done.returncode == 0, done.stderr
    assert "3 entries" in done.stdout
    assert audit.load_anchor(audit.anchor_path(data_dir)) == (await audit.verify_chain()).head


async def test_audit_verify_names_the_first_bad_seq(
    database: Engine, database_url: str, data_dir: Path
) -> None:
    for _ in range(4):
        await audit.record("system", Action.DATA_CHANGED)
    await _bypass_triggers(database, "UPDATE audit_entry SET actor = 'cli' WHERE seq = 2")
    done = await _cli(data_dir, database_url, "audit", "verify", "--json")
    assert done.returncode == 1
    assert _messages(done) == ["coachmatch: the audit log is broken at seq 2: entry was altered"]
    assert json.loads(done.stdout)["first_bad_seq"] == 2


async def test_audit_verify_notices_a_removed_tail_through_its_anchor(
    database: Engine, database_url: str, data_dir: Path
) -> None:
    for _ in range(4):
        await audit.record("system", Action.DATA_CHANGED)
    assert (await _cli(data_dir, database_url, "audit", "verify")).returncode == 0
    await _bypass_triggers(database, "DELETE FROM audit_entry WHERE seq > 2")
    done = await _cli(data_dir, database_url, "audit", "verify")
    assert done.returncode == 1 and "seq 3" in done.stderr
    # After a deliberate rewind (a restore) the operator re-anchors explicitly.
    done = await _cli(data_dir, database_url, "audit", "verify", "--reset-anchor")
    assert done.returncode == 0 and "2 entries" in done.stdout


async def test_journal_verify(database: Engine, database_url: str, data_dir: Path) -> None:
    journal = ErasureJournal(data_dir / "erasure-journal.log")
    for _ in range(2):
        entry = journal.append(uuid.uuid4(), "retention", "system")
        await audit.record(
            "system",
            Action.SUBJECT_ERASED,
            subject_id=entry.subject_id,
            purpose="retention",
            details={"journal_seq": entry.seq},
        )
    done = await _cli(data_dir, database_url, "journal", "verify", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "ok": True,
        "entries": 2,
        "audited_erasures": 2,
        "head_hash": entry.hash,
    }

    data = bytearray(journal.path.read_bytes())
    data[-5] ^= 1  # the second line's last quote becomes "#"
    journal.path.write_bytes(bytes(data))
    done = await _cli(data_dir, database_url, "journal", "verify", "--json")
    assert done.returncode == 1
    assert "line 2" in json.loads(done.stdout)["error"]
    assert _messages(done) == [
        "coachmatch: the erasure journal is broken at line 2: the line is malformed"
    ]

    journal.path.unlink()
    done = await _cli(data_dir, database_url, "journal", "verify")
    assert done.returncode == 1
    assert _messages(done) == [f"coachmatch: the erasure journal is missing: {journal.path}"]
