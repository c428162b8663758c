"""The vault on real databases: round trips, moved and tampered values, shredding, the cache."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from anonymiser.crypto import FieldCipher, KeyWrapper, generate_data_key, generate_master_key
from matching import db
from matching.config import Settings
from matching.errors import ConfigurationError, DecryptionFailed, SubjectErased
from matching.keyring import Keyring, load_keyring
from matching.tables import SubjectKey, VaultSecret
from matching.vault import SECRET_NAMES, DataKeyCache, Vault

T, C = "data_subject", "name"


@pytest.fixture
async def vault(database: object, settings: Settings) -> Vault:
    vault = Vault(load_keyring(settings))
    await vault.ensure_secrets()
    return vault


async def new_subject(vault: Vault) -> uuid.UUID:
    subject_id = uuid.uuid4()
    await vault.create_subject_key(subject_id)
    return subject_id


async def test_round_trip_text_and_bytes(vault: Vault) -> None:
    sid = await new_subject(vault)
    blob = await vault.encrypt(sid, T, C, sid, "Anna de Vries")
    assert b"Anna" not in blob
    assert await vault.decrypt_text(sid, T, C, sid, blob) == "Anna de Vries"
    raw = await vault.encrypt(sid, "coach", "totp_secret", str(sid), b"\x00\xffsecret")
    assert await vault.decrypt_bytes(sid, "coach", "totp_secret", sid, raw) == b"\x00\xffsecret"


async def test_a_fresh_vault_reads_from_the_database(vault: Vault, settings: Settings) -> None:
    sid = await new_subject(vault)
    blob = await vault.encrypt(sid, T, C, sid, "Anna")
    other = Vault(load_keyring(settings))
    await other.ensure_secrets()
    assert await other.decrypt_text(sid, T, C, sid, blob) == "Anna"
    assert other.email_index("a@b.nl") == vault.email_index("A@B.NL ")


@pytest.mark.parametrize("move", ["row", "column", "table", "subject"])
async def test_moved_ciphertext_fails_with_one_generic_error(vault: Vault, move: str) -> None:
    sid, other = await new_subject(vault), await new_subject(vault)
    blob = await vault.encrypt(sid, T, "email", sid, "anna@example.org")
    where = {
        "row": (sid, T, "email", uuid.uuid4()),
        "column": (sid, T, "name", sid),
        "table": (sid, "coach", "email", sid),
        "subject": (other, T, "email", sid),
    }[move]
    subject, table, column, row = where
    with pytest.raises(DecryptionFailed) as caught:
        await vault.decrypt_text(subject, table, column, row, blob)
    assert str(caught.value) == "A stored value could not be decrypted."
    assert caught.value.__cause__ is None


async def test_every_bit_flip_fails(vault: Vault) -> None:
    sid = await new_subject(vault)
    blob = await vault.encrypt(sid, T, C, sid, "Jan")
    for position in range(len(blob) * 8):
        tampered = bytearray(blob)
        tampered[position // 8] ^= 1 << (position % 8)
        with pytest.raises(DecryptionFailed):
            await vault.decrypt_text(sid, T, C, sid, bytes(tampered))


async def test_wrapped_key_moved_to_another_subject_fails(vault: Vault) -> None:
    a, b = await new_subject(vault), await new_subject(vault)
    blob = await vault.encrypt(a, T, C, a, "Anna")
    wrapped_a = (await SubjectKey.select(SubjectKey.wrapped).where(SubjectKey.subject_id == a))[0]
    await SubjectKey.update({SubjectKey.wrapped: wrapped_a["wrapped"]}).where(
        SubjectKey.subject_id == b
    )
    vault.cache.clear()
    with pytest.raises(DecryptionFailed):
        await vault.decrypt_text(b, T, C, a, blob)  # b's row now holds a's wrapped key


async def test_shredded_subject_cannot_be_decrypted(vault: Vault, settings: Settings) -> None:
    sid = await new_subject(vault)
    blob = await vault.encrypt(sid, T, C, sid, "Anna")
    assert await vault.decrypt_text(sid, T, C, sid, blob) == "Anna"
    assert sid in vault.cache
    async with db.write_transaction():
        await vault.shred(sid)
    assert sid not in vault.cache
    with pytest.raises(SubjectErased):
        await vault.decrypt_text(sid, T, C, sid, blob)
    with pytest.raises(SubjectErased):
        await vault.encrypt(sid, T, C, sid, "new")
    fresh = Vault(load_keyring(settings))
    await fresh.ensure_secrets()
    with pytest.raises(SubjectErased):
        await fresh.decrypt_text(sid, T, C, sid, blob)
    assert await SubjectKey.count().where(SubjectKey.subject_id == sid) == 0


async def test_shred_rolled_back_keeps_the_key(vault: Vault) -> None:
    sid = await new_subject(vault)
    blob = await vault.encrypt(sid, T, C, sid, "Anna")

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with db.write_transaction():
            await vault.shred(sid)
            raise Abort
    assert await vault.decrypt_text(sid, T, C, sid, blob) == "Anna"


async def test_cache_is_bounded_and_refetches(database: object, settings: Settings) -> None:
    vault = Vault(load_keyring(settings), cache_size=3)
    await vault.ensure_secrets()
    subjects = [await new_subject(vault) for _ in range(6)]
    blobs = [await vault.encrypt(s, T, C, s, f"name {i}") for i, s in enumerate(subjects)]
    assert len(vault.cache) == 3
    for i, (sid, blob) in enumerate(zip(subjects, blobs, strict=True)):
        assert await vault.decrypt_text(sid, T, C, sid, blob) == f"name {i}"
    assert len(vault.cache) == 3


def test_cache_never_takes_back_a_shredded_subject() -> None:
    cache = DataKeyCache(max_entries=4, ttl_seconds=60, tombstones=2)
    sid = uuid.uuid4()
    cache.put(sid, 1, FieldCipher(generate_data_key()))
    cache.drop(sid)  # a shred...
    cache.put(sid, 1, FieldCipher(generate_data_key()))  # ...and a read that raced it
    assert cache.get(sid) is None
    cache.drop(uuid.uuid4())
    cache.drop(uuid.uuid4())  # tombstones are bounded too
    cache.put(sid, 1, FieldCipher(generate_data_key()))
    assert cache.get(sid) is not None


async def test_read_racing_an_uncommitted_shred_is_not_cached(vault: Vault) -> None:
    sid = await new_subject(vault)
    blob = await vault.encrypt(sid, T, C, sid, "Anna")
    vault.cache.drop(sid)  # as shred does, before its transaction commits
    assert await vault.decrypt_text(sid, T, C, sid, blob) == "Anna"  # row still there
    assert sid not in vault.cache


async def test_cache_entries_expire() -> None:
    cache = DataKeyCache(max_entries=4, ttl_seconds=0.01)
    sid = uuid.uuid4()
    cache.put(sid, 1, FieldCipher(generate_data_key()))
    assert cache.get(sid) is not None
    await asyncio.sleep(0.02)
    assert cache.get(sid) is None
    assert len(cache) == 0


async def test_secrets_are_created_once_even_concurrently(
    database: object, settings: Settings
) -> None:
    keyring = load_keyring(settings)
    vaults = [Vault(keyring) for _ in range(4)]
    await asyncio.gather(*(v.ensure_secrets() for v in vaults))
    assert await VaultSecret.count() == len(SECRET_NAMES)
    assert {v.email_index("x@y.nl") for v in vaults} == {vaults[0].email_index("x@y.nl")}
    names = {row["name"] for row in await VaultSecret.select(VaultSecret.name)}
    assert names == set(SECRET_NAMES)


async def test_another_master_key_is_refused_clearly(vault: Vault) -> None:
    wrong = Vault(Keyring(KeyWrapper(generate_master_key())))
    with pytest.raises(ConfigurationError, match="master key does not fit this database"):
        await wrong.ensure_secrets()


async def test_vault_needs_its_secrets_first(database: object) -> None:
    vault = Vault(Keyring(KeyWrapper(generate_master_key())))
    with pytest.raises(ConfigurationError, match="ensure_secrets"):
        vault.email_index("a@b.nl")
    with pytest.raises(ConfigurationError, match="ensure_secrets"):
        await vault.create_subject_key(uuid.uuid4())


async def test_unknown_subject_is_reported_as_erased(vault: Vault) -> None:
    with pytest.raises(SubjectErased):
        await vault.encrypt(uuid.uuid4(), T, C, uuid.uuid4(), "x")
