"""The coach portal and the admin portal (behind login)."""

from __future__ import annotations

import dataclasses
from typing import Any

import anyio
from litestar import Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from matching import accounts, mailbox
from web.csrf import protect_session
from web.sessions import login_of, require_admin, require_coach, runtime_of
from web.templating import page

# -- coach -----------------------------------------------------------------------------


@get("/coach", name="coach-home", include_in_schema=False, guards=[require_coach])
async def coach_home(request: Request[Any, Any, Any]) -> Template:
    login = await login_of(request)
    profile = await accounts.coach_profile(login.principal.id)
    return await page(request, "coach/home.html", profile=profile)


@get("/coach/security", name="coach-security", include_in_schema=False, guards=[require_coach])
async def coach_security(request: Request[Any, Any, Any]) -> Template:
    login = await login_of(request)
    profile = await accounts.coach_profile(login.principal.id)
    secret = None
    if not profile.totp_enabled:
        secret = await accounts.coach_totp_secret(runtime_of(request), login.principal.id)
    return await page(request, "coach/security.html", profile=profile, secret=secret)


@dataclasses.dataclass
class TotpForm:
    code: str = dataclasses.field(default="", repr=False)
    csrf_token: str = ""


@post(
    "/coach/security",
    name="coach-security-submit",
    include_in_schema=False,
    guards=[require_coach, protect_session],
    opt={"form_template": "coach/security.html"},
    status_code=HTTP_303_SEE_OTHER,
)
async def coach_enable_totp(
    request: Request[Any, Any, Any],
    data: URLEncodedBody[TotpForm],
) -> Redirect:
    login = await login_of(request)
    await accounts.enable_coach_totp(runtime_of(request), login.principal.id, data.code)
    return Redirect("/coach/security", status_code=HTTP_303_SEE_OTHER)


# -- admin -----------------------------------------------------------------------------


@get("/admin", name="admin-home", include_in_schema=False, guards=[require_admin])
async def admin_home(request: Request[Any, Any, Any]) -> Template:
    settings = runtime_of(request).settings
    return await page(request, "admin/home.html", dev_mailbox=not settings.smtp_url)


@get("/admin/mailbox", name="admin-mailbox", include_in_schema=False, guards=[require_admin])
async def admin_mailbox(request: Request[Any, Any, Any]) -> Template:
    folder = runtime_of(request).settings.mailbox_dir
    messages = await anyio.to_thread.run_sync(mailbox.list_messages, folder)
    return await page(request, "admin/mailbox.html", messages=messages)


@get(
    "/admin/mailbox/{name:str}",
    name="admin-mailbox-message",
    include_in_schema=False,
    guards=[require_admin],
)
async def admin_mailbox_message(request: Request[Any, Any, Any], name: FromPath[str]) -> Template:
    folder = runtime_of(request).settings.mailbox_dir
    message = await anyio.to_thread.run_sync(mailbox.read_message, folder, name)
    return await page(request, "admin/message.html", message=message)
