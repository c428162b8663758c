"""The one error of the crypto package."""

from __future__ import annotations


class DecryptionError(Exception):
    """A ciphertext or wrapped key did not authenticate.

    Deliberately generic: whether the value was tampered with, moved to another
    row, column or table, or belongs to another key is not said, so the error
    cannot serve as an oracle.
    """

    def __init__(self) -> None:
        super().__init__("the value could not be decrypted")
