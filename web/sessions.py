"""The session cookie: who is logged in, for the pages and the JSON API.

Not Litestar's session middleware: that one sets a cookie (and stores a
session) for every visitor. Here a request without our cookie costs nothing and
gets no cookie; only a login creates a session (:mod:`matching.sessions`).

The cookie ``__Host-session`` holds the random session id (the database only
its hash): ``Secure``, ``HttpOnly``, ``SameSite=Lax``, ``Path=/`` and no
``Domain`` (the ``__Host-`` prefix makes browsers insist on all of that). It has
no ``Max-Age``: it goes when the browser closes, and the server ends the session
after the idle and absolute limits anyway. A browser that presents an ended
session gets the cookie cleared on that response.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Message, Scope

from matching import accounts, sessions
from matching.accounts import Principal
from matching.errors import PermissionDenied
from matching.runtime import Runtime
from matching.sessions import SessionInfo

SESSION_COOKIE = "__Host-session"
_LOGIN_KEY = "coachmatch.login"
_CLEAR_KEY = "coachmatch.clear_session"


class LoginRequired(Exception):
    """The page needs a logged-in coach or admin; browsers are sent to the login page."""


@dataclasses.dataclass(frozen=True)
class Login:
    """A live session and the account it belongs to."""

    session: SessionInfo
    principal: Principal


def runtime_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Runtime:
    runtime: Runtime = connection.app.state.runtime
    return runtime


def session_cookie(session_id: str) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=session_id,
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
    )


def cleared_session_cookie() -> Cookie:
    # A __Host- cookie is only replaced (here: expired) by one with the same attributes.
    return Cookie(
        key=SESSION_COOKIE,
        value="",
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
        max_age=0,
        expires=0,
    )


def presented_session_id(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    return connection.cookies.get(SESSION_COOKIE) or None


def cached_login(scope: Scope) -> Login | None:
    """The login found earlier in this request, without asking the database."""
    login: Login | None = scope["state"].get(_LOGIN_KEY)
    return login


async def current_login(connection: ASGIConnection[Any, Any, Any, Any]) -> Login | None:
    """The logged-in account of this request, or ``None`` (loaded once per request)."""
    state = connection.scope["state"]
    if _LOGIN_KEY in state:
        login: Login | None = state[_LOGIN_KEY]
        return login
    login = None
    session_id = presented_session_id(connection)
    if session_id is not None:
        login = await _load(runtime_of(connection), session_id)
        if login is None:
            state[_CLEAR_KEY] = True
    state[_LOGIN_KEY] = login
    return login


async def _load(runtime: Runtime, session_id: str) -> Login | None:
    settings = runtime.settings
    info = await sessions.load_session(
        session_id,
        idle=datetime.timedelta(minutes=settings.session_idle_minutes),
        touches=runtime.session_touches,
    )
    if info is None:
        return None
    principal = await accounts.principal(info.principal_kind, info.principal_id)
    if principal is None:  # the account was disabled or erased since
        await sessions.close_session(session_id)
        return None
    return Login(info, principal)


def forget_login(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """After logout or login: later code in this request must not reuse the old login."""
    connection.scope["state"][_LOGIN_KEY] = None
    connection.scope["state"].pop(_CLEAR_KEY, None)


async def clear_ended_session_cookie(message: Message, scope: Scope) -> None:
    """``before_send``: expire the cookie of a session that turned out to be over."""
    if message["type"] != "http.response.start" or not scope["state"].get(_CLEAR_KEY):
        return
    headers = list(message.get("headers", []))
    prefix = SESSION_COOKIE.encode() + b"="
    if any(k.lower() == b"set-cookie" and v.startswith(prefix) for k, v in headers):
        return  # the response already sets or clears it
    headers.append(cleared_session_cookie().to_encoded_header())
    message["headers"] = headers


# -- guards ----------------------------------------------------------------------------


async def require_login(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    if await current_login(connection) is None:
        raise LoginRequired()


async def require_coach(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    await _require_kind(connection, "coach")


async def require_admin(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    await _require_kind(connection, "admin")


async def _require_kind(connection: ASGIConnection[Any, Any, Any, Any], kind: str) -> None:
    login = await current_login(connection)
    if login is None:
        raise LoginRequired()
    if login.principal.kind != kind:
        raise PermissionDenied("this page is not for your account")


async def login_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Login:
    """The login of a handler behind a guard (which made sure there is one)."""
    login = await current_login(connection)
    if login is None:
        raise LoginRequired()
    return login
