"""The vault: envelope encryption of personal fields, the e-mail blind index, crypto-shredding.

Every subject has its own data key (DEK), stored only wrapped by the master key
(:class:`~matching.tables.SubjectKey`). Fields are AES-256-GCM under the DEK,
bound to table, column, row id and key version (:mod:`anonymiser.crypto.fields`).
Shredding deletes the wrapped DEK: every ciphertext of that subject, wherever it
is, becomes noise.

Two vault secrets live in :class:`~matching.tables.VaultSecret`, wrapped like
DEKs: the blind-index root, and the *fence* (``master-key-check``), a random
value whose only jobs are to prove at start-up that the loaded master key fits
this database, and to say which master key wraps new data keys. New data keys
are wrapped under the key the fence names, read in the same transaction
(``FOR SHARE`` on PostgreSQL; on SQLite writers are serialised anyway). A key
rotation re-wraps the fence first, so a data key created while it runs is
either seen by the re-wrap or wrapped under the new key already; none can be
left under the retired one.

Unwrapped DEKs are kept in a bounded LRU cache (default 1,024 entries) with a
time limit (default 60 s). The shredding process drops the entry at once and
never caches that subject again; the time limit bounds how long a shred done by
another process can go unnoticed in this one.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

from anonymiser.crypto import (
    BlindIndex,
    DecryptionError,
    FieldCipher,
    KeyWrapper,
    field_aad,
    generate_data_key,
)
from matching import bulk, db
from matching.errors import (
    ConfigurationError,
    DecryptionFailed,
    IntegrityFailure,
    SubjectErased,
)
from matching.keyring import Keyring
from matching.tables import SubjectKey, VaultSecret

FENCE = "master-key-check"
BLIND_INDEX_ROOT = "blind-index-root"
APP_KEY_ROOT = "app-hmac-root"  # root of the message-authentication keys (matching.app_secrets)
SECRET_NAMES = (FENCE, BLIND_INDEX_ROOT, APP_KEY_ROOT)
SECRET_BYTES = 32
KIND_DEK = b"dek"
KIND_SECRET = b"secret"
CURRENT_KEY_VERSION = 1

RowId = UUID | str


@dataclasses.dataclass(frozen=True)
class NewKey:
    """A new subject's data key before it is stored; the key stays out of ``repr``."""

    subject_id: UUID
    dek: bytes = dataclasses.field(repr=False)
    cipher: FieldCipher = dataclasses.field(repr=False)

    def encrypt(self, table: str, column: str, row_id: RowId, value: str | bytes) -> bytes:
        """As :meth:`Vault.encrypt`, for this subject, without a trip to the cache."""
        return _seal(self.cipher, CURRENT_KEY_VERSION, table, column, row_id, value)


@dataclasses.dataclass(frozen=True)
class StoredKey:
    """The data key of a subject whose key is stored: encrypts their new fields
    without a trip to the cache for each (see :meth:`Vault.stored_key`)."""

    subject_id: UUID
    version: int
    cipher: FieldCipher = dataclasses.field(repr=False)

    def encrypt(self, table: str, column: str, row_id: RowId, value: str | bytes) -> bytes:
        return _seal(self.cipher, self.version, table, column, row_id, value)


#: What a writer of a subject's new rows encrypts their fields with.
SubjectKeyring = NewKey | StoredKey

_CacheEntry = tuple[float, int, FieldCipher]  # expires at, key version, cipher


def dek_owner(subject_id: UUID, key_version: int) -> bytes:
    """What a wrapped DEK is bound to: the subject id and the data-key version."""
    return subject_id.bytes + key_version.to_bytes(4, "big")


def secret_owner(name: str) -> bytes:
    return name.encode("utf-8")


class DataKeyCache:
    """Bounded LRU of unwrapped data keys, with a time limit per entry.

    A dropped (shredded) subject is remembered in a bounded tombstone list and is
    never cached again: a read that fetched the key just before the shred, or
    one that runs before the erasure transaction commits (and still sees the
    row), cannot put the key back. Reads themselves still go to the database,
    so a shred that is rolled back costs nothing but the cache entry.
    A lock keeps it consistent when worker threads share one vault.
    """

    def __init__(
        self, max_entries: int = 1024, ttl_seconds: float = 60.0, tombstones: int = 4096
    ) -> None:
        if max_entries < 1 or ttl_seconds <= 0 or tombstones < 1:
            raise ValueError("the cache needs room and time")
        self._entries: OrderedDict[UUID, _CacheEntry] = OrderedDict()
        self._tombstones: OrderedDict[UUID, None] = OrderedDict()
        self._max = max_entries
        self._max_tombstones = tombstones
        self._ttl = ttl_seconds
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, subject_id: object) -> bool:
        return subject_id in self._entries

    def get(self, subject_id: UUID) -> tuple[int, FieldCipher] | None:
        with self._lock:
            entry = self._entries.get(subject_id)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self._entries[subject_id]
                return None
            self._entries.move_to_end(subject_id)
            return entry[1], entry[2]

    def put(self, subject_id: UUID, key_version: int, cipher: FieldCipher) -> None:
        with self._lock:
            if subject_id in self._tombstones:
                return
            self._entries[subject_id] = (time.monotonic() + self._ttl, key_version, cipher)
            self._entries.move_to_end(subject_id)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def drop(self, subject_id: UUID) -> None:
        """Forget the subject's key, and never cache it again."""
        with self._lock:
            self._entries.pop(subject_id, None)
            self._tombstones[subject_id] = None
            while len(self._tombstones) > self._max_tombstones:
                self._tombstones.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class Vault:
    """Encrypts and decrypts personal fields per subject; see the module docstring."""

    def __init__(
        self, keyring: Keyring, *, cache_size: int = 1024, cache_ttl_seconds: float = 60.0
    ) -> None:
        self._keyring = keyring
        self._cache = DataKeyCache(cache_size, cache_ttl_seconds)
        self._blind_index: BlindIndex | None = None
        self._secrets: dict[str, bytes] = {}

    @property
    def keyring(self) -> Keyring:
        return self._keyring

    @property
    def cache(self) -> DataKeyCache:
        return self._cache

    # -- secrets -------------------------------------------------------------------

    async def ensure_secrets(self) -> None:
        """Create the vault secrets if missing; check the master key fits the database.

        Safe when several processes start at once: ``INSERT ... ON CONFLICT DO
        NOTHING``, then everyone reads back the one row that won.
        """
        values = {name: await self._load_or_create_secret(name) for name in SECRET_NAMES}
        self._secrets = values
        self._blind_index = BlindIndex(values[BLIND_INDEX_ROOT])

    def secret(self, name: str) -> bytes:
        """A vault secret loaded by :meth:`ensure_secrets` (one of ``SECRET_NAMES``)."""
        try:
            return self._secrets[name]
        except KeyError:
            raise ConfigurationError(f"the vault secret {name!r} is not loaded") from None

    async def _load_or_create_secret(self, name: str) -> bytes:
        row = await _secret_row(name)
        if row is None:
            kek = self._keyring.current
            wrapped = kek.wrap(_random_secret(), kind=KIND_SECRET, owner=secret_owner(name))
            await VaultSecret.insert(
                VaultSecret(name=name, kek_id=kek.kek_id, wrapped=wrapped)
            ).on_conflict(action="DO NOTHING")
            row = await _secret_row(name)
            if row is None:
                raise IntegrityFailure(f"the vault secret {name!r} could not be stored")
        kek = self._known_kek(row["kek_id"])
        try:
            return kek.unwrap(bytes(row["wrapped"]), kind=KIND_SECRET, owner=secret_owner(name))
        except DecryptionError:
            raise IntegrityFailure(
                f"the vault secret {name!r} does not authenticate under master key "
                f"{kek.kek_id}: the database or the key file is damaged"
            ) from None

    def _known_kek(self, kek_id: str) -> KeyWrapper:
        kek = self._keyring.get(kek_id)
        if kek is None:
            raise ConfigurationError(
                f"the master key does not fit this database: its keys are wrapped by master "
                f"key {kek_id}, the loaded key is {self._keyring.current.kek_id}"
            )
        return kek

    # -- data keys -----------------------------------------------------------------

    async def create_subject_key(self, subject_id: UUID) -> None:
        """Create and store the subject's data key (joins the caller's transaction)."""
        async with db.write_transaction():
            await self.store_new_keys([self.new_key(subject_id)])

    def new_key(self, subject_id: UUID) -> NewKey:
        """A data key for a new subject, usable at once (it is cached), stored later by
        :meth:`store_new_keys` in the transaction that writes the subject."""
        dek = generate_data_key()
        key = NewKey(subject_id, dek, FieldCipher(dek))
        self._cache.put(subject_id, CURRENT_KEY_VERSION, key.cipher)
        return key

    async def store_new_keys(self, keys: Sequence[NewKey]) -> None:
        """Wrap the new keys under the master key the fence names and store them
        (inside the caller's write transaction, see the module's note on rotation)."""
        if not keys:
            return
        kek = self._known_kek(await _fence_kek_id())
        await bulk.insert(
            SubjectKey,
            [
                {
                    "subject_id": key.subject_id,
                    "key_version": CURRENT_KEY_VERSION,
                    "kek_id": kek.kek_id,
                    "wrapped": kek.wrap(
                        key.dek,
                        kind=KIND_DEK,
                        owner=dek_owner(key.subject_id, CURRENT_KEY_VERSION),
                    ),
                }
                for key in keys
            ],
        )

    def forget_new_keys(self, keys: Iterable[NewKey]) -> None:
        """Drop the cached keys of subjects whose transaction did not commit."""
        for key in keys:
            self._cache.drop(key.subject_id)

    async def _cipher(self, subject_id: UUID) -> tuple[int, FieldCipher]:
        hit = self._cache.get(subject_id)
        if hit is not None:
            return hit
        row, kek = await self._wrapped_key(subject_id)
        version = int(row["key_version"])
        try:
            dek = kek.unwrap(
                bytes(row["wrapped"]), kind=KIND_DEK, owner=dek_owner(subject_id, version)
            )
        except DecryptionError:
            raise DecryptionFailed() from None
        cipher = FieldCipher(dek)
        self._cache.put(subject_id, version, cipher)
        return version, cipher

    async def _wrapped_key(self, subject_id: UUID) -> tuple[dict[str, Any], KeyWrapper]:
        row = await _key_row(subject_id)
        if row is not None and self._keyring.get(row["kek_id"]) is None:
            # A rotation may have re-wrapped the row and retired its key since we read it.
            row = await _key_row(subject_id)
        if row is None:
            raise SubjectErased("this data subject has been erased")
        return row, self._known_kek(row["kek_id"])

    async def prefetch(self, subject_ids: Iterable[UUID]) -> None:
        """Load the data keys of many subjects with one query (for lists, e.g. a coach's feed).

        Only keys not cached yet are read. A key that cannot be used here (its master
        key was rotated away meanwhile, or it does not authenticate) is skipped: the
        ordinary path of :meth:`decrypt_bytes` reads it again and reports the problem.
        """
        missing = [s for s in dict.fromkeys(subject_ids) if self._cache.get(s) is None]
        if not missing:
            return
        rows = await SubjectKey.select(
            SubjectKey.subject_id, SubjectKey.key_version, SubjectKey.kek_id, SubjectKey.wrapped
        ).where(SubjectKey.subject_id.is_in(missing))
        for row in rows:
            kek = self._keyring.get(row["kek_id"])
            if kek is None:
                continue
            subject_id, version = row["subject_id"], int(row["key_version"])
            try:
                dek = kek.unwrap(
                    bytes(row["wrapped"]), kind=KIND_DEK, owner=dek_owner(subject_id, version)
                )
            except DecryptionError:
                continue
            self._cache.put(subject_id, version, FieldCipher(dek))

    async def shred(self, subject_id: UUID) -> None:
        """Destroy the subject's data key (call inside the erasure transaction)."""
        await self.shred_many([subject_id])

    async def shred_many(self, subject_ids: Sequence[UUID]) -> list[UUID]:
        """Destroy these subjects' data keys (inside the erasure transaction); returns
        whose keys there were."""
        for subject_id in subject_ids:
            self._cache.drop(subject_id)
        ids = db.IdParams(subject_ids)
        returning = db.text_of("subject_id")
        rows = await db.for_ids(
            SubjectKey,
            f"DELETE FROM subject_key WHERE subject_id {{ids}} RETURNING {returning}",  # noqa: S608
            ids.params,
        )
        return [ids[row["subject_id"]] for row in rows]

    # -- fields --------------------------------------------------------------------

    async def encrypt(
        self, subject_id: UUID, table: str, column: str, row_id: RowId, value: str | bytes
    ) -> bytes:
        """Encrypt one value for ``table.column`` of row ``row_id`` under the subject's key."""
        version, cipher = await self._cipher(subject_id)
        return _seal(cipher, version, table, column, row_id, value)

    async def stored_key(self, subject_id: UUID) -> StoredKey:
        """The subject's data key, for many fields at once; ``SubjectErased`` if gone."""
        version, cipher = await self._cipher(subject_id)
        return StoredKey(subject_id, version, cipher)

    async def decrypt_bytes(
        self, subject_id: UUID, table: str, column: str, row_id: RowId, ciphertext: bytes
    ) -> bytes:
        version, cipher = await self._cipher(subject_id)
        try:
            return cipher.decrypt(bytes(ciphertext), field_aad(table, column, row_id, version))
        except DecryptionError:
            raise DecryptionFailed() from None

    async def decrypt_text(
        self, subject_id: UUID, table: str, column: str, row_id: RowId, ciphertext: bytes
    ) -> str:
        data = await self.decrypt_bytes(subject_id, table, column, row_id, ciphertext)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionFailed() from None

    # -- blind index ---------------------------------------------------------------

    def email_index(self, email: str) -> str:
        """The blind index of an e-mail address (normalised: strip, NFKC, casefold)."""
        if self._blind_index is None:
            raise ConfigurationError("the vault is not ready: ensure_secrets() has not run")
        return self._blind_index.email(email)


def _seal(  # noqa: PLR0917 (the field's address, in the order of field_aad)
    cipher: FieldCipher, version: int, table: str, column: str, row_id: RowId, value: str | bytes
) -> bytes:
    data = value.encode("utf-8") if isinstance(value, str) else value
    return cipher.encrypt(data, field_aad(table, column, row_id, version))


def _random_secret() -> bytes:
    return generate_data_key()  # 32 bytes from the OS, like a data key


async def _secret_row(name: str) -> dict[str, Any] | None:
    rows = await VaultSecret.select(VaultSecret.kek_id, VaultSecret.wrapped).where(
        VaultSecret.name == name
    )
    return rows[0] if rows else None


async def _key_row(subject_id: UUID) -> dict[str, Any] | None:
    rows = await SubjectKey.select(
        SubjectKey.key_version, SubjectKey.kek_id, SubjectKey.wrapped
    ).where(SubjectKey.subject_id == subject_id)
    return rows[0] if rows else None


async def _fence_kek_id() -> str:
    """The master key new data keys are wrapped under, read as a fence against rotation.

    On PostgreSQL the row is read ``FOR SHARE``: a rotation re-wrapping the fence
    waits for this transaction, whose new key row its re-wrap then sees.
    """
    lock = "" if db.is_sqlite() else " FOR SHARE"
    rows = await VaultSecret.raw(
        f"SELECT kek_id FROM vault_secret WHERE name = {{}}{lock}",  # noqa: S608
        FENCE,
    )
    if not rows:
        raise ConfigurationError("the vault is not ready: ensure_secrets() has not run")
    return str(rows[0]["kek_id"])
