"""The admin portal (behind login). The coach portal is :mod:`web.controllers.coach`."""

from __future__ import annotations

import datetime
from typing import Any

import anyio
from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template

from matching import mailbox, operations
from web.controllers.coach import TIME_ZONE
from web.sessions import require_admin, runtime_of
from web.templating import page

# -- admin -----------------------------------------------------------------------------


@get("/admin", name="admin-home", include_in_schema=False, guards=[require_admin])
async def admin_home(request: Request[Any, Any, Any]) -> Template:
    settings = runtime_of(request).settings
    now = datetime.datetime.now(datetime.UTC)
    return await page(
        request,
        "admin/home.html",
        dev_mailbox=not settings.smtp_url,
        operations=await operations.status(now),
        when=_when,
    )


def _when(moment: datetime.datetime) -> str:
    """A moment as the admin reads it: local time, Dutch order."""
    return moment.astimezone(TIME_ZONE).strftime("%d-%m-%Y %H:%M")


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
