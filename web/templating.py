"""Jinja2 templates: the environment, and the context every page shares.

Templates autoescape everything and use ``{% trans %}`` / ``_()`` through
Jinja's i18n extension, bound to :mod:`web.i18n`'s per-request language. They
hold no inline script or style (the Content-Security-Policy forbids both).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template

from web import i18n
from web.csrf import form_tokens, token_for_page
from web.sessions import Login, cached_login, current_login

TEMPLATE_DIR = Path(__file__).parent / "templates"


def make_engine() -> JinjaTemplateEngine:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    return JinjaTemplateEngine.from_environment(environment)


def language_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return i18n.negotiate(
        connection.cookies.get(i18n.LANGUAGE_COOKIE), connection.headers.get("accept-language")
    )


def _base_context(
    connection: ASGIConnection[Any, Any, Any, Any], login: Login | None, csrf_token: str
) -> dict[str, Any]:
    path = connection.scope.get("path", "/")
    return {
        "lang": i18n.active_language(),
        "languages": [(code, i18n.LANGUAGE_NAMES[code]) for code in i18n.LANGUAGES],
        "login": login,
        "csrf_token": csrf_token,
        "current_path": path if isinstance(path, str) and path.startswith("/") else "/",
    }


async def page(
    request: Request[Any, Any, Any],
    template_name: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """A page with the shared context (language, login, the forms' CSRF token)."""
    login = await current_login(request)
    base = _base_context(request, login, await token_for_page(request))
    return Template(template_name, context={**base, **context}, status_code=status_code)


def error_page(
    request: Request[Any, Any, Any],
    template_name: str,
    *,
    status_code: int,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    """A page rendered while handling an error: synchronous, no database.

    Uses the login only if this request found one already; otherwise the page
    shows the anonymous header (an error page is no place to look it up).
    """
    return Template(
        template_name,
        context={**sync_context(request), **context},
        status_code=status_code,
        headers=headers,
    )


def sync_context(connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
    """The shared context without a database look-up (the login only if already known)."""
    login = cached_login(connection.scope)
    token = login.session.csrf_token if login else form_tokens(connection).issue()
    return _base_context(connection, login, token)
