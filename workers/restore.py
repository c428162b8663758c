"""Restoring a backup without bringing back anyone who was erased since.

:func:`restore_backup` works on a staging copy and touches the live database only
in its very last step:

1. **Journal.** The erasure journal (a file outside the database and its backups)
   must verify. A journal that is missing while the live database knows of
   erasures stops the restore.
2. **Staging.** The backup is decrypted into a staging database beside the live
   one (SQLite: a file next to it; PostgreSQL: a new database restored with
   ``pg_restore``) and migrated to the current schema.
3. **Keys.** Data keys wrapped by a master key retired since the backup are
   re-wrapped under the current one (the retired key travels with the backup's
   own key, see :mod:`matching.backup_keys`).
4. **Check.** The backup's audit chain verifies, every erasure it records is in
   the journal, SQLite's quick check and foreign-key check pass. The SQLite checks
   read a snapshot of staging as it was loaded, in a thread of their own, while
   step 5 runs: they take as long as the replay, and there are two cores.
5. **Replay, then verify.** Every subject the journal names is erased again in
   staging (extending the verified audit chain); then no journaled subject and
   none of their data keys may be left. Nothing is swapped before the checks of
   step 4 have passed too.
6. **Swap.** SQLite: the staging database is copied over the live one with
   SQLite's backup API, in one transaction, so a kill half-way leaves the live
   database as it was. PostgreSQL: in one transaction the live database is
   renamed away and staging takes its name; then the old one is dropped. The
   live database then replays the journal once more: anyone erased while the
   restore ran is erased again.

Until step 6 the live database is never written. Staging is removed whatever
happens (a kill leaves it behind; the next restore removes it). The site must be
stopped first: a restore refuses while a worker has beaten in the last
:data:`RUNNING_WITHIN`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import os
import re
import secrets
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

from piccolo.engine.base import Engine

from anonymiser.crypto import KeyWrapper
from matching import audit, backup_keys, db, key_rotation, subjects
from matching.config import Settings
from matching.durable import exclusive_lock
from matching.erasure import (
    SYSTEM_ACTOR,
    ErasureService,
    check_journal_against_audit,
    still_present,
)
from matching.erasure_journal import ErasureJournal, ErasureReason, JournalEntry
from matching.errors import BackupFailed, IntegrityFailure
from matching.keyring import Keyring
from matching.runtime import Runtime
from matching.tables import Subject, WorkerHeartbeat
from matching.vault import Vault
from workers import backups

RUNNING_WITHIN = datetime.timedelta(seconds=90)
STAGING_MARK = backups.STAGING_MARK

Progress = Callable[[str, float | None], None]


def _quiet(step: str, fraction: float | None) -> None:
    return None


@dataclasses.dataclass
class RestoreReport:
    """What a restore did, step by step: counts and seconds. No personal data."""

    backup_id: str
    database: str
    swapped: bool = False
    probe_erased: bool | None = None  # restore drills only
    journal_entries: int = 0
    subjects_restored: int = 0
    erased_by_replay: int = 0
    rewrapped_keys: int = 0
    audit_entries: int = 0
    #: Each step's own duration; the SQLite structure check runs alongside replay and verify.
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)
    total_seconds: float = 0.0  # the whole restore, start to end

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @contextlib.contextmanager
    def step(self, name: str, progress: Progress) -> Iterator[None]:
        progress(name, None)
        started = time.perf_counter()
        yield
        self.seconds[name] = round(time.perf_counter() - started, 3)
        progress(name, 1.0)


async def restore_backup(
    settings: Settings,
    keyring: Keyring,
    journal: ErasureJournal,
    backup_id: str,
    *,
    swap: bool = True,
    probe: UUID | None = None,
    progress: Progress = _quiet,
) -> RestoreReport:
    """Restore ``backup_id`` over the live database (bound when called; bound again
    when this returns). With ``swap=False`` everything but the last step runs: the
    restore drill uses that to prove what a restore would bring back."""
    started = time.perf_counter()
    with _one_restore_at_a_time(settings):
        report = await _restore(
            settings, keyring, journal, backup_id, swap=swap, probe=probe, progress=progress
        )
    report.total_seconds = round(time.perf_counter() - started, 3)
    return report


@contextlib.contextmanager
def _one_restore_at_a_time(settings: Settings) -> Iterator[None]:
    """Restores and drills share the staging names: one at a time (a lock file)."""
    folder = settings.effective_backup_dir
    with contextlib.ExitStack() as stack:
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            stack.enter_context(exclusive_lock(folder / backups.RESTORE_LOCK))
        except BlockingIOError:
            raise BackupFailed("another restore or restore drill is running") from None
        except OSError as exc:
            raise BackupFailed(f"cannot lock {folder}: {exc.strerror}") from None
        yield


async def _restore(
    settings: Settings,
    keyring: Keyring,
    journal: ErasureJournal,
    backup_id: str,
    *,
    swap: bool,
    probe: UUID | None,
    progress: Progress,
) -> RestoreReport:
    live = db.current_engine()
    manifest = backups.manifest_of(settings, backup_id)
    report = RestoreReport(backup_id=manifest.id, database=manifest.database)
    keys = backups.keys_of(settings, keyring, manifest.id)
    with report.step("journal", progress):
        # The audit log's head first: every erasure committed by then has its line in
        # the journal (fsynced before the erasure commits), whatever runs meanwhile.
        audited_up_to = (await audit.head()).seq
        # Read once (its chain checked while read), used for the replay and the proof.
        # Not alongside the decryption: both want the GIL, and the decryption lost.
        entries = await asyncio.to_thread(_read_journal, journal)
        report.journal_entries = len(entries)
        # Against the live audit log too: erasures since the backup are recorded only
        # there (a journal missing, or short of its last lines, stops the restore).
        await check_journal_against_audit(
            journal, entries if journal.path.exists() else None, up_to=audited_up_to
        )
    if swap:
        await _refuse_while_running()
    staging = _Staging.of(settings, manifest)
    await staging.remove()  # what an earlier, killed restore left
    try:
        with report.step("decrypt", progress):
            await staging.load(
                backups.read_backup(settings, keyring, manifest.id), manifest, progress
            )
        engine = await staging.open()
        try:
            await _in_staging(
                engine, keyring, keys, journal, entries, report=report, progress=progress
            )
            if probe is not None:
                report.probe_erased = not await still_present([probe])
        finally:
            await db.stop(engine)
            db.bind(live)
        if swap:
            await _refuse_while_running()  # again: the steps above may have taken long
            with report.step("swap", progress):
                await staging.swap_into(live)
            report.swapped = True
            # Anyone erased while staging was being built is in the journal by now,
            # and possibly back with the swap: the live database replays it too.
            service = ErasureService(journal=journal, vault=Vault(keyring))
            report.erased_by_replay += await service.replay()
            await audit.record(
                SYSTEM_ACTOR,
                audit.Action.BACKUP_RESTORED,
                purpose="backup",
                details={
                    "backup_id": manifest.id,
                    "erased_by_replay": report.erased_by_replay,
                    "journal_entries": report.journal_entries,
                },
            )
            # The restore rewound the audit log on purpose: anchor its new head.
            await audit.verify_with_anchor(audit.anchor_path(settings.data_dir), reset=True)
    finally:
        await staging.remove()
    return report


async def _in_staging(
    engine: Engine,
    keyring: Keyring,
    keys: backup_keys.BackupKeys,
    journal: ErasureJournal,
    entries: list[JournalEntry],
    *,
    report: RestoreReport,
    progress: Progress,
) -> None:
    with report.step("migrate", progress):
        await db.migrate()
    with report.step("keys", progress):
        report.rewrapped_keys = await _rewrap_retired(keyring, keys)
    with report.step("check", progress):
        # The backup as it came: its audit chain, every erasure it knows of in the
        # journal, SQLite's structure. The replay then extends a verified chain.
        chain = await audit.verify_chain()
        if not chain.ok:
            raise IntegrityFailure(
                f"the restored audit log does not verify at entry {chain.first_bad_seq} "
                f"({chain.problem}); nothing was swapped"
            )
        await check_journal_against_audit(journal)
        report.subjects_restored = int(await Subject.count())
    structure: asyncio.Future[float] | None = None
    if isinstance(engine, db.PooledSQLiteEngine):
        # SQLite's structure check reads the data as it came, on a core of its own,
        # while the replay writes (a WAL reader keeps its snapshot).
        snapshot = await asyncio.to_thread(_snapshot, str(engine.connection_kwargs["database"]))
        # Submitted now: a task would first run when the replay yields, which its
        # statements on the loop's own thread rarely do.
        structure = asyncio.get_running_loop().run_in_executor(None, _check_structure, snapshot)
    try:
        await _replay_and_verify(keyring, journal, entries, report=report, progress=progress)
        report.audit_entries = chain.entries + report.erased_by_replay
    finally:
        if structure is not None:
            with report.step("structure", progress):
                await asyncio.wait([structure])  # its thread is done before staging goes
            structure.exception()  # retrieved: a failed replay is the error reported
    if structure is not None:
        report.seconds["structure"] = structure.result()


async def _replay_and_verify(
    keyring: Keyring,
    journal: ErasureJournal,
    entries: list[JournalEntry],
    *,
    report: RestoreReport,
    progress: Progress,
) -> None:
    with report.step("replay", progress):
        service = ErasureService(journal=journal, vault=Vault(keyring))
        report.erased_by_replay = await service.replay(entries)
    with report.step("verify", progress):
        left = await still_present({entry.subject_id for entry in entries})
        if left:
            raise IntegrityFailure(
                f"{len(left)} erased subjects are still in the restored data; nothing was swapped"
            )


class _RestoreKeyring(Keyring):
    """The current keys plus the retired ones a backup brought, for re-wrapping."""

    def __init__(self, keyring: Keyring, retired: Iterable[KeyWrapper]) -> None:
        super().__init__(keyring.current, keyring.next)
        self._retired = {wrapper.kek_id: wrapper for wrapper in retired}

    def get(self, kek_id: str) -> KeyWrapper | None:
        return super().get(kek_id) or self._retired.get(kek_id)


async def _rewrap_retired(keyring: Keyring, keys: backup_keys.BackupKeys) -> int:
    if not keys.retired:
        return 0
    ring = _RestoreKeyring(keyring, keys.retired_wrappers())
    target = keyring.current
    await key_rotation.rewrap_secrets(ring, target)
    done = await key_rotation.rewrap_data_keys(ring, target)
    left = await key_rotation.count_wrapped_by_others(target.kek_id)
    if left:
        raise IntegrityFailure(
            f"{left} data keys in the backup are wrapped by a master key that is gone"
        )
    return done


def _read_journal(journal: ErasureJournal) -> list[JournalEntry]:
    """Every journal entry, the chain checked."""
    journal.repair()  # a line a crash cut short was never acknowledged
    return list(journal.entries())


def _snapshot(path: str) -> sqlite3.Connection:
    """A connection of its own holding a read snapshot of staging as it is now (WAL)."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        connection.execute("BEGIN")
        connection.execute("SELECT count(*) FROM sqlite_master").fetchall()  # snapshot taken
    except sqlite3.Error:
        connection.close()
        raise
    return connection


def _check_structure(connection: sqlite3.Connection) -> float:
    """SQLite's quick check and foreign-key check of the snapshot; the seconds it took."""
    started = time.perf_counter()
    try:
        # quick_check: the structure of every page and row (O(N)); integrity_check also
        # cross-checks every index entry against its row, which takes minutes at scale.
        integrity = connection.execute("PRAGMA quick_check").fetchall()
        broken = connection.execute("PRAGMA foreign_key_check").fetchall()
    except sqlite3.DatabaseError:
        integrity, broken = [("unreadable",)], []
    finally:
        connection.close()
    if integrity != [("ok",)] or broken:
        raise IntegrityFailure("the restored SQLite database fails its integrity check")
    return round(time.perf_counter() - started, 3)


async def _refuse_while_running() -> None:
    since = datetime.datetime.now(datetime.UTC) - RUNNING_WITHIN
    beating = await WorkerHeartbeat.count().where(WorkerHeartbeat.seen_at > since)
    if beating:
        raise BackupFailed(
            "the site or its workers are running (a worker reported in the last "
            f"{int(RUNNING_WITHIN.total_seconds())} s): stop them before restoring"
        )


# -- staging databases ---------------------------------------------------------------------


class _Staging:
    """Where a backup is unpacked, checked and replayed before it may replace the live data."""

    @staticmethod
    def of(settings: Settings, manifest: backups.Manifest) -> _Staging:
        if manifest.database == "sqlite":
            if not settings.is_sqlite:
                raise BackupFailed("this is a SQLite backup; the live database is PostgreSQL")
            return _SqliteStaging(db.sqlite_path(settings.database_url), manifest.id)
        if settings.is_sqlite:
            raise BackupFailed("this is a PostgreSQL backup; the live database is SQLite")
        return _PostgresStaging(settings.database_url, manifest.id)

    async def remove(self) -> None:
        raise NotImplementedError

    async def load(
        self, pieces: Iterator[bytes], manifest: backups.Manifest, progress: Progress
    ) -> None:
        raise NotImplementedError

    async def open(self) -> Engine:
        raise NotImplementedError

    async def swap_into(self, live: Engine) -> None:
        raise NotImplementedError


def _counting(
    pieces: Iterator[bytes], total: int, step: str, progress: Progress
) -> Iterator[bytes]:
    done = 0
    for piece in pieces:
        done += len(piece)
        progress(step, min(done / total, 1.0) if total else None)
        yield piece


class _SqliteStaging(_Staging):
    def __init__(self, live: Path, backup_id: str) -> None:
        self.live = live
        self.path = live.with_name(f"{live.name}{STAGING_MARK}{backup_id}")

    async def remove(self) -> None:
        for leftover in self.live.parent.glob(f"{self.live.name}{STAGING_MARK}*"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()

    async def load(
        self, pieces: Iterator[bytes], manifest: backups.Manifest, progress: Progress
    ) -> None:
        def write() -> None:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                for piece in _counting(pieces, manifest.plain_bytes, "decrypt", progress):
                    out.write(piece)

        await asyncio.to_thread(write)

    async def open(self) -> Engine:
        # Thrown away unless finished, and copied onto live by a durable connection.
        engine = db.make_engine(f"sqlite:///{self.path}", durable=False)
        db.bind(engine)
        await db.start(engine)
        return engine

    async def swap_into(self, live: Engine) -> None:
        """One SQLite backup-API copy from staging onto the live file: the live
        database changes in a single transaction, or not at all."""

        def copy() -> None:
            # Read-only: a staging file that vanished must fail, not copy an empty database.
            source = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            try:
                target = sqlite3.connect(self.live, timeout=30)
                try:
                    source.backup(target)
                finally:
                    target.close()
            finally:
                source.close()

        await db.stop(live)  # no pooled connection of ours may hold the old pages
        try:
            await asyncio.to_thread(copy)
        except sqlite3.Error as exc:
            raise BackupFailed(
                f"the live database could not be replaced ({type(exc).__name__}); it is unchanged"
            ) from None
        finally:
            await db.start(live)


class _PostgresStaging(_Staging):
    def __init__(self, url: str, backup_id: str) -> None:
        parts = urlsplit(url)
        self.admin_url, self.live_name = _admin_url_and_name(url)
        tag = backup_id[-6:]  # the id's random part: names stay within 63 characters
        self.name = f"{self.live_name[:40]}_restore_{tag}"
        self.old_name = f"{self.live_name[:40]}_replaced_{tag}"
        self.staging_url = urlunsplit(parts._replace(path=f"/{self.name}"))

    async def _admin(self, *statements: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.admin_url)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    async def remove(self) -> None:
        await _drop_restore_databases(self.admin_url, self.live_name)

    async def load(
        self, pieces: Iterator[bytes], manifest: backups.Manifest, progress: Progress
    ) -> None:
        await self._admin(f'CREATE DATABASE "{self.name}"')
        dsn, password = backups.without_password(self.staging_url)
        env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
        command = [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            f"--dbname={dsn}",
        ]

        def run() -> None:
            # A fixed program and options; the URL comes from the operator's settings.
            proc = subprocess.Popen(  # noqa: S603
                command, stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=env
            )
            assert proc.stdin is not None and proc.stderr is not None
            try:
                for piece in _counting(pieces, manifest.plain_bytes, "decrypt", progress):
                    proc.stdin.write(piece)
                proc.stdin.close()
                error = proc.stderr.read()
                if proc.wait() != 0:
                    last = error.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
                    raise BackupFailed(f"pg_restore failed: {last[0][:200]}")
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()

        try:
            await asyncio.to_thread(run)
        except BrokenPipeError:
            raise BackupFailed("pg_restore stopped reading the backup") from None

    async def open(self) -> Engine:
        engine = db.make_engine(self.staging_url)
        db.bind(engine)
        await db.start(engine)
        return engine

    async def swap_into(self, live: Engine) -> None:
        """Rename live away, staging in; the old database is dropped afterwards."""
        import asyncpg

        await db.stop(live)
        try:
            conn = await asyncpg.connect(self.admin_url)
            try:
                async with conn.transaction():  # both names change together, or neither
                    await conn.execute(
                        f'ALTER DATABASE "{self.live_name}" RENAME TO "{self.old_name}"'
                    )
                    await conn.execute(f'ALTER DATABASE "{self.name}" RENAME TO "{self.live_name}"')
            finally:
                await conn.close()
        except Exception as exc:
            await db.start(live)
            raise BackupFailed(
                f"the live database could not be replaced ({type(exc).__name__}): "
                "is another program connected to it? It is unchanged"
            ) from None
        await self._admin(f'DROP DATABASE IF EXISTS "{self.old_name}" WITH (FORCE)')
        await db.start(live)


def _admin_url_and_name(url: str) -> tuple[str, str]:
    """The maintenance database's URL (for CREATE, RENAME, DROP) and the live name."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


async def _drop_restore_databases(admin_url: str, live_name: str) -> None:
    """Every staging database, and every replaced one a swap killed before its drop
    left: the latter holds the old live data, people erased since included."""
    import asyncpg

    base = live_name[:40]
    shape = re.compile(rf"{re.escape(base)}_(restore|replaced)_[0-9a-f]{{6}}")
    conn = await asyncpg.connect(admin_url)
    try:
        rows = await conn.fetch(
            "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", f"{base}_"
        )
        for name in (row["datname"] for row in rows):
            if shape.fullmatch(name):
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def remove_leftovers(settings: Settings) -> bool:
    """Remove what a killed restore left on PostgreSQL (staging and replaced databases;
    ``backup prune`` removes SQLite's files). Not while a restore runs; ``False`` then."""
    if settings.is_sqlite:
        return True
    try:
        with _one_restore_at_a_time(settings):
            await _drop_restore_databases(*_admin_url_and_name(settings.database_url))
    except BackupFailed:
        return False
    return True


# -- the drill -----------------------------------------------------------------------------


async def restore_drill(runtime: Runtime, *, progress: Progress = _quiet) -> RestoreReport:
    """Back up, erase a probe subject, restore into staging, prove the probe stays erased.

    Everything a restore does runs, except the swap: the live database keeps serving
    (the drill does not need the site stopped). The outcome goes to the audit log
    (``backup.restore_drill``), where the admin dashboard reads the last one.
    """
    settings, keyring = runtime.settings, runtime.vault.keyring
    token = secrets.token_hex(6)
    probe = await subjects.create_subject(
        runtime.vault,
        "candidate",
        name=f"Drill Probe {token}",
        email=f"drill-{token}@example.invalid",
    )
    manifest = await backups.create_backup(settings, keyring)
    await runtime.erasure.erase(probe, reason=ErasureReason.RESTORE_DRILL, actor=SYSTEM_ACTOR)
    try:
        report = await restore_backup(
            settings,
            keyring,
            runtime.journal,
            manifest.id,
            swap=False,
            probe=probe,
            progress=progress,
        )
    except Exception as exc:
        await _record_drill(manifest.id, ok=False, problem=type(exc).__name__)
        raise
    await _record_drill(manifest.id, ok=bool(report.probe_erased), problem=None)
    return report


async def _record_drill(backup_id: str, *, ok: bool, problem: str | None) -> None:
    details: dict[str, Any] = {"backup_id": backup_id, "ok": ok}
    if problem:
        details["problem"] = problem
    await audit.record(SYSTEM_ACTOR, audit.Action.RESTORE_DRILL, purpose="backup", details=details)
