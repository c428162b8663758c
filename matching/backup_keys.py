"""The keys of the backups: one small file per backup, wrapped by the master key.

A file (``<data>/backup-keys/<backup id>.key``) holds the backup's own key and the
retired master keys that its content needs: the data keys inside a backup stay
wrapped by the master key of the day it was made. Everything in it is wrapped by
the current master key. A master-key rotation (:mod:`matching.key_rotation`)
re-wraps every file under the new key and adds the key it retires, so a backup
stays restorable for all of its 14 days; when ``backup prune`` destroys the file,
the retired key goes with it. A retired master key is therefore kept exactly as
long as a backup that needs it, and nowhere else.

The files live apart from the backups on purpose: a copy of the backup folder
alone cannot be read, and destroying a key file destroys its backup
(crypto-shredding), also where a copy of the backup itself survived.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from pathlib import Path

from anonymiser.crypto import DecryptionError, KeyWrapper, kek_id
from matching.config import Settings
from matching.durable import replace_private
from matching.errors import BackupFailed, NotFound
from matching.keyring import Keyring

FORMAT = 1
SUFFIX = ".key"
KIND_BACKUP = b"backup-key"
KIND_RETIRED = b"retired-master-key"


@dataclasses.dataclass(frozen=True)
class BackupKeys:
    """A backup's own key, and the retired master keys its content was written under."""

    backup_key: bytes = dataclasses.field(repr=False)
    retired: dict[str, bytes] = dataclasses.field(default_factory=dict, repr=False)

    def retired_wrappers(self) -> list[KeyWrapper]:
        return [KeyWrapper(raw) for raw in self.retired.values()]


def folder(settings: Settings) -> Path:
    return settings.data_dir / "backup-keys"


def path_of(keys_folder: Path, backup_id: str) -> Path:
    return keys_folder / f"{backup_id}{SUFFIX}"


def write(path: Path, wrapper: KeyWrapper, backup_id: str, keys: BackupKeys) -> None:
    """Write the file atomically (private temporary file, fsync, rename, fsync folder)."""
    owner = backup_id.encode()
    data = json.dumps(
        {
            "format": FORMAT,
            "backup_id": backup_id,
            "kek_id": wrapper.kek_id,
            "wrapped": _b64(wrapper.wrap(keys.backup_key, kind=KIND_BACKUP, owner=owner)),
            "retired": {
                kid: _b64(wrapper.wrap(raw, kind=KIND_RETIRED, owner=owner))
                for kid, raw in sorted(keys.retired.items())
            },
        },
        sort_keys=True,
    ).encode()
    try:
        replace_private(path, data)
    except OSError as exc:
        raise BackupFailed(f"cannot write the key of backup {backup_id}: {exc.strerror}") from None


def read(path: Path, keyring: Keyring, backup_id: str) -> tuple[BackupKeys, str]:
    """The keys in the file, and the fingerprint of the master key that wraps them.

    :class:`NotFound` when the file is gone (the backup was destroyed);
    :class:`BackupFailed` when it cannot be read or does not unwrap.
    """
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise NotFound(f"the key of backup {backup_id} is gone") from None
    except (OSError, ValueError):
        raise BackupFailed(f"the key of backup {backup_id} cannot be read") from None
    if not isinstance(raw, dict) or raw.get("backup_id") != backup_id:
        raise BackupFailed(f"the key file of backup {backup_id} belongs to another backup")
    wrapping = str(raw.get("kek_id", ""))
    wrapper = keyring.get(wrapping)
    if wrapper is None:
        raise BackupFailed(f"the key of backup {backup_id} is wrapped by an unknown master key")
    owner = backup_id.encode()
    try:
        backup_key = wrapper.unwrap(_unb64(raw.get("wrapped")), kind=KIND_BACKUP, owner=owner)
        retired = {
            str(kid): wrapper.unwrap(_unb64(value), kind=KIND_RETIRED, owner=owner)
            for kid, value in dict(raw.get("retired", {})).items()
        }
    except (ValueError, TypeError, DecryptionError):
        raise BackupFailed(f"the key of backup {backup_id} does not unwrap") from None
    if any(kek_id(value) != kid for kid, value in retired.items()):
        raise BackupFailed(f"the key file of backup {backup_id} is damaged")
    return BackupKeys(backup_key, retired), wrapping


def rewrap_all(keys_folder: Path, keyring: Keyring, target: KeyWrapper, retiring: bytes) -> int:
    """During a rotation: re-wrap every backup's keys under ``target`` and keep the
    master key being retired (``retiring``) with them. Safe to repeat; returns how
    many files changed."""
    retiring_id = kek_id(retiring)
    changed = 0
    for path in sorted(keys_folder.glob(f"*{SUFFIX}")) if keys_folder.is_dir() else []:
        backup_id = path.name[: -len(SUFFIX)]
        keys, wrapping = read(path, keyring, backup_id)
        if wrapping == target.kek_id and retiring_id in keys.retired:
            continue
        retired = {**keys.retired, retiring_id: retiring}
        retired.pop(target.kek_id, None)  # the new key is the current one, not retired
        write(path, target, backup_id, BackupKeys(keys.backup_key, retired))
        changed += 1
    return changed


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _unb64(value: object) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except binascii.Error:
        raise ValueError("not base64") from None
