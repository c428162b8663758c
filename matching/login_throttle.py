"""Counting failed logins per account and per network, in fixed 15-minute windows.

A counter is keyed by a hash, never by an address or an e-mail: the account key
hashes the e-mail's blind index; the network key is an HMAC (under an
application key) of the client address truncated to its network (IPv4 /24,
IPv6 /64), so the table cannot be turned back into addresses. Rows whose
window is over are deleted whenever a failure is recorded, so nothing here
lives much longer than one window.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import hmac
import ipaddress
from collections.abc import Sequence

from matching import db
from matching.tables import LoginThrottle

WINDOW = datetime.timedelta(minutes=15)
IPV4_PREFIX = 24
IPV6_PREFIX = 64


@dataclasses.dataclass(frozen=True)
class Limit:
    """At most ``failures`` failed attempts per window for the counter ``key_hash``."""

    key_hash: str
    failures: int


def account_key(email_index: str) -> str:
    return hashlib.sha256(b"coachmatch/throttle/account\x00" + email_index.encode()).hexdigest()


def network_key(hmac_key: bytes, client_address: str) -> str:
    network = truncate_address(client_address)
    return hmac.new(hmac_key, b"network\x00" + network.encode(), hashlib.sha256).hexdigest()


def truncate_address(client_address: str) -> str:
    """The network of an address (``203.0.113.0/24``); anything unparsable counts as one."""
    try:
        address = ipaddress.ip_address(client_address.strip("[]"))
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = IPV4_PREFIX if address.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def exceeded(limits: Sequence[Limit]) -> bool:
    """True when any counter has reached its limit within the current window."""
    since = _now() - WINDOW
    rows = await LoginThrottle.select(LoginThrottle.key_hash, LoginThrottle.failures).where(
        LoginThrottle.key_hash.is_in([limit.key_hash for limit in limits])
        & (LoginThrottle.window_start > since)
    )
    counts = {row["key_hash"]: int(row["failures"]) for row in rows}
    return any(counts.get(limit.key_hash, 0) >= limit.failures for limit in limits)


async def record_failure(key_hashes: Sequence[str]) -> None:
    """Count one failure on each key (a new window starts when the old one is over)."""
    now = _now()
    async with db.write_transaction():
        await LoginThrottle.delete().where(LoginThrottle.window_start <= now - WINDOW)
        for key_hash in key_hashes:
            # Raw SQL: the increment must name the existing row's column explicitly
            # (PostgreSQL finds a bare "failures" ambiguous next to EXCLUDED).
            await LoginThrottle.raw(
                "INSERT INTO login_throttle (key_hash, window_start, failures) "
                "VALUES ({}, {}, 1) ON CONFLICT (key_hash) "
                "DO UPDATE SET failures = login_throttle.failures + 1",
                key_hash,
                now,
            )


async def reset(key_hash: str) -> None:
    """Forget the failures on one key (after a successful login to that account)."""
    await LoginThrottle.delete().where(LoginThrottle.key_hash == key_hash)
