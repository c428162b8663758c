"""The vault's cryptography, as pure functions and small classes (no storage).

- :mod:`.keys`: master keys (KEKs), data keys (DEKs) and wrapping one under the other.
- :mod:`.fields`: AES-256-GCM for single field values, bound to where they are stored.
- :mod:`.blind_index`: keyed look-up hashes for e-mail addresses.

Every failure to decrypt or unwrap raises the one generic :class:`DecryptionError`.
"""

from anonymiser.crypto.blind_index import (
    BLIND_INDEX_EMAIL_INFO,
    BlindIndex,
    derive_index_key,
    normalise_email,
)
from anonymiser.crypto.errors import DecryptionError
from anonymiser.crypto.fields import FORMAT_VERSION, FieldCipher, field_aad
from anonymiser.crypto.keys import (
    KEY_BYTES,
    KeyWrapper,
    generate_data_key,
    generate_master_key,
    kek_id,
)

__all__ = [
    "BLIND_INDEX_EMAIL_INFO",
    "FORMAT_VERSION",
    "KEY_BYTES",
    "BlindIndex",
    "DecryptionError",
    "FieldCipher",
    "KeyWrapper",
    "derive_index_key",
    "field_aad",
    "generate_data_key",
    "generate_master_key",
    "kek_id",
    "normalise_email",
]
