"""Encrypting a large byte stream (a backup) in authenticated chunks.

AES-256-GCM takes its whole message at once, and a backup can be gigabytes, so
the stream is cut into chunks of at most ``CHUNK_BYTES``, each sealed on its own:

    header:  MAGIC (8 bytes) || chunk size (4, big endian)
    chunk:   length of the sealed chunk (4, big endian) || ciphertext+tag

Every key seals exactly one stream (a backup has a key of its own), so the nonce
can be the chunk's number: never repeated under that key. The associated data
binds each chunk to the stream's name (the backup id), the header, its number and
whether it is the last one, so chunks cannot be reordered, swapped between backups, dropped,
or cut off at the end without :class:`DecryptionError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from anonymiser.crypto._encoding import length_prefixed
from anonymiser.crypto.errors import DecryptionError
from anonymiser.crypto.keys import KEY_BYTES

MAGIC = b"CMSTRM1\n"
CHUNK_BYTES = 1 << 20
#: The largest chunk a reader accepts: the header is read before anything is
#: authenticated, and must not make it read gigabytes into memory.
MAX_CHUNK_BYTES = 64 << 20
_TAG_BYTES = 16
_LABEL = b"coachmatch/stream/v1"
_LAST = b"\x01"
_MORE = b"\x00"


def _aad(name: bytes, chunk_bytes: int, index: int, last: bool) -> bytes:
    return length_prefixed(
        _LABEL,
        name,
        chunk_bytes.to_bytes(4, "big"),
        index.to_bytes(8, "big"),
        _LAST if last else _MORE,
    )


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def _check(key: bytes) -> AESGCM:
    if len(key) != KEY_BYTES:
        raise ValueError(f"a key must be {KEY_BYTES} bytes")
    return AESGCM(key)


def seal_chunks(
    key: bytes, name: bytes, plaintext: Iterable[bytes], chunk_bytes: int = CHUNK_BYTES
) -> Iterator[bytes]:
    """The sealed stream, piece by piece: the header, then one piece per chunk.

    ``plaintext`` may come in pieces of any size; they are re-cut into chunks. An
    empty stream still has one (empty, last) chunk, so it cannot be confused with
    a stream cut off after its header.
    """
    if not 0 < chunk_bytes <= MAX_CHUNK_BYTES:
        raise ValueError("the chunk size must be between 1 byte and 64 MiB")
    aead = _check(key)
    yield MAGIC + chunk_bytes.to_bytes(4, "big")
    index = 0
    pending = bytearray()
    for piece in plaintext:
        pending += piece
        # Strictly more than a chunk: a full chunk may turn out to be the last one.
        while len(pending) > chunk_bytes:
            yield _seal(aead, _aad(name, chunk_bytes, index, False), index, pending[:chunk_bytes])
            del pending[:chunk_bytes]
            index += 1
    yield _seal(aead, _aad(name, chunk_bytes, index, True), index, pending)


def _seal(aead: AESGCM, aad: bytes, index: int, chunk: bytearray) -> bytes:
    sealed = aead.encrypt(_nonce(index), bytes(chunk), aad)
    return len(sealed).to_bytes(4, "big") + sealed


def open_chunks(key: bytes, name: bytes, sealed: BinaryIO) -> Iterator[bytes]:
    """The plaintext of a sealed stream, chunk by chunk; :class:`DecryptionError` if
    anything was changed, reordered, swapped or cut off (also at the very end)."""
    aead = _check(key)
    header = sealed.read(len(MAGIC) + 4)
    if len(header) != len(MAGIC) + 4 or not header.startswith(MAGIC):
        raise DecryptionError
    chunk_bytes = int.from_bytes(header[len(MAGIC) :], "big")
    if not 0 < chunk_bytes <= MAX_CHUNK_BYTES:
        raise DecryptionError
    index = 0
    current = _read_sealed(sealed, chunk_bytes)
    if current is None:
        raise DecryptionError  # no chunk at all: cut off
    while True:
        following = _read_sealed(sealed, chunk_bytes)
        try:
            aad = _aad(name, chunk_bytes, index, following is None)
            plain = aead.decrypt(_nonce(index), current, aad)
        except InvalidTag:
            raise DecryptionError from None
        yield plain
        if following is None:
            return
        current, index = following, index + 1


def _read_sealed(sealed: BinaryIO, chunk_bytes: int) -> bytes | None:
    prefix = sealed.read(4)
    if not prefix:
        return None
    length = int.from_bytes(prefix, "big") if len(prefix) == 4 else -1
    if not _TAG_BYTES <= length <= chunk_bytes + _TAG_BYTES:
        raise DecryptionError
    body = sealed.read(length)
    if len(body) != length:
        raise DecryptionError
    return body
