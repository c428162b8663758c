"""Master keys (KEKs), data keys (DEKs) and wrapping a DEK under a KEK.

Wrapping uses AES-256-GCM rather than AES key wrap (RFC 3394), because GCM
takes associated data: a wrapped key is bound to its owner (the subject id and
data-key version, or the secret's name) and to the fingerprint of the master
key. A wrapped key copied onto another subject's row, or presented as wrapped
by another master key, fails to unwrap instead of silently decrypting another
person's data. RFC 3394 has no associated data and would need a separate MAC
for that. The nonce is a fresh random 96 bits per wrap; a master key wraps far
fewer than 2**32 keys in its life, the bound for random GCM nonces.

Wrapped format: ``version (1 byte) || nonce (12) || ciphertext+tag``.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from anonymiser.crypto._encoding import length_prefixed
from anonymiser.crypto.errors import DecryptionError
from anonymiser.crypto.nonces import NONCE_BYTES

KEY_BYTES = 32
WRAP_VERSION = 1
_WRAP_VERSION_BYTE = bytes([WRAP_VERSION])
_KEK_ID_PREFIX = b"coachmatch/kek-id/v1\x00"
_WRAP_LABEL = b"coachmatch/wrap/v1"
_TAG_BYTES = 16


def generate_master_key() -> bytes:
    """32 random bytes from the operating system."""
    return os.urandom(KEY_BYTES)


def generate_data_key() -> bytes:
    """A fresh 256-bit data key."""
    return os.urandom(KEY_BYTES)


def kek_id(master_key: bytes) -> str:
    """Public fingerprint of a master key: 16 hex characters (64 bits).

    Domain-separated SHA-256, so it is no hash anyone else computes over the
    key; it names which master key wrapped a row and reveals nothing usable.
    """
    _check_key(master_key)
    return hashlib.sha256(_KEK_ID_PREFIX + master_key).hexdigest()[:16]


def _check_key(key: bytes) -> None:
    if len(key) != KEY_BYTES:
        raise ValueError(f"a key must be {KEY_BYTES} bytes")


class KeyWrapper:
    """Wraps and unwraps keys under one master key."""

    __slots__ = ("_aead", "kek_id")

    def __init__(self, master_key: bytes) -> None:
        _check_key(master_key)
        self.kek_id = kek_id(master_key)
        self._aead = AESGCM(master_key)

    def __repr__(self) -> str:
        return f"KeyWrapper(kek_id={self.kek_id!r})"

    def _aad(self, kind: bytes, owner: bytes) -> bytes:
        return length_prefixed(_WRAP_LABEL, kind, owner, self.kek_id.encode("ascii"))

    def wrap(self, key: bytes, *, kind: bytes, owner: bytes) -> bytes:
        """Encrypt ``key`` for ``owner`` (e.g. ``kind=b"dek"``, owner = subject id)."""
        _check_key(key)
        nonce = os.urandom(NONCE_BYTES)
        return _WRAP_VERSION_BYTE + nonce + self._aead.encrypt(nonce, key, self._aad(kind, owner))

    def unwrap(self, wrapped: bytes, *, kind: bytes, owner: bytes) -> bytes:
        """Inverse of :meth:`wrap`; :class:`DecryptionError` on any mismatch."""
        if len(wrapped) != 1 + NONCE_BYTES + KEY_BYTES + _TAG_BYTES or wrapped[0] != WRAP_VERSION:
            raise DecryptionError
        try:
            return self._aead.decrypt(
                wrapped[1 : 1 + NONCE_BYTES], wrapped[1 + NONCE_BYTES :], self._aad(kind, owner)
            )
        except InvalidTag:
            raise DecryptionError from None
