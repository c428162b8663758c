"""The master keys (KEKs) of this installation: where they come from and how they change.

A master key comes from ``COACHMATCH_MASTER_KEY`` (base64, environment) or from
the key file (``COACHMATCH_MASTER_KEY_FILE``, default ``<data>/master.key``:
base64 text, mode 0600). A fresh install generates the file.

During a rotation (:mod:`matching.key_rotation`) the new key waits in
``master.key.next`` beside the file; the keyring loads both, so data wrapped by
either stays readable, also after a crash half-way. The rotation ends by renaming
the ``.next`` file over the key file. Other processes notice a key they do not
know yet (a wrapped key or the vault's fence naming it) and re-read the files.

Every error is one line that names the file and the problem, never key material.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from anonymiser.crypto import KeyWrapper, generate_master_key
from matching.config import Settings, decode_master_key
from matching.durable import exclusive_lock, fsync_dir
from matching.errors import ConfigurationError, RotationRunning

NEXT_SUFFIX = ".next"
LOCK_SUFFIX = ".lock"
_MAX_KEY_FILE_BYTES = 1024
_FORBIDDEN_MODE_BITS = stat.S_IRWXG | stat.S_IRWXO


class Keyring:
    """The master keys this process can use: the current one and, during a rotation, the next.

    ``path`` is ``None`` when the key came from the environment; such a keyring
    cannot rotate and never reloads.
    """

    def __init__(
        self, current: KeyWrapper, next_key: KeyWrapper | None = None, *, path: Path | None = None
    ) -> None:
        self._path = path
        self._keys: tuple[KeyWrapper, KeyWrapper | None] = (current, next_key)

    def __repr__(self) -> str:
        nxt = self.next.kek_id if self.next else None
        return f"Keyring(current={self.current.kek_id!r}, next={nxt!r}, source={self.source!r})"

    @property
    def current(self) -> KeyWrapper:
        return self._keys[0]

    @property
    def next(self) -> KeyWrapper | None:
        return self._keys[1]

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def source(self) -> str:
        return "environment" if self._path is None else "file"

    @property
    def next_path(self) -> Path:
        return _next_path(self._require_file())

    def get(self, kek_id: str) -> KeyWrapper | None:
        """The key with this fingerprint; re-reads the files once if it is not loaded."""
        found = self._find(kek_id)
        if found is None and self._path is not None:
            self.reload()
            found = self._find(kek_id)
        return found

    def _find(self, kek_id: str) -> KeyWrapper | None:
        for key in self._keys:
            if key is not None and key.kek_id == kek_id:
                return key
        return None

    def reload(self) -> None:
        """Re-read the key file and the ``.next`` file (another process may have rotated)."""
        path = self._require_file()
        self._keys = (KeyWrapper(read_key_file(path)), _read_optional(_next_path(path)))

    def _require_file(self) -> Path:
        if self._path is None:
            raise ConfigurationError(
                "the master key comes from COACHMATCH_MASTER_KEY; this needs the key file"
            )
        return self._path

    # -- rotation steps (see matching.key_rotation) ---------------------------------

    @contextlib.contextmanager
    def rotation_lock(self) -> Iterator[None]:
        """Only one rotation at a time on this key file (an advisory ``flock``)."""
        path = self._require_file()
        lock_path = path.with_name(path.name + LOCK_SUFFIX)
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(exclusive_lock(lock_path))
            except BlockingIOError:
                raise RotationRunning("another key rotation (or a backup) is running") from None
            except OSError as exc:
                raise ConfigurationError(f"cannot create {lock_path}: {exc.strerror}") from None
            yield

    def begin_rotation(self) -> tuple[KeyWrapper, bool]:
        """The key to rotate to, and whether an earlier, interrupted rotation is resumed.

        A new key is written durably to the ``.next`` file before anything is
        wrapped with it, so a crash at any later point loses nothing.
        """
        self.reload()
        if self.next is not None:
            return self.next, True
        next_path = self.next_path
        publish_key_file(next_path, generate_master_key())
        wrapper = KeyWrapper(read_key_file(next_path))
        self._keys = (self.current, wrapper)
        return wrapper, False

    def finish_rotation(self, expected_kek_id: str) -> None:
        """Make the next key current: rename ``.next`` over the key file, then sync the folder."""
        path = self._require_file()
        next_path = _next_path(path)
        on_disk = _read_optional(next_path)
        if on_disk is None or on_disk.kek_id != expected_kek_id:
            raise ConfigurationError(f"{next_path} changed during the rotation; run it again")
        try:
            os.replace(next_path, path)
            fsync_dir(path.parent)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot replace {path} with {next_path}: {exc.strerror}; run the rotation again"
            ) from None
        self._keys = (on_disk, None)


def load_keyring(settings: Settings) -> Keyring:
    """The keyring from the environment key, or from the key file (generated if missing)."""
    if settings.master_key_b64:
        key = decode_master_key(settings.master_key_b64, source="COACHMATCH_MASTER_KEY")
        return Keyring(KeyWrapper(key))
    path = settings.effective_master_key_file
    if not os.path.lexists(path):
        publish_key_file(path, generate_master_key())
    # A .next file is left by an interrupted rotation: its key may wrap data already.
    return Keyring(KeyWrapper(read_key_file(path)), _read_optional(_next_path(path)), path=path)


def read_key_file(path: Path) -> bytes:
    """Read and check a key file: a regular file, mode 0600 or stricter, 32 bytes base64."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise ConfigurationError(f"the master key file {path} does not exist") from None
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the master key file {path}: {exc.strerror}"
        ) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigurationError(f"the master key file {path} is not a regular file")
        if info.st_mode & _FORBIDDEN_MODE_BITS:
            raise ConfigurationError(
                f"the master key file {path} is accessible to group or others "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); run: chmod 600 {path}"
            )
        raw = os.read(fd, _MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read the master key file {path}: {exc.strerror}"
        ) from None
    finally:
        os.close(fd)
    source = f"the master key file {path}"
    if len(raw) > _MAX_KEY_FILE_BYTES:
        raise ConfigurationError(f"{source} is too long to hold one key")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise ConfigurationError(f"{source} is not valid base64") from None
    return decode_master_key(text, source=source)


def publish_key_file(path: Path, key: bytes) -> None:
    """Write a key file atomically, mode 0600, unless one exists already.

    The key goes to a private temporary file (``O_CREAT|O_EXCL``, 0600) that is
    fsynced and then hard-linked to its name: ``link`` fails if the name exists, so
    two processes starting at once cannot both create a key, and a reader never
    sees a half-written file. The folder is fsynced so the name survives a crash.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, base64.b64encode(key) + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            with contextlib.suppress(FileExistsError):  # another process won: keep its key
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
        fsync_dir(path.parent)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot create the master key file {path}: {exc.strerror}"
        ) from None


def _read_optional(path: Path) -> KeyWrapper | None:
    if not os.path.lexists(path):
        return None
    return KeyWrapper(read_key_file(path))


def _next_path(path: Path) -> Path:
    return path.with_name(path.name + NEXT_SUFFIX)
