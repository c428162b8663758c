"""Key fingerprints, wrapping data keys under a master key, nonces, blind index."""

from __future__ import annotations

import hashlib
import os
import threading
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anonymiser.crypto import (
    BLIND_INDEX_EMAIL_INFO,
    BlindIndex,
    DecryptionError,
    KeyWrapper,
    derive_index_key,
    generate_data_key,
    generate_master_key,
    kek_id,
    normalise_email,
)
from anonymiser.crypto.nonces import random_nonce

MASTER = generate_master_key()
WRAPPER = KeyWrapper(MASTER)
OWNER = uuid.uuid4().bytes


def test_keys_are_32_random_bytes() -> None:
    keys = {generate_master_key() for _ in range(50)} | {generate_data_key() for _ in range(50)}
    assert len(keys) == 100
    assert all(len(k) == 32 for k in keys)


def test_kek_id_is_a_domain_separated_fingerprint() -> None:
    fingerprint = kek_id(MASTER)
    assert len(fingerprint) == 16 and int(fingerprint, 16) >= 0
    assert fingerprint == kek_id(MASTER) == WRAPPER.kek_id
    assert fingerprint != kek_id(generate_master_key())
    assert fingerprint != hashlib.sha256(MASTER).hexdigest()[:16]
    with pytest.raises(ValueError, match="32 bytes"):
        kek_id(b"too short")


@given(key=st.binary(min_size=32, max_size=32))
def test_wrap_round_trip(key: bytes) -> None:
    wrapped = WRAPPER.wrap(key, kind=b"dek", owner=OWNER)
    assert key not in wrapped
    assert WRAPPER.unwrap(wrapped, kind=b"dek", owner=OWNER) == key


@pytest.mark.parametrize(
    "change",
    ["owner", "kind", "master", "flip"],
)
def test_unwrap_fails_for_another_owner_kind_key_or_a_flipped_bit(change: str) -> None:
    wrapped = WRAPPER.wrap(generate_data_key(), kind=b"dek", owner=OWNER)
    wrapper, kind, owner = WRAPPER, b"dek", OWNER
    if change == "owner":
        owner = uuid.uuid4().bytes
    elif change == "kind":
        kind = b"secret"
    elif change == "master":
        wrapper = KeyWrapper(generate_master_key())
    else:
        wrapped = wrapped[:20] + bytes([wrapped[20] ^ 0x10]) + wrapped[21:]
    with pytest.raises(DecryptionError):
        wrapper.unwrap(wrapped, kind=kind, owner=owner)


def test_unwrap_checks_length_and_version() -> None:
    wrapped = WRAPPER.wrap(generate_data_key(), kind=b"dek", owner=OWNER)
    for bad in (wrapped[:-1], wrapped + b"\x00", b"\x02" + wrapped[1:], b""):
        with pytest.raises(DecryptionError):
            WRAPPER.unwrap(bad, kind=b"dek", owner=OWNER)


def test_wrapper_repr_shows_only_the_fingerprint() -> None:
    assert MASTER.hex() not in repr(WRAPPER)
    assert WRAPPER.kek_id in repr(WRAPPER)


def test_nonces_are_unique_across_threads_and_blocks() -> None:
    seen: list[bytes] = []
    lock = threading.Lock()

    def draw() -> None:
        mine = [random_nonce() for _ in range(3000)]  # several blocks of 512 each
        with lock:
            seen.extend(mine)

    threads = [threading.Thread(target=draw) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 24000
    assert len(set(seen)) == len(seen)
    assert all(len(n) == 12 for n in seen)


def test_forked_child_never_reuses_the_parents_nonces() -> None:
    random_nonce()  # the parent is mid-block
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.write(write, b"".join(random_nonce() for _ in range(10)))
        finally:
            os._exit(0)
    os.close(write)
    child = os.read(read, 120)
    os.close(read)
    os.waitpid(pid, 0)
    parent = b"".join(random_nonce() for _ in range(10))
    assert len(child) == 120
    assert {child[i : i + 12] for i in range(0, 120, 12)}.isdisjoint(
        {parent[i : i + 12] for i in range(0, 120, 12)}
    )


# -- blind index ----------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    ["anna@example.org", "  Anna@Example.ORG ", "ANNA@EXAMPLE.ORG\n", "\uff41nna@example.org"],
)
def test_email_variants_share_one_index(variant: str) -> None:
    index = BlindIndex(b"r" * 32)
    assert index.email(variant) == index.email("anna@example.org")


def test_index_is_keyed_hex_and_distinguishes_addresses() -> None:
    root = generate_master_key()
    value = BlindIndex(root).email("anna@example.org")
    assert len(value) == 64 and int(value, 16) >= 0
    assert value != BlindIndex(root).email("anne@example.org")
    assert value != BlindIndex(generate_master_key()).email("anna@example.org")
    assert value != hashlib.sha256(b"anna@example.org").hexdigest()


def test_index_key_is_derived_per_purpose() -> None:
    root = generate_master_key()
    assert derive_index_key(root) != root
    assert derive_index_key(root) == derive_index_key(root, BLIND_INDEX_EMAIL_INFO)
    assert derive_index_key(root) != derive_index_key(root, b"coachmatch/blind-index/phone/v1")
    with pytest.raises(ValueError, match="at least 32"):
        derive_index_key(b"short")


def test_normalisation_is_strip_nfkc_casefold() -> None:
    assert normalise_email("  Stra\u00dfe@Example.ORG ") == "strasse@example.org"
    assert normalise_email("a.b+tag@gmail.com") == "a.b+tag@gmail.com"  # no provider rules
