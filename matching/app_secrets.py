"""Keys for message authentication (form tokens, throttle keys), derived from one vault secret.

The root is the vault secret ``APP_KEY_ROOT``: random, wrapped by the master key
like every vault secret (so ``keys rotate`` re-wraps it with the others, and a
database without the master key reveals nothing), and shared by every process
through the database, so a token one process signs another accepts. Each use gets
its own key through HKDF with a distinct label, so a key for one purpose never
doubles as another's.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from matching.vault import APP_KEY_ROOT, Vault

KEY_BYTES = 32
_LABEL = b"coachmatch/app-key/v1/"


def derived_key(vault: Vault, purpose: str) -> bytes:
    """A 256-bit key for ``purpose`` (a short ASCII label such as ``"web-forms"``)."""
    if not purpose or not purpose.isascii():
        raise ValueError("a key purpose is a short ASCII label")
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=None,
        info=_LABEL + purpose.encode("ascii"),
    )
    return hkdf.derive(vault.secret(APP_KEY_ROOT))
