"""The candidate's private link in the browser: the ``__Host-candidate`` cookie.

``/s/{token}`` moves the token from the address bar into this cookie (HttpOnly,
Secure, SameSite=Lax, for this browser session only); the status pages read it
back. A missing or unknown token is :class:`~matching.errors.UnknownLink`, which
:mod:`web.errors` answers once: a friendly page that also clears the cookie, or
a 401 problem in the API.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import Cookie

from matching.errors import UnknownLink

CANDIDATE_COOKIE = "__Host-candidate"


def candidate_cookie(token: str) -> Cookie:
    return Cookie(
        key=CANDIDATE_COOKIE, value=token, path="/", secure=True, httponly=True, samesite="lax"
    )


def cleared_candidate_cookie() -> Cookie:
    return Cookie(
        key=CANDIDATE_COOKIE,
        value="",
        path="/",
        secure=True,
        httponly=True,
        samesite="lax",
        max_age=0,
        expires=0,
    )


def token_of(request: Request[Any, Any, Any]) -> str:
    """The token in the browser's cookie; :class:`UnknownLink` if there is none."""
    token = request.cookies.get(CANDIDATE_COOKIE)
    if not token:
        raise UnknownLink()
    return token
