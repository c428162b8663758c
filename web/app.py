"""The Litestar application: pages, JSON API, security, sessions, languages.

:func:`create_app` builds the app over an open :class:`~matching.runtime.Runtime`
(handlers reach it as ``app.state.runtime``). ``coachmatch run`` passes the
workers' start and stop as start-up and shut-down hooks.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Router
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from litestar.types import LifespanHook

from matching import app_secrets
from matching.config import Settings
from matching.runtime import Runtime
from web import i18n
from web.controllers import auth, coach, coach_api, health, pages, portal, requests, requests_api
from web.csrf import FORM_KEY_PURPOSE, FormTokens
from web.errors import exception_handlers
from web.openapi import openapi_config
from web.security import HostCheck, add_security_headers
from web.sessions import SESSION_COOKIE, clear_ended_session_cookie, current_login
from web.templating import language_of, make_engine

STATIC_DIR = Path(__file__).parent / "static"
MAX_BODY_BYTES = 1024 * 1024  # forms and JSON; routes that take a CV: upload_routes()

ROUTES: tuple[Any, ...] = (
    pages.home,
    pages.choose_language,
    health.health_check,
    health.ping,
    auth.login_page,
    auth.login_submit,
    auth.logout,
    auth.api_login,
    auth.api_logout,
    auth.api_session,
    *coach.ROUTES,
    *coach_api.ROUTES,
    portal.admin_home,
    portal.admin_mailbox,
    portal.admin_mailbox_message,
    *requests.ROUTES,
    *requests_api.ROUTES,
)
# Routes that take a CV: their own body limit, from the settings (see upload_routes).
UPLOAD_MARGIN_BYTES = 256 * 1024  # the form's other fields


def upload_routes(settings: Settings) -> list[Router]:
    """The CV routes, each allowed a body of the largest CV plus the rest of the form
    (base64 in JSON takes 4 bytes for every 3); a larger body is refused with 413."""
    base64_bytes = (settings.cv_max_bytes + 2) // 3 * 4
    return [
        Router(
            path="/",
            route_handlers=list(requests.UPLOAD_ROUTES),
            request_max_body_size=settings.cv_max_bytes + UPLOAD_MARGIN_BYTES,
        ),
        Router(
            path="/",
            route_handlers=list(requests_api.UPLOAD_ROUTES),
            request_max_body_size=base64_bytes + UPLOAD_MARGIN_BYTES,
        ),
    ]


def create_app(
    runtime: Runtime,
    *,
    on_startup: Sequence[LifespanHook] = (),
    on_shutdown: Sequence[LifespanHook] = (),
    route_handlers: Sequence[Any] = (),
) -> Litestar:
    """The site over ``runtime``; ``route_handlers`` adds handlers (tests use it)."""

    async def load_form_key(app: Litestar) -> None:
        key = app_secrets.derived_key(runtime.vault, FORM_KEY_PURPOSE)
        app.state.form_tokens = FormTokens(key)

    i18n.catalogs()  # compile the catalogs now: a broken .po file stops the start
    static = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        include_in_schema=False,
        name="static",
    )
    return Litestar(
        route_handlers=[*ROUTES, *upload_routes(runtime.settings), static, *route_handlers],
        state=State({"runtime": runtime}),
        on_startup=[load_form_key, *on_startup],
        on_shutdown=list(on_shutdown),
        before_request=prepare_request,
        before_send=[clear_ended_session_cookie, add_security_headers],
        exception_handlers=exception_handlers(),
        middleware=[
            DefineMiddleware(
                HostCheck, allowed=runtime.settings.allowed_hosts, traffic=runtime.traffic
            )
        ],
        template_config=TemplateConfig(instance=make_engine()),
        openapi_config=openapi_config(_version()),
        request_max_body_size=MAX_BODY_BYTES,
        debug=False,  # never stack traces in responses; errors are mapped in web.errors
    )


async def prepare_request(request: Request[Any, Any, Any]) -> None:
    """Before every handler: the visitor's language, and their login if they have one."""
    i18n.activate(language_of(request))
    if SESSION_COOKIE in request.cookies and not request.url.path.startswith("/static/"):
        await current_login(request)


def _version() -> str:
    try:
        return importlib.metadata.version("coachmatch")
    except importlib.metadata.PackageNotFoundError:
        return "0"
