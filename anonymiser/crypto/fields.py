"""AES-256-GCM for single field values, bound to the place they are stored.

Ciphertext format (version 1)::

    0x01 || nonce (12 random bytes) || AES-256-GCM ciphertext || 16-byte tag

The associated data (:func:`field_aad`) is a canonical encoding of the table,
the column, the row id and the data-key version. It holds no personal data and
is not stored: the reader rebuilds it from where it found the value. A value
copied to another row, column or table, or under another key version, does not
authenticate; neither does a value with any bit changed. Both give the one
generic :class:`DecryptionError`.

The hot path is kept lean on purpose (the target is at most 1.5x the cost of
raw AES-GCM): one ``AESGCM`` object per data key, cached AAD prefixes, nonces
from a batched OS random source (:mod:`.nonces`), no JSON, no intermediate
objects beyond the slices GCM needs.
"""

from __future__ import annotations

from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from anonymiser.crypto._encoding import length_prefixed
from anonymiser.crypto.errors import DecryptionError
from anonymiser.crypto.keys import KEY_BYTES
from anonymiser.crypto.nonces import NONCE_BYTES, random_nonce

FORMAT_VERSION = 1
_VERSION_BYTE = bytes([FORMAT_VERSION])
_HEADER = 1 + NONCE_BYTES
_MIN_LENGTH = _HEADER + 16  # an empty value still carries the 16-byte tag
_AAD_LABEL = b"coachmatch/field/v1"
_ROW_UUID = b"\x01"
_ROW_TEXT = b"\x02"

_prefixes: dict[tuple[str, str, int], bytes] = {}
_MAX_PREFIXES = 4096  # names come from code, not users; bounded anyway


def _prefix(table: str, column: str, key_version: int) -> bytes:
    if not table or not column:
        raise ValueError("table and column must be named")
    if not 0 < key_version < 2**32:
        raise ValueError("key version out of range")
    prefix = length_prefixed(_AAD_LABEL, table.encode("utf-8"), column.encode("utf-8"))
    # Ends with the UUID row tag, the common case; text ids swap the last byte.
    prefix += key_version.to_bytes(4, "big") + _ROW_UUID
    if len(_prefixes) < _MAX_PREFIXES:
        _prefixes[(table, column, key_version)] = prefix
    return prefix


def field_aad(table: str, column: str, row_id: UUID | str, key_version: int) -> bytes:
    """Associated data: ``label, table, column`` length-prefixed, ``version``, ``row``.

    ``version`` is 4 bytes big endian; ``row`` is ``0x01`` + the 16 bytes of a
    UUID (given as ``UUID`` or as text: both bind the same), or ``0x02`` +
    length-prefixed UTF-8 for other ids. Every part has a fixed or prefixed
    length, so the encoding is unambiguous. This is the hot path: the prefix is
    cached per (table, column, version).
    """
    prefix = _prefixes.get((table, column, key_version)) or _prefix(table, column, key_version)
    if isinstance(row_id, UUID):
        return prefix + row_id.int.to_bytes(16)  # == row_id.bytes, without the property call
    try:
        return prefix + UUID(row_id).int.to_bytes(16)
    except ValueError:
        return prefix[:-1] + _ROW_TEXT + length_prefixed(row_id.encode("utf-8"))


class FieldCipher:
    """Encrypts field values under one data key. Cache one per key."""

    __slots__ = ("_aead",)

    def __init__(self, data_key: bytes) -> None:
        if len(data_key) != KEY_BYTES:
            raise ValueError(f"a data key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(data_key)

    def __repr__(self) -> str:
        return "FieldCipher(<key>)"

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = random_nonce()
        return _VERSION_BYTE + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def decrypt(self, ciphertext: bytes, aad: bytes) -> bytes:
        if len(ciphertext) < _MIN_LENGTH or ciphertext[0] != FORMAT_VERSION:
            raise DecryptionError
        try:
            return self._aead.decrypt(ciphertext[1:_HEADER], ciphertext[_HEADER:], aad)
        except InvalidTag:
            raise DecryptionError from None

    def encrypt_text(self, plaintext: str, aad: bytes) -> bytes:
        return self.encrypt(plaintext.encode("utf-8"), aad)

    def decrypt_text(self, ciphertext: bytes, aad: bytes) -> str:
        try:
            return self.decrypt(ciphertext, aad).decode("utf-8")
        except UnicodeDecodeError:  # authenticated but not text: stored as bytes
            raise DecryptionError from None
