"""Helpers for the web tests (fixtures are in ``conftest.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
from litestar import Litestar

from matching import credentials

HOST = "testserver.local"
BASE_URL = f"https://{HOST}"
PASSWORD = "correct horse battery staple"
SESSION_COOKIE = "__Host-session"
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')

Client = httpx.AsyncClient


@contextlib.asynccontextmanager
async def started(app: Litestar) -> AsyncIterator[Litestar]:
    """Run the app's lifespan (start-up hooks) around a block, on this event loop.

    The lifespan runs in its own task for the whole block: Litestar's lifespan
    enters an anyio cancel scope that must be left by the task that entered it,
    and pytest-asyncio tears fixtures down in another task than it set them up.
    """
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def receive() -> dict[str, Any]:
        return await inbox.get()

    async def send(message: Any) -> None:
        await outbox.put(dict(message))

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(scope, receive, send))  # type: ignore[arg-type]
    await inbox.put({"type": "lifespan.startup"})
    started_message = await outbox.get()
    if started_message["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"the app did not start: {started_message}")
    try:
        yield app
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task


def client_for(app: Litestar, base_url: str = BASE_URL) -> httpx.AsyncClient:
    """A client for ``app`` on this event loop (redirects are not followed: tests check them)."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("203.0.113.7", 50000)),  # type: ignore[arg-type]
        base_url=base_url,
        follow_redirects=False,
    )


@dataclasses.dataclass
class Account:
    kind: str
    id: object
    email: str
    totp_secret: str
    password: str = PASSWORD

    def code(self, offset: int = 0) -> str:
        return credentials.code_for_step(self.totp_secret, credentials.current_step() + offset)


async def form_token(client: Client, path: str = "/login") -> str:
    """The CSRF token a page's forms carry (what a browser would submit)."""
    response = await client.get(path)
    found = _CSRF_FIELD.search(response.text)
    assert found, f"no CSRF field on {path}"
    return found.group(1)


async def log_in(
    client: Client,
    account: Account,
    *,
    totp: str = "",
    password: str | None = None,
) -> Any:
    token = await form_token(client, "/")  # /login itself redirects a logged-in visitor
    return await client.post(
        "/login",
        data={
            "email": account.email,
            "password": password or account.password,
            "totp": totp,
            "csrf_token": token,
        },
        follow_redirects=False,
    )
