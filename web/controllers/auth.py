"""Logging in and out: the login page and the JSON API (``/api/auth/...``).

Every failure answers the same (see :mod:`matching.accounts`); the error mapping
in :mod:`web.errors` shows the login form again with the message. A login always
gets a new session id; the one the browser had before ends.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.params import JSONBody, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT, HTTP_303_SEE_OTHER

from matching import accounts, sessions
from matching.accounts import LoginAttempt
from web.controllers.forms import client_address
from web.csrf import protect_anonymous, protect_anonymous_api, protect_session
from web.sessions import (
    cleared_session_cookie,
    current_login,
    forget_login,
    login_of,
    presented_session_id,
    require_login,
    runtime_of,
    session_cookie,
)
from web.templating import page

PORTALS = {"admin": "/admin", "coach": "/coach"}


# -- the login page --------------------------------------------------------------------


@dataclasses.dataclass
class LoginForm:
    email: str = ""
    password: str = dataclasses.field(default="", repr=False)
    totp: str = dataclasses.field(default="", repr=False)
    csrf_token: str = ""


@get("/login", name="login", include_in_schema=False)
async def login_page(request: Request[Any, Any, Any]) -> Template | Redirect:
    login = await current_login(request)
    if login is not None:
        return Redirect(PORTALS[login.principal.kind], status_code=HTTP_303_SEE_OTHER)
    return await page(request, "login.html")


@post(
    "/login",
    name="login-submit",
    include_in_schema=False,
    guards=[protect_anonymous],
    opt={"form_template": "login.html"},
    status_code=HTTP_303_SEE_OTHER,
)
async def login_submit(
    request: Request[Any, Any, Any],
    data: URLEncodedBody[LoginForm],
) -> Redirect:
    done = await accounts.log_in(
        runtime_of(request),
        LoginAttempt(data.email, data.password, data.totp, client_address(request)),
        replaces=presented_session_id(request),
    )
    forget_login(request)
    return Redirect(
        PORTALS[done.principal.kind],
        status_code=HTTP_303_SEE_OTHER,
        cookies=[session_cookie(done.session_id)],
    )


@post(
    "/logout",
    name="logout",
    include_in_schema=False,
    guards=[protect_session],
    status_code=HTTP_303_SEE_OTHER,
)
async def logout(request: Request[Any, Any, Any]) -> Redirect:
    session_id = presented_session_id(request)
    if session_id:
        await sessions.close_session(session_id)
    forget_login(request)
    return Redirect("/", status_code=HTTP_303_SEE_OTHER, cookies=[cleared_session_cookie()])


# -- the JSON API ----------------------------------------------------------------------


@dataclasses.dataclass
class LoginRequest:
    email: str
    password: str = dataclasses.field(repr=False)
    totp: str = dataclasses.field(default="", repr=False)


@dataclasses.dataclass(frozen=True)
class SessionResponse:
    """The logged-in account, and the token to send as ``X-CSRF-Token`` with every change."""

    kind: str
    id: UUID
    csrf_token: str
    expires_at: datetime.datetime


@post(
    "/api/auth/login",
    name="api-login",
    tags=["auth"],
    guards=[protect_anonymous_api],
    status_code=HTTP_200_OK,
    summary="Log in as a coach or admin",
    description="Sets the `__Host-session` cookie. Send the returned `csrf_token` as the "
    "`X-CSRF-Token` header with every later request that changes something. "
    "Wrong e-mail, password or code all answer 401 alike; too many failures 429.",
)
async def api_login(
    request: Request[Any, Any, Any], data: JSONBody[LoginRequest]
) -> Response[SessionResponse]:
    done = await accounts.log_in(
        runtime_of(request),
        LoginAttempt(data.email, data.password, data.totp, client_address(request)),
        replaces=presented_session_id(request),
    )
    forget_login(request)
    body = SessionResponse(
        done.principal.kind, done.principal.id, done.session.csrf_token, done.session.expires_at
    )
    return Response(body, cookies=[session_cookie(done.session_id)])


@post(
    "/api/auth/logout",
    name="api-logout",
    tags=["auth"],
    guards=[protect_session],
    status_code=HTTP_204_NO_CONTENT,
    summary="Log out (ends the session on the server)",
)
async def api_logout(request: Request[Any, Any, Any]) -> Response[None]:
    session_id = presented_session_id(request)
    if session_id:
        await sessions.close_session(session_id)
    forget_login(request)
    return Response(None, status_code=HTTP_204_NO_CONTENT, cookies=[cleared_session_cookie()])


@get(
    "/api/auth/session",
    name="api-session",
    tags=["auth"],
    guards=[require_login],
    summary="The current session",
)
async def api_session(request: Request[Any, Any, Any]) -> SessionResponse:
    login = await login_of(request)
    return SessionResponse(
        login.principal.kind,
        login.principal.id,
        login.session.csrf_token,
        login.session.expires_at,
    )
