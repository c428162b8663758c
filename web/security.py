"""Security headers on every response, and the allowed ``Host`` names.

The headers are added in a ``before_send`` hook, which sees every response the
app sends, errors and 404s included (Litestar's ``response_headers`` option
misses responses for paths no route matches). A header a handler set itself is
left alone.

Private responses (anything sent to a browser that holds a session cookie,
anything that sets a cookie, the API, the login and the portals) carry
``Cache-Control: no-store``, so no shared or browser cache keeps them; so does
``/health``, whose answer is only true at the moment it is given.

Allowed hosts: Litestar's ``AllowedHostsConfig`` compares the whole ``Host``
header, port included, so ``localhost:8000`` fails against ``localhost``; this
check compares the host name only. ``*`` allows any host, ``*.example.org``
any subdomain of example.org.
"""

from __future__ import annotations

from collections.abc import Sequence

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from matching.traffic import Traffic
from web.sessions import SESSION_COOKIE

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = tuple(
    (name.encode("latin-1"), value.encode("latin-1"))
    for name, value in (
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("strict-transport-security", "max-age=63072000; includeSubDomains"),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("permissions-policy", PERMISSIONS_POLICY),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
    )
)
PRIVATE_PREFIXES = ("/api", "/login", "/logout", "/admin", "/coach", "/health")
STATIC_PREFIX = "/static/"
NO_STORE = b"no-store"
STATIC_CACHE = b"public, max-age=3600"
PUBLIC_CACHE = b"no-cache"
_SESSION_PREFIX = SESSION_COOKIE.encode("latin-1") + b"="


async def add_security_headers(message: Message, scope: Scope) -> None:
    """``before_send`` hook: the security headers and the cache policy."""
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers", []))
    present = {name.lower() for name, _ in headers}
    headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
    if b"cache-control" not in present:
        headers.append((b"cache-control", _cache_policy(scope, headers)))
    if b"vary" not in present and not _is_static(scope):
        headers.append((b"vary", b"Accept-Language, Cookie"))
    message["headers"] = headers


def _is_static(scope: Scope) -> bool:
    return str(scope.get("path", "")).startswith(STATIC_PREFIX)


def _cache_policy(scope: Scope, headers: Sequence[tuple[bytes, bytes]]) -> bytes:
    if is_private(scope) or any(name.lower() == b"set-cookie" for name, _ in headers):
        return NO_STORE
    return STATIC_CACHE if _is_static(scope) else PUBLIC_CACHE


def is_private(scope: Scope) -> bool:
    """A request for a private page, or one made by a browser holding a session."""
    path = str(scope.get("path", ""))
    if any(path == p or path.startswith(p + "/") for p in PRIVATE_PREFIXES):
        return True
    for name, value in scope.get("headers", ()):
        if name == b"cookie" and _SESSION_PREFIX in value:
            return True
    return False


# -- allowed hosts ---------------------------------------------------------------------


class ForeignHost(Exception):
    """The ``Host`` header names a host this installation does not serve."""


def host_name(host_header: str) -> str:
    """The host part of a ``Host`` header, without the port, lowercased."""
    host = host_header.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1] if end != -1 else host
    name, sep, port = host.rpartition(":")
    return name if sep and port.isdigit() else host


def host_allowed(host_header: str, allowed: Sequence[str]) -> bool:
    name = host_name(host_header)
    if not name:
        return False
    for raw in allowed:
        pattern = raw.strip().lower()
        if pattern in ("*", name):
            return True
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
    return False


class HostCheck:
    """Middleware: refuse a request whose ``Host`` is not one of ours (``ForeignHost``),
    and count the requests in flight (:class:`~matching.traffic.Traffic`)."""

    def __init__(self, app: ASGIApp, allowed: Sequence[str], traffic: Traffic) -> None:
        self.app = app
        self.allowed = tuple(allowed)
        self.traffic = traffic

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = next((v for k, v in scope.get("headers", ()) if k == b"host"), b"")
        if not host_allowed(host.decode("latin-1"), self.allowed):
            raise ForeignHost()
        if scope["type"] != "http":  # a long-lived connection is not a request in flight
            await self.app(scope, receive, send)
            return
        self.traffic.started()
        try:
            await self.app(scope, receive, send)
        finally:
            self.traffic.finished()
