"""Master-key rotation: a new master key, every data key and vault secret re-wrapped.

The steps, each safe to repeat, so a crash anywhere is fixed by running again:

1. Write the new key durably to ``master.key.next`` (or, if it exists, resume
   the rotation it belongs to). From now on every process can read data wrapped
   by either key (:class:`~matching.keyring.Keyring` loads both).
2. Re-wrap the vault secrets, the fence first among them: from its commit on,
   new data keys are wrapped under the new key (see :mod:`matching.vault`).
3. Re-wrap the data keys in batches (default 1,000 rows per transaction), each
   row updated only ``WHERE kek_id = <the key it was read under>``, so a row
   shredded or re-wrapped meanwhile is left alone. One statement per batch:
   ``UPDATE ... FROM (VALUES ...)`` on SQLite, ``FROM unnest(...)`` on PostgreSQL.
4. Check that no row is left under another key, re-wrap the backups' key files
   (each keeps the old key, which its backup's content needs), then rename
   ``.next`` over the key file and fsync the folder. Only now is the old key gone
   from the key file.

The data keys themselves do not change, so no field is re-encrypted and the DEK
cache stays valid. Only one rotation runs at a time (a lock file beside the key).
A key taken from ``COACHMATCH_MASTER_KEY`` cannot be rotated here: this process
cannot change the environment of the others.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from anonymiser.crypto import DecryptionError, KeyWrapper
from matching import backup_keys, db
from matching.errors import ConfigurationError, IntegrityFailure
from matching.keyring import Keyring, read_key_file
from matching.tables import SubjectKey, VaultSecret
from matching.vault import KIND_DEK, KIND_SECRET, dek_owner, secret_owner

DEFAULT_BATCH_SIZE = 1000
MAX_BATCH_SIZE = 5000  # SQLite allows 32,766 parameters per statement; 3 per row here
MAX_PASSES = 3

ENVIRONMENT_KEY_MESSAGE = (
    "keys rotate needs the master key in a file, but it comes from COACHMATCH_MASTER_KEY: "
    "write it to a file with mode 0600, set COACHMATCH_MASTER_KEY_FILE to that file, "
    "unset COACHMATCH_MASTER_KEY and run again"
)


@dataclasses.dataclass(frozen=True)
class RotationReport:
    old_kek_id: str
    new_kek_id: str
    resumed: bool
    rewrapped_keys: int
    rewrapped_secrets: int
    rewrapped_backup_keys: int
    duration_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# Where a pass over the data keys has got to: the SQLite rowid or the PostgreSQL subject id.
Position = int | UUID


@dataclasses.dataclass(frozen=True)
class BatchResult:
    rewrapped: int
    unreadable: int
    last: Position | None  # None: nothing left after the given position


async def rotate_master_key(
    keyring: Keyring,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    backup_keys_folder: Path | None = None,
) -> RotationReport:
    """Rotate to a new master key, or finish a rotation that was interrupted.

    With ``backup_keys_folder`` the backups' key files are re-wrapped too, and keep
    the retired key (their content needs it; see :mod:`matching.backup_keys`).
    """
    if keyring.source != "file":
        raise ConfigurationError(ENVIRONMENT_KEY_MESSAGE)
    _check_batch_size(batch_size)
    started = time.perf_counter()
    with keyring.rotation_lock():
        target, resumed = keyring.begin_rotation()  # re-reads the key files first
        old_kek_id = keyring.current.kek_id
        secrets = await rewrap_secrets(keyring, target)
        keys = 0
        for _ in range(MAX_PASSES):
            keys += await rewrap_data_keys(keyring, target, batch_size=batch_size)
            left = await count_wrapped_by_others(target.kek_id)
            if not left:
                break
        else:
            raise IntegrityFailure(
                f"{left} wrapped keys could not be re-wrapped (unknown master key or damaged); "
                f"the rotation is unfinished and {keyring.next_path} is kept"
            )
        backups = 0
        if backup_keys_folder is not None and keyring.path is not None:
            retiring = read_key_file(keyring.path)  # still the old key until the rename
            backups = backup_keys.rewrap_all(backup_keys_folder, keyring, target, retiring)
        keyring.finish_rotation(target.kek_id)
    return RotationReport(
        old_kek_id=old_kek_id,
        new_kek_id=target.kek_id,
        resumed=resumed,
        rewrapped_keys=keys,
        rewrapped_secrets=secrets,
        rewrapped_backup_keys=backups,
        duration_seconds=round(time.perf_counter() - started, 3),
    )


def _check_batch_size(batch_size: int) -> None:
    if not 0 < batch_size <= MAX_BATCH_SIZE:
        raise ConfigurationError(f"the batch size must be between 1 and {MAX_BATCH_SIZE}")


async def rewrap_secrets(keyring: Keyring, target: KeyWrapper) -> int:
    """Re-wrap every vault secret not under ``target`` (one transaction; fence included)."""
    done = 0
    async with db.write_transaction():
        rows = await VaultSecret.select(
            VaultSecret.name, VaultSecret.kek_id, VaultSecret.wrapped
        ).where(VaultSecret.kek_id != target.kek_id)
        for row in rows:
            owner = secret_owner(row["name"])
            value = _unwrap(keyring, row["kek_id"], row["wrapped"], KIND_SECRET, owner)
            if value is None:
                continue
            await VaultSecret.update(
                {
                    VaultSecret.kek_id: target.kek_id,
                    VaultSecret.wrapped: target.wrap(value, kind=KIND_SECRET, owner=owner),
                }
            ).where((VaultSecret.name == row["name"]) & (VaultSecret.kek_id == row["kek_id"]))
            done += 1
    return done


async def rewrap_data_keys(
    keyring: Keyring, target: KeyWrapper, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> int:
    """Re-wrap every data key not under ``target``; returns how many were re-wrapped."""
    _check_batch_size(batch_size)
    total = 0
    after: Position | None = None
    while True:
        result = await rewrap_batch(keyring, target, after=after, batch_size=batch_size)
        total += result.rewrapped
        if result.last is None:
            return total
        after = result.last


async def rewrap_batch(
    keyring: Keyring, target: KeyWrapper, *, after: Position | None, batch_size: int
) -> BatchResult:
    """Re-wrap the next ``batch_size`` data keys not under ``target``, in one transaction."""
    async with db.write_transaction():
        rows = await _next_rows(target.kek_id, after, batch_size)
        if not rows:
            return BatchResult(0, 0, None)
        updates: list[tuple[UUID, bytes, str]] = []
        for row in rows:
            subject_id: UUID = row["subject_id"]
            owner = dek_owner(subject_id, int(row["key_version"]))
            dek = _unwrap(keyring, row["kek_id"], row["wrapped"], KIND_DEK, owner)
            if dek is not None:
                wrapped = target.wrap(dek, kind=KIND_DEK, owner=owner)
                updates.append((subject_id, wrapped, row["kek_id"]))
        changed = await _apply(target.kek_id, updates)
    return BatchResult(changed, len(rows) - len(updates), rows[-1]["position"])


async def _next_rows(kek_id: str, after: Position | None, limit: int) -> list[dict[str, Any]]:
    """The next rows in storage order on SQLite (rowid), by subject id on PostgreSQL.

    Rowid order matters on SQLite: rows are stored by rowid, so a batch touches a
    few neighbouring pages instead of one page per row (random UUID order made
    the rotation several times slower).
    """
    order = "rowid" if db.is_sqlite() else "subject_id"
    sql = (
        f"SELECT {order} AS position, subject_id, key_version, kek_id, wrapped "  # noqa: S608
        "FROM subject_key WHERE kek_id <> {}"
    )
    args: list[Any] = [kek_id]
    if after is not None:
        sql += f" AND {order} > {{}}"
        args.append(after)
    rows: list[dict[str, Any]] = await SubjectKey.raw(
        f"{sql} ORDER BY {order} LIMIT {int(limit)}", *args
    )
    return rows


def _unwrap(
    keyring: Keyring, kek_id: str, wrapped: bytes, kind: bytes, owner: bytes
) -> bytes | None:
    kek = keyring.get(kek_id)
    if kek is None:
        return None
    try:
        return kek.unwrap(bytes(wrapped), kind=kind, owner=owner)
    except DecryptionError:
        return None


async def _apply(new_kek_id: str, updates: Sequence[tuple[UUID, bytes, str]]) -> int:
    """One conditional UPDATE for the whole batch; returns the rows it changed."""
    if not updates:
        return 0
    if db.is_sqlite():
        values = ", ".join(["({}, {}, {})"] * len(updates))
        args = [value for update in updates for value in update]
        sql = (
            "UPDATE subject_key SET kek_id = {}, wrapped = v.column2 "  # noqa: S608
            f"FROM (VALUES {values}) AS v "
            "WHERE subject_key.subject_id = v.column1 AND subject_key.kek_id = v.column3 "
            "RETURNING subject_key.subject_id"
        )
        rows = await SubjectKey.raw(sql, new_kek_id, *args)
    else:
        ids, wrapped, old = (list(column) for column in zip(*updates, strict=True))
        rows = await SubjectKey.raw(
            "UPDATE subject_key AS k SET kek_id = {}, wrapped = v.wrapped "
            "FROM unnest({}::uuid[], {}::bytea[], {}::text[]) AS v(subject_id, wrapped, old) "
            "WHERE k.subject_id = v.subject_id AND k.kek_id = v.old "
            "RETURNING k.subject_id",
            new_kek_id,
            ids,
            wrapped,
            old,
        )
    return len(rows)


async def count_wrapped_by_others(kek_id: str) -> int:
    """Data keys and vault secrets not (yet) wrapped by ``kek_id``."""
    keys = await SubjectKey.count().where(SubjectKey.kek_id != kek_id)
    secrets = await VaultSecret.count().where(VaultSecret.kek_id != kek_id)
    return int(keys) + int(secrets)
