"""Public pages: the home page and the language switch."""

from __future__ import annotations

import dataclasses
from typing import Any

from litestar import Request, get, post
from litestar.datastructures import Cookie
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from matching.errors import InvalidInput
from web import i18n
from web.controllers.forms import safe_next
from web.csrf import protect_anonymous
from web.templating import page


@get("/", name="home", include_in_schema=False)
async def home(request: Request[Any, Any, Any]) -> Template:
    return await page(request, "home.html")


@dataclasses.dataclass
class LanguageForm:
    lang: str
    next: str = "/"
    csrf_token: str = ""


@post(
    "/language",
    name="language",
    include_in_schema=False,
    guards=[protect_anonymous],
    status_code=HTTP_303_SEE_OTHER,
)
async def choose_language(
    data: URLEncodedBody[LanguageForm],
) -> Redirect:
    """Remember the visitor's language: the only cookie an anonymous visitor can get,
    and only by pressing the switch (a strictly necessary preference cookie)."""
    if data.lang not in i18n.LANGUAGES:
        raise InvalidInput("unknown language")
    cookie = Cookie(
        key=i18n.LANGUAGE_COOKIE,
        value=data.lang,
        path="/",
        max_age=i18n.LANGUAGE_COOKIE_MAX_AGE,
        secure=True,
        httponly=True,
        samesite="lax",
    )
    return Redirect(safe_next(data.next), status_code=HTTP_303_SEE_OTHER, cookies=[cookie])
