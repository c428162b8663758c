"""Keys for message authentication (form tokens, throttle keys), derived from one vault secret.

The root is a random 256-bit value stored like every vault secret: wrapped by the
master key in :class:`~matching.tables.VaultSecret` (so ``keys rotate`` re-wraps it
with the others, and a database without the master key reveals nothing). Each use
gets its own key from the root through HKDF with a distinct label, so a key for
one purpose never doubles as another's. Several web processes share the root
through the database, so a token one process signs another accepts.

A new root is wrapped under the master key that the vault's fence names, read in
the same write transaction, like a new data key (see :mod:`matching.vault`), so a
rotation running at the same moment cannot leave it under the retired key.
"""

from __future__ import annotations

import weakref
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from anonymiser.crypto import DecryptionError, generate_data_key
from matching import db
from matching.errors import ConfigurationError, IntegrityFailure
from matching.tables import VaultSecret
from matching.vault import FENCE, KIND_SECRET, Vault, secret_owner

ROOT_NAME = "app-hmac-root"
KEY_BYTES = 32
_LABEL = b"coachmatch/app-key/v1/"

# One root per vault (per runtime); the secret never changes, only its wrapping does.
_roots: weakref.WeakKeyDictionary[Vault, bytes] = weakref.WeakKeyDictionary()


async def derived_key(vault: Vault, purpose: str) -> bytes:
    """A 256-bit key for ``purpose`` (a short ASCII label such as ``"web-forms"``)."""
    if not purpose or not purpose.isascii():
        raise ValueError("a key purpose is a short ASCII label")
    root = _roots.get(vault)
    if root is None:
        root = await _load_or_create_root(vault)
        _roots[vault] = root
    hkdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None,
                info=_LABEL + purpose.encode("ascii"))
    return hkdf.derive(root)


async def _load_or_create_root(vault: Vault) -> bytes:
    row = await _root_row()
    if row is None:
        async with db.write_transaction():
            kek = vault.keyring.get(await _fence_kek_id())
            if kek is None:
                raise ConfigurationError("the master key does not fit this database")
            wrapped = kek.wrap(generate_data_key(), kind=KIND_SECRET, owner=secret_owner(ROOT_NAME))
            await VaultSecret.insert(
                VaultSecret(name=ROOT_NAME, kek_id=kek.kek_id, wrapped=wrapped)
            ).on_conflict(action="DO NOTHING")
        row = await _root_row()
        if row is None:
            raise IntegrityFailure("the application key could not be stored")
    kek = vault.keyring.get(row["kek_id"])
    if kek is None:
        raise ConfigurationError("the master key does not fit this database")
    try:
        return kek.unwrap(bytes(row["wrapped"]), kind=KIND_SECRET, owner=secret_owner(ROOT_NAME))
    except DecryptionError:
        raise IntegrityFailure("the application key does not authenticate") from None


async def _root_row() -> dict[str, Any] | None:
    rows = await VaultSecret.select(VaultSecret.kek_id, VaultSecret.wrapped).where(
        VaultSecret.name == ROOT_NAME
    )
    return rows[0] if rows else None


async def _fence_kek_id() -> str:
    # Read FOR SHARE on PostgreSQL: a rotation re-wraps the fence first and waits for us.
    lock = "" if db.is_sqlite() else " FOR SHARE"
    rows = await VaultSecret.raw(
        f"SELECT kek_id FROM vault_secret WHERE name = {{}}{lock}", FENCE  # noqa: S608
    )
    if not rows:
        raise ConfigurationError("the vault is not ready: ensure_secrets() has not run")
    return str(rows[0]["kek_id"])
