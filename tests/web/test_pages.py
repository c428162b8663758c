"""The public pages: home, languages, API docs, health, error pages."""

from __future__ import annotations

import datetime
import re

import pytest
from litestar import Litestar

from matching import db, health
from matching.tables import WorkerHeartbeat
from tests.web.support import Account, Client, form_token, log_in

HTML_LANG = re.compile(r'<html lang="(\w+)">')


def html_lang(text: str) -> str:
    found = HTML_LANG.search(text)
    assert found, "no <html lang>"
    return found.group(1)


# -- home page and languages -----------------------------------------------------------


async def test_the_home_page_is_dutch_by_default(client: Client) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert html_lang(page.text) == "nl"
    assert "Vind een loopbaancoach, met behoud van je privacy" in page.text
    assert "Zo werkt het" in page.text and "Onze privacybelofte" in page.text
    assert 'href="/login"' in page.text
    assert 'href="#main"' in page.text and 'id="main"' in page.text  # skip link


async def test_accept_language_picks_english(client: Client) -> None:
    page = await client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert html_lang(page.text) == "en"
    assert "Find a career coach, privately" in page.text
    page = await client.get("/", headers={"Accept-Language": "de-DE, en;q=0.5, nl;q=0.4"})
    assert html_lang(page.text) == "en"
    page = await client.get("/", headers={"Accept-Language": "fr-FR"})
    assert html_lang(page.text) == "nl"


async def test_the_language_switch_remembers_the_choice(client: Client) -> None:
    token = await form_token(client, "/")
    response = await client.post(
        "/language", data={"lang": "en", "next": "/login", "csrf_token": token}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    [cookie] = response.headers.get_list("set-cookie")
    assert cookie.startswith("lang=en;")
    assert "secure" in cookie.lower() and "samesite=lax" in cookie.lower()
    # The explicit choice beats the browser's Accept-Language.
    page = await client.get("/login", headers={"Accept-Language": "nl"})
    assert html_lang(page.text) == "en"
    assert ">Log in<" in page.text


async def test_the_language_switch_stays_on_this_site(client: Client) -> None:
    token = await form_token(client, "/")
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = await client.post(
            "/language", data={"lang": "en", "next": target, "csrf_token": token}
        )
        assert response.headers["location"] == "/"


async def test_the_language_switch_needs_a_token_and_a_known_language(client: Client) -> None:
    assert (await client.post("/language", data={"lang": "en"})).status_code == 403
    token = await form_token(client, "/")
    response = await client.post("/language", data={"lang": "xx", "csrf_token": token})
    assert response.status_code == 422
    assert "onbekende taal" in response.text
    assert "set-cookie" not in response.headers


async def test_the_header_shows_the_login_state(client: Client, coach: Account) -> None:
    assert "Uitloggen" not in (await client.get("/")).text
    await log_in(client, coach)
    page = await client.get("/")
    assert "Uitloggen" in page.text and 'href="/coach"' in page.text


# -- API documentation -----------------------------------------------------------------


async def test_openapi_document(client: Client) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert {"/health", "/api/auth/login", "/api/auth/logout", "/api/auth/session"} <= set(
        document["paths"]
    )
    assert "/" not in document["paths"] and "/login" not in document["paths"]


async def test_the_docs_page_needs_no_script_and_no_cdn(client: Client) -> None:
    page = await client.get("/schema")
    assert page.status_code == 200
    assert "<script" not in page.text and "<style" not in page.text
    assert "http://" not in page.text and "https://" not in page.text
    assert "/api/auth/login" in page.text
    assert html_lang(page.text) == "nl"


async def test_no_page_has_inline_script_or_style(client: Client) -> None:
    for path in ("/", "/login", "/schema", "/does-not-exist"):
        text = (await client.get(path)).text
        assert "<script" not in text and "<style" not in text and " style=" not in text


# -- health ----------------------------------------------------------------------------


async def test_health_without_a_worker_is_503(client: Client) -> None:
    response = await client.get("/health")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "workers": "unavailable"}


async def test_health_with_a_live_worker(client: Client) -> None:
    await health.beat("embedded-test", "embedded")
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "workers": "ok"}


async def test_health_with_a_stale_worker_is_503(client: Client) -> None:
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    await WorkerHeartbeat.insert(
        WorkerHeartbeat(worker_id="embedded-old", seen_at=long_ago, mode="embedded")
    )
    assert (await client.get("/health")).status_code == 503


@pytest.mark.filterwarnings("ignore:.*Unable to connect to database")
async def test_health_when_the_database_is_gone(app: Litestar, client: Client) -> None:
    # Point the tables at a server that is not there (nothing listens on port 1).
    db.bind(db.make_engine("postgresql://postgres@127.0.0.1:1/gone"))
    try:
        response = await client.get("/health")
    finally:
        db.bind(app.state.runtime.engine)
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "unavailable",
        "workers": "unknown",
    }


# -- error pages -----------------------------------------------------------------------


async def test_404_page_is_friendly_and_translated(client: Client) -> None:
    page = await client.get("/nergens")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Pagina niet gevonden" in page.text and html_lang(page.text) == "nl"
    english = await client.get("/nowhere", headers={"Accept-Language": "en"})
    assert "Page not found" in english.text and html_lang(english.text) == "en"


async def test_405(client: Client) -> None:
    page = await client.put("/login")
    assert page.status_code == 405
    assert "Methode niet toegestaan" in page.text
    assert "GET" in page.headers["allow"]


async def test_api_errors_are_problem_details(client: Client) -> None:
    response = await client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404 and body["code"] == "not_found"
    assert {"type", "title", "status", "detail"} <= set(body)
    assert "/api/nothing-here" not in response.text  # the path (a token, later) is not echoed
