"""Restores on SQLite and PostgreSQL: nobody erased since the backup comes back, the live
database is untouched until the last step, and the drill proves it on a probe."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from uuid import UUID

import asyncpg
import pytest

from matching import audit, db, subjects
from matching.config import Settings
from matching.durable import exclusive_lock
from matching.erasure import still_present
from matching.erasure_journal import ErasureReason
from matching.errors import BackupFailed, IntegrityFailure, JournalMissing
from matching.runtime import Runtime, close_runtime, open_runtime
from matching.tables import AuditEntry, Subject, SubjectKey, WorkerHeartbeat
from workers import backups, restore


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    runtime = await open_runtime(settings)
    yield runtime
    await close_runtime(runtime)


async def person(runtime: Runtime, name: str) -> UUID:
    return await subjects.create_subject(
        runtime.vault, "candidate", name=name, email=f"{name.lower()}@example.org"
    )


async def erase(runtime: Runtime, subject_id: UUID) -> None:
    await runtime.erasure.erase(subject_id, reason=ErasureReason.CANDIDATE_REQUEST, actor="test")


async def run_restore(runtime: Runtime, backup_id: str, **kwargs: object) -> restore.RestoreReport:
    return await restore.restore_backup(
        runtime.settings,
        runtime.vault.keyring,
        runtime.journal,
        backup_id,
        **kwargs,  # type: ignore[arg-type]
    )


async def ids() -> set[UUID]:
    return {row["id"] for row in await Subject.select(Subject.id)}


async def test_a_restore_brings_back_the_backup_but_nobody_erased_since(runtime: Runtime) -> None:
    kept = await person(runtime, "Kept")
    leaves = await person(runtime, "Leaves")
    erased_before = await person(runtime, "Gone")
    await erase(runtime, erased_before)
    backup = await backups.create_backup(runtime.settings, runtime.vault.keyring)
    await erase(runtime, leaves)  # after the backup: the backup still holds them
    later = await person(runtime, "Later")  # after the backup: the restore loses them

    report = await run_restore(runtime, backup.id)

    assert report.swapped and report.erased_by_replay == 1 and report.journal_entries == 2
    assert {"journal", "decrypt", "migrate", "keys", "replay", "verify", "swap"} <= set(
        report.seconds
    )
    assert await ids() == {kept}
    assert not await still_present([leaves, erased_before, later])
    assert await SubjectKey.count().where(SubjectKey.subject_id == leaves) == 0
    assert (await subjects.read_subject(runtime.vault, kept)).name == "Kept"
    assert (await audit.verify_chain()).ok
    rows = await AuditEntry.select(AuditEntry.action).order_by(AuditEntry.seq)
    actions = [row["action"] for row in rows]
    assert actions[-1] == audit.Action.BACKUP_RESTORED
    again = await run_restore(runtime, backup.id)  # a second restore replays as well
    assert again.erased_by_replay == 1 and await ids() == {kept}


async def test_the_drill_proves_the_probe_stays_erased_without_touching_live(
    runtime: Runtime,
) -> None:
    someone = await person(runtime, "Someone")
    report = await restore.restore_drill(runtime)
    assert report.probe_erased is True and not report.swapped
    assert report.erased_by_replay == 1
    assert await ids() == {someone}  # the probe is gone, live data untouched
    [drill] = (
        await AuditEntry.select(AuditEntry.details)
        .where(AuditEntry.action == audit.Action.RESTORE_DRILL)
        .output(load_json=True)
    )
    assert drill["details"]["ok"] is True


async def test_a_broken_journal_stops_the_restore_and_live_stays(runtime: Runtime) -> None:
    first = await person(runtime, "First")
    backup = await backups.create_backup(runtime.settings, runtime.vault.keyring)
    await erase(runtime, first)
    second = await person(runtime, "Second")
    journal = runtime.journal.path
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(lines[0].replace(b'"seq":1', b'"seq":7'))
    with pytest.raises(IntegrityFailure):
        await run_restore(runtime, backup.id)
    journal.unlink()
    with pytest.raises(JournalMissing):
        await run_restore(runtime, backup.id)
    assert await ids() == {second}


async def test_a_restore_refuses_while_the_site_runs(runtime: Runtime) -> None:
    backup = await backups.create_backup(runtime.settings, runtime.vault.keyring)
    await WorkerHeartbeat.insert(WorkerHeartbeat(worker_id="web-1", mode="embedded"))
    with pytest.raises(BackupFailed, match="stop them"):
        await run_restore(runtime, backup.id)
    report = await run_restore(runtime, backup.id, swap=False)  # a drill may run meanwhile
    assert not report.swapped


@pytest.mark.parametrize("step", ["decrypt", "replay", "verify", "swap"])
async def test_a_kill_before_the_swap_leaves_live_as_it_was(
    runtime: Runtime, settings: Settings, step: str
) -> None:
    before = await person(runtime, "Before")
    backup = await backups.create_backup(runtime.settings, runtime.vault.keyring)
    await person(runtime, "After")
    live = await ids()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "COACHMATCH_DATA_DIR": str(settings.data_dir),
        "COACHMATCH_DATABASE_URL": settings.database_url,
        "COACHMATCH_ANONYMISER_PROCESSES": "0",
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tests.workers.restore_victim", step, backup.id],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert await ids() == live
    # The next restore clears what the killed one left, and completes.
    report = await run_restore(runtime, backup.id)
    assert report.swapped and await ids() == {before}
    assert not await _staging_exists(settings, backup.id)


async def _staging_exists(settings: Settings, backup_id: str) -> bool:
    if settings.is_sqlite:
        live = db.sqlite_path(settings.database_url)
        return any(live.parent.glob(f"{live.name}{restore.STAGING_MARK}*"))
    staging = restore._PostgresStaging(settings.database_url, backup_id)
    conn = await asyncpg.connect(staging.admin_url)
    try:
        return bool(
            await conn.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", staging.name)
        )
    finally:
        await conn.close()


async def test_a_backup_of_the_other_kind_of_database_is_refused(runtime: Runtime) -> None:
    backup = await backups.create_backup(runtime.settings, runtime.vault.keyring)
    other = "postgresql" if backup.database == "sqlite" else "sqlite"
    manifest_path = backups.Folders.of(runtime.settings).manifest(backup.id)
    manifest_path.write_text(
        manifest_path.read_text().replace(f'"{backup.database}"', f'"{other}"')
    )
    with pytest.raises(BackupFailed, match="backup"):
        await run_restore(runtime, backup.id)


async def test_the_restore_keeps_an_old_backup_readable_after_a_rotation(
    runtime: Runtime,
) -> None:
    from matching.key_rotation import rotate_master_key

    kept = await person(runtime, "Kept")
    backup = await backups.create_backup(runtime.settings, runtime.vault.keyring)
    folders = backups.Folders.of(runtime.settings)
    await rotate_master_key(runtime.vault.keyring, backup_keys_folder=folders.keys)
    report = await run_restore(runtime, backup.id)
    assert report.rewrapped_keys == 1
    kek = runtime.vault.keyring.current.kek_id
    assert {row["kek_id"] for row in await SubjectKey.select(SubjectKey.kek_id)} == {kek}
    runtime.vault.cache.clear()
    assert (await subjects.read_subject(runtime.vault, kept)).name == "Kept"


def test_nothing_is_restored_without_yes() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "web.cli", "backup", "restore", "20261130t020000z-abcdef"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1 and "--yes" in done.stderr


async def test_someone_erased_while_the_restore_runs_stays_erased(runtime: Runtime) -> None:
    late = await person(runtime, "Late")
    backup = await backups.create_backup(runtime.settings, runtime.vault.keyring)

    def progress(step: str, fraction: float | None) -> None:
        # Another process erases "late" after this restore read the journal: its
        # journal entry comes first, as the erasure service writes it.
        if step == "decrypt" and fraction is None:
            runtime.journal.append(late, ErasureReason.CANDIDATE_REQUEST, "test")

    report = await run_restore(runtime, backup.id, progress=progress)
    assert report.swapped and report.erased_by_replay == 1
    assert await still_present([late]) == set()


async def test_one_restore_at_a_time(runtime: Runtime) -> None:
    backup = await backups.create_backup(runtime.settings, runtime.vault.keyring)
    lock = runtime.settings.effective_backup_dir / ".restore.lock"
    with exclusive_lock(lock), pytest.raises(BackupFailed, match="another restore"):
        await run_restore(runtime, backup.id)


async def test_a_backup_that_fails_sqlites_structure_check_is_not_swapped_in(
    runtime: Runtime, settings: Settings
) -> None:
    if not settings.is_sqlite:
        pytest.skip("SQLite's own structure check; PostgreSQL's pg_restore checks its dump")
    kept = await person(runtime, "Kept")
    path = db.sqlite_path(settings.database_url)

    def damage_a_page() -> None:
        # A table of its own, so the rest of the restore reads only sound pages.
        connection = sqlite3.connect(path)
        connection.execute("CREATE TABLE filler (data BLOB)")
        connection.executemany("INSERT INTO filler VALUES (?)", [(os.urandom(3000),)] * 40)
        connection.commit()
        [(root,)] = connection.execute("SELECT rootpage FROM sqlite_master WHERE name = 'filler'")
        [(size,)] = connection.execute("PRAGMA page_size")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        with open(path, "r+b") as file:  # the root's cell pointers become nonsense
            file.seek((root - 1) * size + 12)
            file.write(b"\xff" * 64)

    await asyncio.to_thread(damage_a_page)
    backup = await backups.create_backup(runtime.settings, runtime.vault.keyring)
    later = await person(runtime, "Later")

    with pytest.raises(IntegrityFailure, match="integrity check"):
        await run_restore(runtime, backup.id)
    assert await ids() == {kept, later}
    assert not list(path.parent.glob(f"{path.name}{restore.STAGING_MARK}*"))


async def test_what_a_killed_restore_left_on_postgresql_is_dropped(
    runtime: Runtime, settings: Settings
) -> None:
    if settings.is_sqlite:
        pytest.skip("PostgreSQL's staging databases; SQLite's files: test_backups")
    admin_url, live = restore._admin_url_and_name(settings.database_url)
    left = [f"{live[:40]}_restore_a1b2c3", f"{live[:40]}_replaced_d4e5f6"]
    other = f"{live[:40]}_restore_notours"

    async def names() -> set[str]:
        conn = await asyncpg.connect(admin_url)
        try:
            rows = await conn.fetch("SELECT datname FROM pg_database")
        finally:
            await conn.close()
        return {row["datname"] for row in rows}

    conn = await asyncpg.connect(admin_url)
    try:
        for name in [*left, other]:
            await conn.execute(f'CREATE DATABASE "{name}"')
        folder = settings.effective_backup_dir
        folder.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(folder / backups.RESTORE_LOCK):  # a restore is running
            assert not await restore.remove_leftovers(settings)
        assert set(left) <= await names()
        assert await restore.remove_leftovers(settings)
        assert not set(left) & await names()
        assert other in await names()  # not a name a restore makes
    finally:
        await conn.execute(f'DROP DATABASE IF EXISTS "{other}"')
        await conn.close()


async def test_a_journal_short_of_its_last_lines_stops_the_restore(runtime: Runtime) -> None:
    """Erasures since the backup are known only to the live audit log: a journal that
    lost them (whole lines) would let the restore bring those people back."""
    in_backup = await person(runtime, "InBackup")
    backup = await backups.create_backup(runtime.settings, runtime.vault.keyring)
    later = await person(runtime, "Later")
    await erase(runtime, later)
    await erase(runtime, in_backup)
    journal = runtime.journal.path
    first_line = journal.read_bytes().splitlines(keepends=True)[0]
    journal.write_bytes(first_line)  # the line of in_backup's erasure is lost
    with pytest.raises(IntegrityFailure, match="lacks line 2"):
        await run_restore(runtime, backup.id)
    assert await ids() == set()
