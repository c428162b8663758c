"""Blind index: a keyed hash to find a row by e-mail without storing the e-mail.

``index = HMAC-SHA256(K, normalise(email))`` as 64 hex characters, where ``K``
is derived with HKDF-SHA256 from a random root secret (kept wrapped by the
master key) and a purpose label, so the index key is used for nothing else and
another index (another field, or a v2 normalisation) gets an independent key.

Normalisation is deliberately simple and documented: strip surrounding
whitespace, Unicode NFKC, then ``casefold``. So ``" Anna@Example.ORG "`` and
``"anna@example.org"`` match. Provider-specific rules (dots or ``+tags`` in
Gmail addresses) are not applied: they would merge different mailboxes.
Changing the normalisation changes every index, hence the ``v1`` in the label.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

BLIND_INDEX_EMAIL_INFO = b"coachmatch/blind-index/email/v1"
INDEX_HEX_LENGTH = 64


def normalise_email(email: str) -> str:
    """Strip, NFKC, casefold."""
    return unicodedata.normalize("NFKC", email.strip()).casefold()


def derive_index_key(root_secret: bytes, info: bytes = BLIND_INDEX_EMAIL_INFO) -> bytes:
    """HKDF-SHA256(root, info) to a 32-byte HMAC key.

    No salt: the root is already uniformly random (RFC 5869, section 3.1).
    """
    if len(root_secret) < 32:
        raise ValueError("the root secret must be at least 32 bytes")
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(root_secret)


class BlindIndex:
    """Computes the e-mail blind index under one derived key."""

    __slots__ = ("_key",)

    def __init__(self, root_secret: bytes, info: bytes = BLIND_INDEX_EMAIL_INFO) -> None:
        self._key = derive_index_key(root_secret, info)

    def __repr__(self) -> str:
        return "BlindIndex(<key>)"

    def email(self, email: str) -> str:
        """The index of an e-mail address: 64 lowercase hex characters."""
        normalised = normalise_email(email)
        return hmac.new(self._key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()
