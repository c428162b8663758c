"""Security headers on every response (errors included), caching, allowed hosts, no cookies."""

from __future__ import annotations

import pytest
from litestar import Litestar, get

from matching.runtime import Runtime
from tests.web.support import SESSION_COOKIE, Account, Client, client_for, log_in, started
from web.app import create_app
from web.security import host_allowed, host_name

EXPECTED_HEADERS = (
    "content-security-policy",
    "strict-transport-security",
    "x-content-type-options",
    "referrer-policy",
    "permissions-policy",
    "cross-origin-opener-policy",
    "x-frame-options",
    "cache-control",
)


def assert_security_headers(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name in EXPECTED_HEADERS:
        assert name in headers, f"{name} missing on {response}"
    csp = headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["strict-transport-security"].startswith("max-age=")


PAGES = (
    ("/", 200),
    ("/login", 200),
    ("/schema", 200),
    ("/schema/openapi.json", 200),
    ("/static/css/site.css", 200),
    ("/does-not-exist", 404),
    ("/api/does-not-exist", 404),
    ("/test-only/boom", 500),
    ("/api/test-only/boom", 500),
)


async def test_every_response_carries_the_security_headers(client: Client) -> None:
    for path, status in PAGES:
        response = await client.get(path)
        assert response.status_code == status, path
        assert_security_headers(response)


async def test_headers_on_405_and_redirects(client: Client) -> None:
    response = await client.delete("/")
    assert response.status_code == 405
    assert_security_headers(response)
    response = await client.get("/coach", follow_redirects=False)
    assert response.status_code == 303
    assert_security_headers(response)


async def test_a_500_reveals_nothing(client: Client) -> None:
    page = await client.get("/test-only/boom")
    assert page.status_code == 500
    assert "jan@example.org" not in page.text and "RuntimeError" not in page.text
    assert "Traceback" not in page.text
    problem = await client.get("/api/test-only/boom")
    assert problem.headers["content-type"] == "application/problem+json"
    body = problem.json()
    assert body["status"] == 500 and body["code"] == "internal_error"
    assert "jan@example.org" not in problem.text and "RuntimeError" not in problem.text


async def test_an_anonymous_get_sets_no_cookie(client: Client) -> None:
    for path in (
        "/",
        "/health",
        "/schema",
        "/schema/openapi.json",
        "/login",
        "/static/css/site.css",
        "/does-not-exist",
        "/coach",
        "/api/auth/session",
    ):
        response = await client.get(path)
        assert "set-cookie" not in response.headers, path
    assert not client.cookies


async def test_cache_policy(client: Client, coach: Account) -> None:
    assert (await client.get("/")).headers["cache-control"] == "no-cache"
    assert (await client.get("/login")).headers["cache-control"] == "no-store"
    assert (await client.get("/health")).headers["cache-control"] == "no-store"
    assert (await client.get("/api/auth/session")).headers["cache-control"] == "no-store"
    assert (await client.get("/static/css/site.css")).headers["cache-control"].startswith("public")
    await log_in(client, coach)
    assert client.cookies.get(SESSION_COOKIE)
    # With a session every page is private, the public home page included.
    assert (await client.get("/")).headers["cache-control"] == "no-store"
    assert (await client.get("/coach")).headers["cache-control"] == "no-store"


async def test_a_foreign_host_is_refused(app: Litestar) -> None:
    async with client_for(app, "https://evil.example") as foreign:
        response = await foreign.get("/login")
        assert response.status_code == 400
        assert_security_headers(response)
        problem = await foreign.get("/api/auth/session")
        assert problem.status_code == 400
        assert problem.json()["code"] == "invalid_host"


async def test_an_allowed_host_with_a_port_is_accepted(app: Litestar) -> None:
    async with client_for(app, "https://testserver.local:8443") as ported:
        assert (await ported.get("/")).status_code == 200


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("Example.org:8000", "example.org"),
        ("[::1]:8000", "[::1]"),
        ("[::1]", "[::1]"),
        ("127.0.0.1", "127.0.0.1"),
        ("host:notaport", "host:notaport"),
    ],
)
def test_host_name(header: str, name: str) -> None:
    assert host_name(header) == name


def test_host_patterns() -> None:
    assert host_allowed("a.example.org", ["*.example.org"])
    assert not host_allowed("example.org.evil", ["*.example.org"])
    assert not host_allowed("evilexample.org", ["*.example.org"])
    assert host_allowed("anything", ["*"])
    assert not host_allowed("", ["localhost"])


async def test_requests_in_flight_are_counted_for_the_background_jobs(runtime: Runtime) -> None:
    @get("/test/in-flight", sync_to_thread=False)
    def in_flight() -> dict[str, int]:
        return {"in_flight": runtime.traffic.in_flight}

    app = create_app(runtime, route_handlers=[in_flight])
    async with started(app), client_for(app) as client:
        seen = (await client.get("/test/in-flight")).json()
        refused = await client.get("/test/in-flight", headers={"host": "evil.example"})
    assert seen == {"in_flight": 1}
    assert refused.status_code == 400
    assert runtime.traffic.in_flight == 0
