"""Chunked stream encryption: round trips at every size, and every tampering fails."""

from __future__ import annotations

import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anonymiser.crypto import DecryptionError
from anonymiser.crypto.stream import MAGIC, open_chunks, seal_chunks

KEY = bytes(range(32))
NAME = b"20261130T020000Z-abcd"


def seal(data: bytes, chunk: int, pieces: int = 1, name: bytes = NAME) -> bytes:
    step = max(1, len(data) // pieces)
    split = [data[i : i + step] for i in range(0, len(data), step)] or [b""]
    return b"".join(seal_chunks(KEY, name, split, chunk_bytes=chunk))


def unseal(sealed: bytes, name: bytes = NAME, key: bytes = KEY) -> bytes:
    return b"".join(open_chunks(key, name, io.BytesIO(sealed)))


@settings(max_examples=200)
@given(
    data=st.binary(max_size=300),
    chunk=st.integers(min_value=1, max_value=64),
    pieces=st.integers(min_value=1, max_value=9),
)
def test_any_stream_comes_back_whole(data: bytes, chunk: int, pieces: int) -> None:
    assert unseal(seal(data, chunk, pieces)) == data


@settings(max_examples=200)
@given(data=st.binary(min_size=1, max_size=200), chunk=st.integers(1, 32), cut=st.data())
def test_a_stream_cut_anywhere_fails(data: bytes, chunk: int, cut: st.DataObject) -> None:
    sealed = seal(data, chunk)
    at = cut.draw(st.integers(min_value=0, max_value=len(sealed) - 1))
    with pytest.raises(DecryptionError):
        unseal(sealed[:at])


@settings(max_examples=200)
@given(data=st.binary(min_size=1, max_size=200), chunk=st.integers(1, 32), flip=st.data())
def test_a_changed_byte_fails(data: bytes, chunk: int, flip: st.DataObject) -> None:
    sealed = bytearray(seal(data, chunk))
    at = flip.draw(st.integers(min_value=len(MAGIC), max_value=len(sealed) - 1))
    sealed[at] ^= 1 << flip.draw(st.integers(0, 7))
    with pytest.raises(DecryptionError):
        unseal(bytes(sealed))


def test_chunks_cannot_be_reordered_or_moved_to_another_stream() -> None:
    data = os.urandom(64)
    sealed = seal(data, 16)
    header, body = sealed[:12], sealed[12:]
    size = 4 + 16 + 16
    chunks = [body[i : i + size] for i in range(0, len(body), size)]
    assert len(chunks) == 4
    with pytest.raises(DecryptionError):
        unseal(header + chunks[1] + chunks[0] + chunks[2] + chunks[3])
    with pytest.raises(DecryptionError):
        unseal(header + b"".join(chunks[:3]))  # the last chunk dropped
    with pytest.raises(DecryptionError):
        unseal(sealed, name=b"another backup")
    with pytest.raises(DecryptionError):
        unseal(sealed, key=bytes(32))


def test_nothing_but_a_header_is_not_an_empty_stream() -> None:
    sealed = seal(b"", 16)
    assert unseal(sealed) == b""
    with pytest.raises(DecryptionError):
        unseal(sealed[:12])
    with pytest.raises(DecryptionError):
        unseal(b"not a stream at all")


def test_bad_keys_and_chunk_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        list(seal_chunks(b"short", NAME, [b"x"]))
    with pytest.raises(ValueError):
        list(seal_chunks(KEY, NAME, [b"x"], chunk_bytes=0))


def test_a_header_cannot_ask_for_huge_chunks() -> None:
    sealed = bytearray(seal(b"data", 16))
    sealed[8:12] = (1 << 31).to_bytes(4, "big")
    with pytest.raises(DecryptionError):
        unseal(bytes(sealed))
