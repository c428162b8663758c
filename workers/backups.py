"""Backups: a consistent snapshot, compressed and sealed with a key of its own.

A backup is three files:

- ``<backups>/<id>.cmbk``: the snapshot (SQLite's online backup API, or
  ``pg_dump --format=custom``), compressed with zstd's fast mode (see
  :data:`ZSTD_LEVEL`) where the snapshot is not compressed already, and sealed in
  authenticated chunks (:mod:`anonymiser.crypto.stream`) under the backup's own
  key; a thread reads and compresses ahead while the caller seals and writes;
- ``<backups>/<id>.json``: the manifest: time, database, schema version, sizes and
  the SHA-256 of the sealed file. No key, no personal data;
- ``<data>/backup-keys/<id>.key``: the backup's key, wrapped by the master key,
  kept apart from the backups (see :mod:`matching.backup_keys`, which also keeps
  the retired master keys a backup needs after a rotation).

Backups are kept :data:`KEEP_DAYS` days (the privacy statement's promise);
:func:`prune_backups` destroys the key first, then the file and the manifest.

A backup exists only once its manifest does: the key is written first, the
sealed file goes to ``<id>.cmbk.part`` and is renamed when complete, the manifest
comes last, each step fsynced. A crash leaves a ``.part`` file or a key without a
manifest; the next ``create`` or ``prune`` removes them. One backup command runs at
a time (a lock file in the backup folder).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import zlib
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from queue import Full, Queue
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit, urlunsplit
from uuid import UUID

import zstandard

from anonymiser.crypto import DecryptionError, generate_data_key
from anonymiser.crypto.stream import open_chunks, seal_chunks
from matching import audit, backup_keys, db
from matching.config import Settings
from matching.durable import exclusive_lock, fsync_dir, replace_private
from matching.erasure import SYSTEM_ACTOR
from matching.errors import BackupFailed, NotFound, RotationRunning
from matching.keyring import Keyring

KEEP_DAYS = 14
FORMAT = 1
SEALED_SUFFIX = ".cmbk"
MANIFEST_SUFFIX = ".json"
KEY_SUFFIX = ".key"
PART_SUFFIX = ".part"
#: Leftovers of an interrupted backup are removed once they are this old.
LEFTOVER_AGE = datetime.timedelta(hours=1)
#: A restore's staging database is the live file's name plus this and the backup id.
STAGING_MARK = ".restore-"
#: Held (in the backup folder) while a restore or a drill runs.
RESTORE_LOCK = ".restore.lock"
READ_BYTES = 1 << 20
#: zstd's fast mode: half the snapshot is ciphertext, which does not compress; the
#: rest (ids, timestamps, indexes) shrinks the whole by a third. Level 1 saves
#: another quarter for twice the CPU, which made a backup twice a plain snapshot.
ZSTD_LEVEL = -5
#: The private folder a SQLite snapshot is copied into, beside the database.
SNAPSHOT_PREFIX = ".snapshot-"
_KEY_KIND = b"backup-key"
_ID_SHAPE = re.compile(r"\d{8}t\d{6}z-[0-9a-f]{6}")


@dataclasses.dataclass(frozen=True)
class Manifest:
    """What a backup is, without opening it."""

    id: str
    created_at: datetime.datetime
    database: str  # sqlite | postgresql
    content: str  # sqlite-file | pg_dump-custom
    compression: str  # zstd | zlib | none
    schema_version: str
    kek_id: str  # the master key that wraps the backup's key
    plain_bytes: int
    sealed_bytes: int
    sha256: str
    format: int = FORMAT

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "created_at": self.created_at.isoformat()}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Manifest:
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in raw.items() if k in fields}
        values["created_at"] = datetime.datetime.fromisoformat(raw["created_at"])
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class BackupState:
    """A backup as ``list`` shows it: its manifest and whether it can be restored."""

    manifest: Manifest
    status: str  # ok | file missing | file damaged | key missing | key unreadable

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_dict(self, now: datetime.datetime) -> dict[str, Any]:
        age = now - self.manifest.created_at
        return {**self.manifest.as_dict(), "status": self.status, "age_days": age.days}


@dataclasses.dataclass(frozen=True)
class Folders:
    backups: Path
    keys: Path

    @classmethod
    def of(cls, settings: Settings) -> Folders:
        return cls(settings.effective_backup_dir, backup_keys.folder(settings))

    def sealed(self, backup_id: str) -> Path:
        return self.backups / f"{backup_id}{SEALED_SUFFIX}"

    def manifest(self, backup_id: str) -> Path:
        return self.backups / f"{backup_id}{MANIFEST_SUFFIX}"

    def key(self, backup_id: str) -> Path:
        return backup_keys.path_of(self.keys, backup_id)

    def make(self) -> None:
        for folder in (self.backups, self.keys):
            try:
                folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as exc:
                raise BackupFailed(f"cannot create {folder}: {exc.strerror}") from None


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def new_backup_id(now: datetime.datetime) -> str:
    """Sortable by time, unique, and an id the audit log accepts: ``20261130t020000z-1a2b3c``."""
    return f"{now.astimezone(datetime.UTC):%Y%m%dt%H%M%Sz}-{secrets.token_hex(3)}"


def check_backup_id(raw: str) -> str:
    if not _ID_SHAPE.fullmatch(raw):
        raise NotFound("no such backup: an id looks like 20261130t020000z-1a2b3c")
    return raw


# -- creating ------------------------------------------------------------------------------


async def create_backup(
    settings: Settings,
    keyring: Keyring,
    *,
    now: datetime.datetime | None = None,
    job_id: UUID | None = None,
) -> Manifest:
    """Make one backup of the live database (the runtime's engine must be bound).

    ``job_id`` (the scheduled job that asked for it) is recorded with the backup, so
    a second delivery of the job knows its backup exists (:func:`made_by_job`).
    """
    now = now or _now()
    schema_version = await db.schema_version()
    manifest: Manifest = await asyncio.to_thread(_create, settings, keyring, now, schema_version)
    details: dict[str, Any] = {"backup_id": manifest.id, "sealed_bytes": manifest.sealed_bytes}
    if job_id is not None:
        details["job_id"] = job_id
    await audit.record(SYSTEM_ACTOR, audit.Action.BACKUP_CREATED, purpose="backup", details=details)
    return manifest


async def made_by_job(job_id: UUID) -> bool:
    """Whether a backup of this job exists already (it is among the latest few)."""
    made = await audit.latest(audit.Action.BACKUP_CREATED, limit=10)
    return any(entry.details.get("job_id") == str(job_id) for entry in made)


def _create(
    settings: Settings, keyring: Keyring, now: datetime.datetime, schema_version: str
) -> Manifest:
    folders = Folders.of(settings)
    folders.make()
    with _lock(folders), _no_rotation(keyring):
        _remove_leftovers(folders, now)
        if keyring.source == "file":
            keyring.reload()  # another process may have rotated since this one loaded it
        backup_id = new_backup_id(now)
        key = generate_data_key()
        wrapper = keyring.current
        keys = backup_keys.BackupKeys(key)
        backup_keys.write(folders.key(backup_id), wrapper, backup_id, keys)
        try:
            with _snapshot(settings) as (database, content, compression, plain):
                counted = _Counted(plain)
                ahead = _ahead(_compressed(counted) if compression == "zstd" else counted)
                with contextlib.closing(ahead) as pieces:  # its thread ends before the snapshot
                    sealed = seal_chunks(key, backup_id.encode(), pieces)
                    size, digest = _write_sealed(folders.sealed(backup_id), sealed)
            manifest = Manifest(
                id=backup_id,
                created_at=now,
                database=database,
                content=content,
                compression=compression,
                schema_version=schema_version,
                kek_id=wrapper.kek_id,
                plain_bytes=counted.total,
                sealed_bytes=size,
                sha256=digest,
            )
            data = json.dumps(manifest.as_dict(), sort_keys=True, indent=2).encode()
            _write_private(folders.manifest(backup_id), data)
        except BaseException:
            for path in (folders.sealed(backup_id), folders.key(backup_id)):
                path.unlink(missing_ok=True)
            raise
        return manifest


class _Counted:
    """The snapshot's pieces, counted on the way through."""

    def __init__(self, pieces: Iterable[bytes]) -> None:
        self._pieces = pieces
        self.total = 0

    def __iter__(self) -> Iterator[bytes]:
        for piece in self._pieces:
            self.total += len(piece)
            yield piece


def _ahead(pieces: Iterable[bytes], depth: int = 8) -> Generator[bytes, None, None]:
    """``pieces``, produced by a thread of their own up to ``depth`` pieces ahead: the
    snapshot is read and compressed while the caller seals, hashes and writes.

    Close it (``contextlib.closing``) before what ``pieces`` reads from: the thread
    is stopped and joined then, whatever it was waiting for.
    """
    queue: Queue[tuple[bytes | None, BaseException | None]] = Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item: tuple[bytes | None, BaseException | None]) -> bool:
        while not stop.is_set():
            with contextlib.suppress(Full):
                queue.put(item, timeout=0.1)
                return True
        return False

    def produce() -> None:
        try:
            for piece in pieces:
                if not hand_over((piece, None)):
                    return
            hand_over((None, None))
        except BaseException as exc:  # handed to the consumer, raised there
            hand_over((None, exc))

    producer = threading.Thread(target=produce, name="coachmatch-backup-read", daemon=True)
    producer.start()
    try:
        while True:
            piece, error = queue.get()
            if error is not None:
                raise error
            if piece is None:
                return
            yield piece
    finally:
        stop.set()
        producer.join()


def _compressed(pieces: Iterable[bytes]) -> Iterator[bytes]:
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compressobj()
    for piece in pieces:
        out = compressor.compress(piece)
        if out:
            yield out
    yield compressor.flush()


@contextlib.contextmanager
def _snapshot(settings: Settings) -> Iterator[tuple[str, str, str, Iterator[bytes]]]:
    """The database's content at one moment, in pieces; and how to describe it."""
    if settings.is_sqlite:
        with _sqlite_snapshot(db.sqlite_path(settings.database_url)) as pieces:
            yield "sqlite", "sqlite-file", "zstd", pieces
    else:
        with _pg_dump(settings.database_url) as pieces:
            yield "postgresql", "pg_dump-custom", "none", pieces


@contextlib.contextmanager
def _sqlite_snapshot(path: Path) -> Iterator[Iterator[bytes]]:
    """SQLite's online backup API: a consistent copy (one read transaction) that does
    not stop writers (WAL), read out in pieces.

    The copy goes into a private temporary folder beside the database, removed at
    once (``backup prune`` removes one a killed run left). It holds what the live
    file holds, personal values encrypted field by field. A copy in memory was
    tried: SQLite's in-memory pages cost three times a file in the page cache.
    """
    try:
        with tempfile.TemporaryDirectory(prefix=SNAPSHOT_PREFIX, dir=path.parent) as tmp:
            copy = Path(tmp) / "snapshot.sqlite3"
            _copy_into(copy, path)
            with copy.open("rb") as handle:
                yield iter(lambda: handle.read(READ_BYTES), b"")
    except sqlite3.Error as exc:
        raise BackupFailed(f"the SQLite snapshot failed ({type(exc).__name__})") from None


def _copy_into(target_path: Path, path: Path) -> None:
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        target = sqlite3.connect(target_path)
        try:
            # A scratch copy, thrown away if anything fails: no journal, no fsync.
            target.execute("PRAGMA journal_mode = OFF")
            target.execute("PRAGMA synchronous = OFF")
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


@contextlib.contextmanager
def _pg_dump(url: str) -> Iterator[Iterator[bytes]]:
    """``pg_dump --format=custom`` streamed, never written to disk in the clear.

    The password travels in ``PGPASSWORD``, not on the command line (where other
    users of the machine could read it in the process list).
    """
    dsn, password = without_password(url)
    env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
    command = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--dbname={dsn}"]
    try:
        # A fixed program and options; the URL comes from the operator's settings.
        proc = subprocess.Popen(  # noqa: S603
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
    except OSError as exc:
        raise BackupFailed(f"cannot run pg_dump: {exc.strerror}") from None
    assert proc.stdout is not None and proc.stderr is not None
    try:
        yield iter(lambda: proc.stdout.read(READ_BYTES), b"")  # type: ignore[union-attr]
        error = proc.stderr.read()
        if proc.wait() != 0:
            last = error.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
            raise BackupFailed(f"pg_dump failed (exit {proc.returncode}): {last[0][:200]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def without_password(url: str) -> tuple[str, str | None]:
    parts = urlsplit(url)
    if parts.password is None:
        return url, None
    host = parts.hostname or ""
    netloc = (unquote(parts.username or "") and f"{parts.username}@") + host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc)), unquote(parts.password)


def _write_sealed(path: Path, pieces: Iterable[bytes]) -> tuple[int, str]:
    part = path.with_name(path.name + PART_SUFFIX)
    digest = hashlib.sha256()
    size = 0
    try:
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            for piece in pieces:
                out.write(piece)
                digest.update(piece)
                size += len(piece)
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, path)
        fsync_dir(path.parent)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise BackupFailed(f"cannot write the backup to {path.parent}: {exc.strerror}") from None
    return size, digest.hexdigest()


def _write_private(path: Path, data: bytes) -> None:
    try:
        replace_private(path, data)
    except OSError as exc:
        raise BackupFailed(f"cannot write {path.name} in {path.parent}: {exc.strerror}") from None


# -- reading -------------------------------------------------------------------------------


def list_backups(settings: Settings, keyring: Keyring) -> list[BackupState]:
    """Every complete backup, oldest first, with whether it can be restored."""
    folders = Folders.of(settings)
    if not folders.backups.is_dir():
        return []
    states = []
    for path in sorted(folders.backups.glob(f"*{MANIFEST_SUFFIX}")):
        manifest = _read_manifest(path)
        if manifest is not None:
            states.append(BackupState(manifest, _status(folders, keyring, manifest)))
    return states


def _read_manifest(path: Path) -> Manifest | None:
    backup_id = path.name[: -len(MANIFEST_SUFFIX)]
    if not _ID_SHAPE.fullmatch(backup_id):
        return None
    try:
        manifest = Manifest.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return manifest if manifest.id == backup_id else None


def _status(folders: Folders, keyring: Keyring, manifest: Manifest) -> str:
    try:
        size = folders.sealed(manifest.id).stat().st_size
    except FileNotFoundError:
        return "file missing"
    if size != manifest.sealed_bytes:
        return "file damaged"
    try:
        _keys(folders, keyring, manifest.id)
    except NotFound:
        return "key missing"
    except BackupFailed:
        return "key unreadable"
    return "ok"


def _keys(folders: Folders, keyring: Keyring, backup_id: str) -> backup_keys.BackupKeys:
    keys, _ = backup_keys.read(folders.key(backup_id), keyring, backup_id)
    return keys


def manifest_of(settings: Settings, backup_id: str) -> Manifest:
    """The manifest of one backup; :class:`NotFound` for an unknown or malformed id."""
    manifest = _read_manifest(Folders.of(settings).manifest(check_backup_id(backup_id)))
    if manifest is None:
        raise NotFound(f"no such backup: {backup_id}")
    return manifest


def keys_of(settings: Settings, keyring: Keyring, backup_id: str) -> backup_keys.BackupKeys:
    """The backup's own key and the retired master keys its content needs."""
    return _keys(Folders.of(settings), keyring, backup_id)


def read_backup(settings: Settings, keyring: Keyring, backup_id: str) -> Iterator[bytes]:
    """The snapshot of a backup, in pieces, checked against its manifest and key.

    Raises :class:`BackupFailed` when anything does not verify; a caller writes the
    pieces somewhere temporary and trusts them only once the iteration completed.
    """
    folders = Folders.of(settings)
    manifest = manifest_of(settings, backup_id)
    key = _keys(folders, keyring, backup_id).backup_key
    try:
        with folders.sealed(backup_id).open("rb") as sealed:
            yield from _plain(manifest, key, sealed)
    except FileNotFoundError:
        raise BackupFailed(f"the file of backup {backup_id} is missing") from None
    except (DecryptionError, zlib.error, zstandard.ZstdError):
        raise BackupFailed(f"backup {backup_id} is damaged: it does not decrypt") from None


def _plain(manifest: Manifest, key: bytes, sealed: BinaryIO) -> Iterator[bytes]:
    chunks = open_chunks(key, manifest.id.encode(), sealed)
    if manifest.compression == "none":
        yield from chunks
        return
    if manifest.compression == "zlib":  # backups made before zstd
        inflate = zlib.decompressobj()
        for chunk in chunks:
            yield inflate.decompress(chunk)
        yield inflate.flush()
        if not inflate.eof:
            raise zlib.error("the compressed stream ends early")
        return
    decompressor = zstandard.ZstdDecompressor().decompressobj()
    for chunk in chunks:
        yield decompressor.decompress(chunk)
    if not decompressor.eof:
        raise zstandard.ZstdError("the compressed stream ends early")


# -- pruning -------------------------------------------------------------------------------


def prune_backups(
    settings: Settings,
    *,
    now: datetime.datetime | None = None,
    keep_days: int = KEEP_DAYS,
    keyring: Keyring | None = None,
) -> list[str]:
    """Destroy every backup older than ``keep_days`` (key first), and leftovers of
    interrupted ones. Returns the ids of the backups destroyed."""
    now = now or _now()
    folders = Folders.of(settings)
    if not folders.backups.is_dir():
        return []
    folders.make()
    destroyed = []
    # Not while a rotation re-wraps the key files: it could write a shredded one back.
    with _lock(folders), _no_rotation(keyring) if keyring else contextlib.nullcontext():
        for path in sorted(folders.backups.glob(f"*{MANIFEST_SUFFIX}")):
            manifest = _read_manifest(path)
            if manifest is not None and now - manifest.created_at > datetime.timedelta(
                days=keep_days
            ):
                _destroy(folders, manifest.id)
                destroyed.append(manifest.id)
        _remove_leftovers(folders, now)
    if settings.is_sqlite:
        _remove_restore_leftovers(folders, db.sqlite_path(settings.database_url), now)
    return destroyed


def _destroy(folders: Folders, backup_id: str) -> None:
    try:
        _shred(folders.key(backup_id))
        fsync_dir(folders.keys)
        folders.sealed(backup_id).unlink(missing_ok=True)
        folders.manifest(backup_id).unlink(missing_ok=True)
        fsync_dir(folders.backups)
    except OSError as exc:
        raise BackupFailed(f"cannot remove backup {backup_id}: {exc.strerror}") from None


def _shred(path: Path) -> None:
    """Overwrite a key file before unlinking it (where the file system allows that to
    matter); the wrapped key is useless without the master key either way."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    with path.open("r+b") as handle:
        handle.write(os.urandom(size))
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()


def _remove_leftovers(folders: Folders, now: datetime.datetime) -> None:
    """``.part`` files, keys without a backup, temporary files: from interrupted runs."""
    cutoff = (now - LEFTOVER_AGE).timestamp()
    complete = {
        p.name[: -len(MANIFEST_SUFFIX)] for p in folders.backups.glob("*" + MANIFEST_SUFFIX)
    }
    candidates = [
        *folders.backups.glob(f"*{PART_SUFFIX}"),
        *folders.backups.glob(".*.tmp"),
        *(
            p
            for p in folders.keys.glob(f"*{KEY_SUFFIX}")
            if p.name[: -len(KEY_SUFFIX)] not in complete
        ),
        *folders.keys.glob(".*.tmp"),
    ]
    for path in candidates:
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < cutoff:
                if path.suffix == KEY_SUFFIX:
                    _shred(path)
                else:
                    path.unlink()


def _remove_restore_leftovers(folders: Folders, live: Path, now: datetime.datetime) -> None:
    """Staging copies and snapshot folders a killed restore or backup left beside the
    live database: they hold what it held, erased people's wrapped keys included.
    Skipped while a restore runs (it holds the restore lock)."""
    cutoff = (now - LEFTOVER_AGE).timestamp()
    try:
        with exclusive_lock(folders.backups / RESTORE_LOCK):
            for path in [
                *live.parent.glob(f"{live.name}{STAGING_MARK}*"),
                *live.parent.glob(f"{SNAPSHOT_PREFIX}*"),
            ]:
                with contextlib.suppress(FileNotFoundError):
                    if path.stat().st_mtime >= cutoff:
                        continue
                    if path.is_dir():
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        path.unlink()
    except BlockingIOError:
        return  # a restore is running; the next prune looks again


@contextlib.contextmanager
def _no_rotation(keyring: Keyring) -> Iterator[None]:
    """No backup while the master key rotates: its key file is re-wrapped at one step
    of the rotation, and a backup made after that step would miss it."""
    if keyring.source != "file":
        yield  # a key from the environment never rotates
        return
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(keyring.rotation_lock())
        except RotationRunning:
            raise BackupFailed(
                "a master-key rotation is running; back up when it is done"
            ) from None
        yield


@contextlib.contextmanager
def _lock(folders: Folders) -> Iterator[None]:
    path = folders.backups / ".lock"
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(exclusive_lock(path))
        except BlockingIOError:
            raise BackupFailed("another backup command is running") from None
        except OSError as exc:
            raise BackupFailed(f"cannot lock {path}: {exc.strerror}") from None
        yield
