"""Cross-site request forgery: tokens on every form and on cookie-authenticated API calls.

Two kinds of token, because anonymous visitors have no session (and get no cookie):

- With a session: the session's own random token (``WebSession.csrf_token``), in
  the hidden form field ``csrf_token`` or the ``X-CSRF-Token`` header.
- Without one (the login form, the language switch, later the request form): a
  stateless token, HMAC-SHA256 over its issue time and a random nonce, under a
  key derived from the vault (:mod:`matching.app_secrets`), valid for two hours.
  Any process of the installation can check it; nothing is stored.

Both are compared in constant time. Every protected request must also come from
our own origin when the browser says where it comes from (``Sec-Fetch-Site``,
``Origin``): that stops a foreign page from posting a token it fetched itself.
Calls with a bearer token (candidates, later) carry no ambient credentials and
need none of this.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
import time
from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from web.sessions import LoginRequired, current_login, runtime_of

FORM_FIELD = "csrf_token"
HEADER = "x-csrf-token"
FORM_TOKEN_LIFETIME_SECONDS = 2 * 3600
FORM_TOKEN_CLOCK_SKEW_SECONDS = 60
FORM_KEY_PURPOSE = "web-form-token"
_LABEL = b"coachmatch/form-token/v1\x00"
_NONCE_BYTES = 16
_MAC_BYTES = 32
_PAYLOAD = struct.Struct(">Q16s")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_SAME_ORIGIN_FETCH = frozenset({"same-origin", "none"})


class CsrfFailed(Exception):
    """The request lacks a valid token or comes from another site."""


class FormTokens:
    """Issues and checks the stateless tokens of anonymous forms."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the form-token key needs 256 bits")
        self._key = key

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, _LABEL + payload, hashlib.sha256).digest()

    def issue(self, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        payload = _PAYLOAD.pack(issued, secrets.token_bytes(_NONCE_BYTES))
        return base64.urlsafe_b64encode(payload + self._mac(payload)).decode("ascii")

    def valid(self, token: str, now: float | None = None) -> bool:
        try:
            raw = base64.urlsafe_b64decode(token.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            return False
        if len(raw) != _PAYLOAD.size + _MAC_BYTES:
            return False
        payload, mac = raw[: _PAYLOAD.size], raw[_PAYLOAD.size :]
        if not hmac.compare_digest(mac, self._mac(payload)):
            return False
        issued, _ = _PAYLOAD.unpack(payload)
        age = int(time.time() if now is None else now) - issued
        return -FORM_TOKEN_CLOCK_SKEW_SECONDS <= age <= FORM_TOKEN_LIFETIME_SECONDS


def form_tokens(connection: ASGIConnection[Any, Any, Any, Any]) -> FormTokens:
    tokens: FormTokens = connection.app.state.form_tokens
    return tokens


async def token_for_page(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The token a page's forms carry: the session's, or a fresh anonymous one."""
    login = await current_login(connection)
    return login.session.csrf_token if login else form_tokens(connection).issue()


# -- checks ----------------------------------------------------------------------------


def check_origin(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Refuse a request the browser says comes from another site.

    ``Sec-Fetch-Site`` decides when present (no page can forge it). Our
    ``Referrer-Policy: no-referrer`` makes browsers send ``Origin: null`` on our
    own form posts, so ``null`` counts only when that header is missing.
    """
    fetch_site = connection.headers.get("sec-fetch-site")
    origin = connection.headers.get("origin")
    if fetch_site is not None:
        if fetch_site.lower() not in _SAME_ORIGIN_FETCH:
            raise CsrfFailed()
        if origin is None or origin == "null":
            return
    if origin is None:
        return  # not a browser, or one that predates Origin: the token must do
    if origin == "null" or urlsplit(origin).netloc.lower() not in _own_hosts(connection):
        raise CsrfFailed()


def _own_hosts(connection: ASGIConnection[Any, Any, Any, Any]) -> set[str]:
    hosts = {urlsplit(runtime_of(connection).settings.base_url).netloc.lower()}
    host = connection.headers.get("host")
    if host:
        hosts.add(host.lower())
    return hosts


async def _submitted_token(request: Request[Any, Any, Any]) -> str:
    header = request.headers.get(HEADER)
    if header:
        return header
    if request.content_type[0] in _FORM_TYPES:
        form = await request.form()
        value = form.get(FORM_FIELD)
        return value if isinstance(value, str) else ""
    return ""


def _request(connection: ASGIConnection[Any, Any, Any, Any]) -> Request[Any, Any, Any]:
    if not isinstance(connection, Request):
        raise CsrfFailed()
    return connection


async def protect_anonymous(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard for forms anyone may send: a form token, or the session's token if logged in."""
    check_origin(connection)
    token = await _submitted_token(_request(connection))
    login = await current_login(connection)
    if login is not None and hmac.compare_digest(token.encode(), login.session.csrf_token.encode()):
        return
    if not token or not form_tokens(connection).valid(token):
        raise CsrfFailed()


async def protect_session(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard for forms and API calls made with a session: the session's token only."""
    check_origin(connection)
    token = await _submitted_token(_request(connection))
    login = await current_login(connection)
    if login is None:
        raise LoginRequired()
    if not hmac.compare_digest(token.encode(), login.session.csrf_token.encode()):
        raise CsrfFailed()


async def protect_anonymous_api(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard for anonymous JSON endpoints (``POST /api/auth/login``).

    A JSON body cannot be sent cross-site without a CORS preflight, which we never
    grant; the origin check covers browsers that would try anyway.
    """
    check_origin(connection)
    if _request(connection).content_type[0] != "application/json":
        raise CsrfFailed()
