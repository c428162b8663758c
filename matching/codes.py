"""Checks for the short codes that the audit log and the erasure journal store.

Both logs promise to hold no personal data. They cannot recognise a name, so
they accept only values shaped like identifiers: lowercase codes, UUIDs, and
``kind:id`` actors. A free-text value (spaces, ``@``, capitals) is refused,
which keeps e-mail addresses and most names out by construction. Callers pass
ids and codes only; these checks are the backstop, not the policy.
"""

from __future__ import annotations

import json
import re
from typing import Any

from matching.errors import InvalidInput

_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_ACTOR = re.compile(r"[a-z][a-z0-9_]{0,30}(:[a-z0-9][a-z0-9_.\-]{0,47})?")
# A value in audit details: a code, a number-like token, a UUID or a hex digest.
_TOKEN = re.compile(r"[a-z0-9][a-z0-9_.:\-]{0,99}")

GENESIS_HASH = "0" * 64


def check_code(value: object, what: str) -> str:
    """A lowercase snake_case code such as ``candidate_request``."""
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise InvalidInput(f"{what} must be a short lowercase code")
    return value


def check_actor(value: object) -> str:
    """``system``, ``cli`` or ``kind:id`` (``admin:<uuid>``), at most 80 characters."""
    if not isinstance(value, str) or not _ACTOR.fullmatch(value):
        raise InvalidInput("actor must look like 'system' or 'kind:id'")
    return value


def check_token(value: object, what: str) -> str:
    """An id-like string: lowercase letters, digits and ``_ . : -``."""
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise InvalidInput(f"{what} must be an id or a code, not free text")
    return value


def canonical_json(value: Any) -> str:
    """The one byte-exact JSON form that hashes are computed over."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )
