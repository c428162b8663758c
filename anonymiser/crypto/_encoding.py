"""Canonical, unambiguous encoding of several byte strings into one.

Each part is prefixed with its length (2 bytes, big endian), so no two
different tuples encode to the same bytes (``("ab", "c")`` vs ``("a", "bc")``).
"""

from __future__ import annotations

MAX_PART = 0xFFFF


def length_prefixed(*parts: bytes) -> bytes:
    out = bytearray()
    for part in parts:
        if len(part) > MAX_PART:
            raise ValueError("part too long for the canonical encoding")
        out += len(part).to_bytes(2, "big")
        out += part
    return bytes(out)
