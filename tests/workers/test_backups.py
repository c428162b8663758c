"""Backups on SQLite and PostgreSQL: sealed with their own key, listed, read back, pruned."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from matching import backup_keys, db, subjects
from matching.config import Settings
from matching.durable import exclusive_lock
from matching.errors import BackupFailed, NotFound
from matching.key_rotation import rotate_master_key
from matching.runtime import Runtime, close_runtime, open_runtime
from matching.tables import Subject
from workers import backups

NOW = datetime.datetime(2026, 11, 30, 3, 0, tzinfo=datetime.UTC)


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    runtime = await open_runtime(settings)
    yield runtime
    await close_runtime(runtime)


async def make_backup(runtime: Runtime, at: datetime.datetime = NOW) -> backups.Manifest:
    return await backups.create_backup(runtime.settings, runtime.vault.keyring, now=at)


def restored_content(runtime: Runtime, backup_id: str) -> bytes:
    return b"".join(backups.read_backup(runtime.settings, runtime.vault.keyring, backup_id))


def private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


async def test_a_backup_is_sealed_apart_from_its_key_and_reads_back(
    runtime: Runtime, tmp_path: Path
) -> None:
    for n in range(3):
        await subjects.create_subject(
            runtime.vault, "candidate", name=f"Probe {n}", email=f"probe{n}@example.org"
        )
    manifest = await make_backup(runtime)
    folders = backups.Folders.of(runtime.settings)
    sealed, key = folders.sealed(manifest.id), folders.key(manifest.id)
    assert sealed.parent == runtime.settings.effective_backup_dir
    assert key.parent != sealed.parent  # a copy of the backup folder alone is unreadable
    assert all(private(p) for p in (sealed, key, folders.manifest(manifest.id)))
    assert manifest.kek_id == runtime.vault.keyring.current.kek_id
    assert manifest.schema_version == await db.schema_version() != "none"
    assert manifest.sealed_bytes == sealed.stat().st_size
    assert b"Probe" not in sealed.read_bytes()

    content = restored_content(runtime, manifest.id)
    assert len(content) == manifest.plain_bytes
    if manifest.database == "sqlite":
        copy = tmp_path / "copy.sqlite3"
        copy.write_bytes(content)
        with sqlite3.connect(copy) as restored:
            [(count,)] = restored.execute("SELECT COUNT(*) FROM data_subject").fetchall()
            [(check,)] = restored.execute("PRAGMA integrity_check").fetchall()
        assert count == await Subject.count() and check == "ok"
    else:
        assert manifest.content == "pg_dump-custom" and content.startswith(b"PGDMP")

    [state] = backups.list_backups(runtime.settings, runtime.vault.keyring)
    assert state.ok and state.manifest == manifest


async def test_a_damaged_or_keyless_backup_is_reported_not_trusted(runtime: Runtime) -> None:
    manifest = await make_backup(runtime)
    folders = backups.Folders.of(runtime.settings)
    sealed = folders.sealed(manifest.id)
    data = bytearray(sealed.read_bytes())
    data[len(data) // 2] ^= 0x01
    sealed.write_bytes(bytes(data))
    with pytest.raises(BackupFailed, match="damaged"):
        restored_content(runtime, manifest.id)

    folders.key(manifest.id).unlink()
    [state] = backups.list_backups(runtime.settings, runtime.vault.keyring)
    assert state.status == "key missing"
    with pytest.raises(NotFound):
        restored_content(runtime, manifest.id)
    sealed.unlink()
    [state] = backups.list_backups(runtime.settings, runtime.vault.keyring)
    assert state.status == "file missing"
    with pytest.raises(NotFound):
        restored_content(runtime, "../../etc/passwd")


async def test_prune_destroys_what_is_older_than_14_days_key_first(runtime: Runtime) -> None:
    old = await make_backup(runtime, NOW - datetime.timedelta(days=14, minutes=1))
    kept = await make_backup(runtime, NOW - datetime.timedelta(days=13, hours=23))
    folders = backups.Folders.of(runtime.settings)
    assert backups.prune_backups(runtime.settings, now=NOW) == [old.id]
    for path in (folders.key(old.id), folders.sealed(old.id), folders.manifest(old.id)):
        assert not path.exists()
    states = backups.list_backups(runtime.settings, runtime.vault.keyring)
    assert [(s.manifest.id, s.status) for s in states] == [(kept.id, "ok")]
    assert backups.prune_backups(runtime.settings, now=NOW) == []


async def test_leftovers_of_an_interrupted_backup_are_removed(runtime: Runtime) -> None:
    done = await make_backup(runtime)
    folders = backups.Folders.of(runtime.settings)
    part = folders.backups / f"{backups.new_backup_id(NOW)}.cmbk.part"
    orphan = folders.key(backups.new_backup_id(NOW))
    fresh = folders.backups / f"{backups.new_backup_id(NOW)}.cmbk.part"
    for path in (part, orphan, fresh):
        path.write_bytes(b"x")
    an_hour_ago = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=2)).timestamp()
    for path in (part, orphan):
        os.utime(path, (an_hour_ago, an_hour_ago))
    backups.prune_backups(runtime.settings, now=datetime.datetime.now(datetime.UTC))
    assert not part.exists() and not orphan.exists()
    assert fresh.exists()  # it may belong to a backup still being written
    assert folders.key(done.id).exists()


async def test_one_backup_command_at_a_time(runtime: Runtime) -> None:
    folders = backups.Folders.of(runtime.settings)
    folders.make()
    with backups._lock(folders), pytest.raises(BackupFailed, match="another backup"):
        await make_backup(runtime)


def test_the_database_password_stays_off_the_command_line() -> None:
    dsn, password = backups.without_password("postgresql://app:s%40cret@db.local:5433/coach")
    assert dsn == "postgresql://app@db.local:5433/coach" and password == "s@cret"
    assert backups.without_password("postgresql://db/x") == ("postgresql://db/x", None)


async def test_the_command_line(runtime: Runtime, settings: Settings) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "COACHMATCH_DATA_DIR": str(settings.data_dir),
        "COACHMATCH_DATABASE_URL": settings.database_url,
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "web.cli", "backup", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    created = cli("create", "--json")
    assert created.returncode == 0, created.stderr
    backup_id = json.loads(created.stdout)["id"]
    listed = cli("list", "--json")
    assert listed.returncode == 0
    [line] = listed.stdout.splitlines()
    assert json.loads(line)["id"] == backup_id and json.loads(line)["status"] == "ok"
    assert "1 backup" not in cli("prune").stdout and cli("prune").returncode == 0

    backups.Folders.of(settings).key(backup_id).unlink()
    broken = cli("list")
    assert broken.returncode == 1 and "key missing" in broken.stdout


async def test_a_rotation_keeps_older_backups_restorable_with_the_retired_key(
    runtime: Runtime,
) -> None:
    manifest = await make_backup(runtime)
    keyring = runtime.vault.keyring
    old_kek = keyring.current.kek_id
    folders = backups.Folders.of(runtime.settings)
    report = await rotate_master_key(keyring, backup_keys_folder=folders.keys)
    assert report.rewrapped_backup_keys == 1 and keyring.current.kek_id != old_kek
    assert keyring.get(old_kek) is None  # gone from the key files ...

    keys, wrapping = backup_keys.read(folders.key(manifest.id), keyring, manifest.id)
    assert wrapping == keyring.current.kek_id
    assert list(keys.retired) == [old_kek]  # ... and kept only with the backup
    [state] = backups.list_backups(runtime.settings, keyring)
    assert state.ok
    assert restored_content(runtime, manifest.id)

    again = await rotate_master_key(keyring, backup_keys_folder=folders.keys)
    keys, _ = backup_keys.read(folders.key(manifest.id), keyring, manifest.id)
    assert set(keys.retired) == {old_kek, report.new_kek_id} and again.rewrapped_backup_keys == 1


async def test_no_backup_while_the_master_key_rotates(runtime: Runtime) -> None:
    with (
        runtime.vault.keyring.rotation_lock(),
        pytest.raises(BackupFailed, match="rotation is running"),
    ):
        await make_backup(runtime)
    assert backups.list_backups(runtime.settings, runtime.vault.keyring) == []


async def test_prune_removes_what_a_killed_restore_left_beside_sqlite(runtime: Runtime) -> None:
    if not runtime.settings.is_sqlite:
        pytest.skip("staging files exist on SQLite only (PostgreSQL uses databases)")
    live = db.sqlite_path(runtime.settings.database_url)
    stale = live.with_name(f"{live.name}{backups.STAGING_MARK}20261130t010000z-aaaaaa")
    snapshot = live.parent / ".snapshot-old"
    fresh = live.with_name(f"{live.name}{backups.STAGING_MARK}20261130t020000z-bbbbbb")
    stale.write_bytes(b"copy")
    snapshot.mkdir()
    (snapshot / "snapshot.sqlite3").write_bytes(b"copy")
    fresh.write_bytes(b"copy")
    two_hours_ago = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=2)).timestamp()
    for path in (stale, snapshot):
        os.utime(path, (two_hours_ago, two_hours_ago))
    folders = backups.Folders.of(runtime.settings)
    folders.make()
    with exclusive_lock(folders.backups / backups.RESTORE_LOCK):  # a restore is running
        backups.prune_backups(runtime.settings)
    assert stale.exists() and snapshot.exists()
    backups.prune_backups(runtime.settings)
    assert not stale.exists() and not snapshot.exists()
    assert fresh.exists()  # it may belong to a restore that is still running


def test_the_read_ahead_thread_ends_with_its_reader() -> None:
    """A backup that fails while writing closes the read-ahead before the snapshot:
    the thread must end then, even while it waits for room in its queue."""

    def endless() -> Iterator[bytes]:
        while True:
            yield b"piece"

    def close_after_one(pieces: Iterator[bytes]) -> None:
        with contextlib.closing(backups._ahead(pieces, depth=2)) as ahead:
            assert next(ahead) == b"piece"
            time.sleep(0.3)  # the thread fills the queue and waits for room

    # Waiting to hand over a piece, and waiting to hand over the end of a short source.
    for pieces in (endless(), iter([b"piece"] * 3)):
        closing = threading.Thread(target=close_after_one, args=(pieces,), daemon=True)
        closing.start()
        closing.join(timeout=10)
        assert not closing.is_alive(), "closing the read-ahead hung"
    assert not [t for t in threading.enumerate() if t.name == "coachmatch-backup-read"]

    def broken() -> Iterator[bytes]:
        yield b"first"
        raise OSError("the snapshot went away")

    with pytest.raises(OSError, match="went away"):
        list(backups._ahead(broken()))
