"""Passwords (argon2id) and one-time codes (TOTP, RFC 6238): the primitives of a login.

Storage and policy live in :mod:`matching.accounts`; this module only hashes,
verifies and computes. A TOTP code is identified by its *time step*; the account
keeps the highest step it accepted, so a code (or an older one) cannot be used
twice (see :func:`matching.accounts.authenticate`).
"""

from __future__ import annotations

import contextlib
import functools
import hmac
import secrets
import time

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from matching.errors import InvalidInput

PASSWORD_MIN_CHARS = 12
PASSWORD_MAX_CHARS = 1024  # argon2 takes anything; this only bounds the work per request
TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
TOTP_VALID_WINDOW = 1  # one step either side of now: clocks drift, people type slowly
ISSUER = "Coachmatch"

# argon2-cffi's defaults are the RFC 9106 "low memory" profile of argon2id.
_hasher = PasswordHasher()


def check_password_policy(password: str) -> None:
    """Refuse a password that is too short or absurdly long (the message names no value)."""
    if len(password) < PASSWORD_MIN_CHARS:
        raise InvalidInput(f"the password must have at least {PASSWORD_MIN_CHARS} characters")
    if len(password) > PASSWORD_MAX_CHARS:
        raise InvalidInput(f"the password must have at most {PASSWORD_MAX_CHARS} characters")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` fits the hash; never raises for a wrong password."""
    if len(password) > PASSWORD_MAX_CHARS:
        burn_time()
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the current ones."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(24))


def burn_time() -> None:
    """Spend what a real verification costs, so an unknown account answers as slowly."""
    with contextlib.suppress(VerifyMismatchError):
        _hasher.verify(_dummy_hash(), "not the password")


def new_totp_secret() -> str:
    """160 random bits in base32, as authenticator apps expect."""
    return pyotp.random_base32(length=32)


def current_step(now: float | None = None) -> int:
    return int(time.time() if now is None else now) // TOTP_STEP_SECONDS


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step whose code equals ``code`` (within the window), or ``None``.

    Every candidate step is compared (in constant time), not just until the first
    match, so the answer takes as long for a wrong code as for a right one.
    """
    code = "".join(code.split())
    if len(code) != TOTP_DIGITS or not code.isdigit():
        return None
    otp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_SECONDS)
    step_now = current_step(now)
    found: int | None = None
    for step in range(step_now - TOTP_VALID_WINDOW, step_now + TOTP_VALID_WINDOW + 1):
        if hmac.compare_digest(otp.generate_otp(step), code):
            found = step
    return found


def code_for_step(secret: str, step: int) -> str:
    """The code of one time step (tests and the set-up check use it)."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_SECONDS).generate_otp(step)


def provisioning_uri(secret: str, label: str) -> str:
    """The ``otpauth://`` URI an authenticator app imports; ``label`` must hold no e-mail."""
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_SECONDS).provisioning_uri(
        name=label, issuer_name=ISSUER
    )
