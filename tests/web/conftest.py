"""Fixtures for the web tests: a runtime over the test database, the app, a client.

The client talks to the app in-process over ``https://testserver.local`` (the
``__Host-`` cookies are ``Secure``, so the cookie jar only returns them over
https). It is httpx's ASGI transport on the test's own event loop, with the
app's lifespan run around it: Litestar's ``AsyncTestClient`` runs the app on a
loop in another thread, where the runtime's PostgreSQL pool (bound to the
test's loop) cannot be used. Accounts are made with the real service, logins go through the real
endpoints.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar, get

from matching import accounts
from matching.config import Settings
from matching.runtime import Runtime, close_runtime, open_runtime
from tests.web.support import HOST, PASSWORD, Account, client_for, started
from web.app import create_app


@get("/test-only/boom", include_in_schema=False, sync_to_thread=False)
def boom() -> str:
    raise RuntimeError("secret detail that must not leak: jan@example.org")


@get("/api/test-only/boom", include_in_schema=False, sync_to_thread=False)
def api_boom() -> str:
    raise RuntimeError("secret detail that must not leak: jan@example.org")


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, allowed_hosts=(HOST,), login_attempts_per_15_minutes=3)


@pytest.fixture
async def runtime(web_settings: Settings) -> AsyncIterator[Runtime]:
    runtime = await open_runtime(web_settings)
    yield runtime
    await close_runtime(runtime)


@pytest.fixture
async def app(runtime: Runtime) -> AsyncIterator[Litestar]:
    """The app, started (its start-up hooks have run)."""
    async with started(create_app(runtime, route_handlers=[boom, api_boom])) as app:
        yield app


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        yield client


@pytest.fixture
async def coach(runtime: Runtime) -> Account:
    coach_id, secret = await accounts.create_coach(
        runtime,
        email="coach@example.org",
        name="Coach Example",
        password=PASSWORD,
        topics=["carriereswitch", "burn-out"],
        regions=["utrecht"],
        languages=["nl", "en"],
    )
    return Account("coach", coach_id, "coach@example.org", secret)


@pytest.fixture
async def admin(runtime: Runtime) -> Account:
    admin_id, secret = await accounts.create_admin(
        runtime, email="admin@example.org", password=PASSWORD, name="Admin Example"
    )
    return Account("admin", admin_id, "admin@example.org", secret)


@pytest.fixture
async def totp_coach(runtime: Runtime) -> Account:
    """A coach who must give a TOTP code at every login."""
    coach_id, secret = await accounts.create_coach(
        runtime,
        email="careful@example.org",
        name="Careful Coach",
        password=PASSWORD,
        require_totp=True,
    )
    return Account("coach", coach_id, "careful@example.org", secret)
