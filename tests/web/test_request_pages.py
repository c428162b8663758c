"""The candidate's pages: form, preview, send, private link, status, withdraw, resend, erase.

Real app, real database (SQLite and PostgreSQL), forms posted as a browser would
post them (the preview's hidden fields are read back from the page).
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import logging
import re
import zipfile
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from typing import Any
from uuid import UUID

import httpx
import pytest
from litestar import Litestar

from matching import accounts, agreement, candidates, consent, intake, matches
from matching.config import Settings
from matching.runtime import Runtime
from matching.tables import (
    CandidateDetail,
    CandidateFile,
    Consent,
    ContactRequest,
    WaitingIntake,
)
from tests.matching.request_jobs import run_broadcasts
from tests.web.support import PASSWORD, client_for, form_token
from web.controllers import requests as request_pages

CV_MAX_BYTES = 64 * 1024
COOKIE = "__Host-candidate"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
MOTIVATION = (
    "Ik ben Fenna de Wit en ik werk als verpleegkundige in Zwolle. "
    "Ik wil graag hulp bij een carrièreswitch."
)


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    """Small CVs, so the size limits are cheap to test."""
    return dataclasses.replace(
        settings, allowed_hosts=("testserver.local",), cv_max_bytes=CV_MAX_BYTES
    )


@pytest.fixture
async def other_client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        yield client


class _Fields(HTMLParser):
    """The values a browser would send from the page's multipart form."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("type") == "hidden" and a.get("name") != "next":
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None:
            self.fields.append((self._textarea, self._text))
            self._textarea = None


def preview_fields(html: str) -> list[tuple[str, str]]:
    start = html.index('action="/request"')
    parser = _Fields()
    parser.feed(html[start : html.index("</form>", start)])
    return parser.fields


def as_data(fields: list[tuple[str, str]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, value in fields:
        if name in ("topics", "consents"):
            data.setdefault(name, []).append(value)
        else:
            data[name] = value
    return data


def entered(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "Fenna de Wit",
        "email": "fenna.dewit@example.org",
        "motivation": MOTIVATION,
        "topics": ["carriereswitch"],
        "language": "nl",
        "consents": ["contact_share", "address", "job_title"],
        "city": "Zwolle",
        "job_title": "verpleegkundige",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


async def preview(client: httpx.AsyncClient, **overrides: Any) -> httpx.Response:
    token = await form_token(client, "/request")
    return await client.post("/request/preview", data={"csrf_token": token, **entered(**overrides)})


async def send(
    client: httpx.AsyncClient,
    page: httpx.Response,
    *,
    cv: tuple[str, bytes] | None = None,
    edit: str | None = None,
    action: str = "send",
) -> httpx.Response:
    data = as_data(preview_fields(page.text))
    if edit is not None:
        data["edited_text"] = edit
    data["action"] = action
    files = (
        {"cv": (cv[0], cv[1], "application/octet-stream")}
        if cv
        else {"cv": ("", b"", "application/octet-stream")}
    )
    return await client.post("/request", data=data, files=files)


async def signed_coach(runtime: Runtime) -> UUID:
    coach_id, _ = await accounts.create_coach(
        runtime,
        email="kim.coach@example.org",
        name="Kim Jansen",
        password=PASSWORD,
        topics=["carriereswitch"],
        regions=["online"],
        languages=["nl"],
    )
    await agreement.accept(coach_id, agreement.VERSION, actor=f"coach:{coach_id}")
    return coach_id


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


def not_a_docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "just a zip")
    return buffer.getvalue()


# -- the form --------------------------------------------------------------------------


async def test_the_form_asks_the_minimum_and_says_why(client: httpx.AsyncClient) -> None:
    page = await client.get("/request")
    assert page.status_code == 200
    html = page.text
    assert "<script" not in html and 'action="/request/preview"' in html
    for name in ("name", "email", "motivation"):
        assert f'<label for="field-{name}">' in html
        assert f'aria-describedby="{name}-why"' in html and f'id="{name}-why"' in html
    assert "<legend>Onderwerpen" in html and 'id="topic-carriereswitch"' in html
    assert 'id="consent-contact_share"' in html
    # Every optional field is there without JavaScript, each behind its consent.
    for name in request_pages.OPTIONAL_FIELDS:
        assert f'id="field-{name}"' in html, name
        assert f'aria-describedby="{name}-why"' in html, name
    for code in consent.PURPOSES:
        assert f'id="consent-{code}"' in html, code
    assert "verwijderen ze daarna direct" in html  # special data: deleted at once unless kept
    english = await client.get("/request", headers={"accept-language": "en"})
    assert "What would you like help with?" in english.text


async def test_the_home_page_leads_to_the_form(client: httpx.AsyncClient) -> None:
    home = await client.get("/")
    assert 'href="/request"' in home.text


async def test_bad_input_is_refused_and_everything_is_kept(client: httpx.AsyncClient) -> None:
    page = await preview(
        client,
        email="not-an-address",
        topics=["astrology"],
        consents=["address"],
        phone="0612345678",  # given without its consent
        job_title="Hovenier",  # its consent is missing too now
    )
    assert page.status_code == 422
    html = page.text
    assert 'role="alert"' in html
    for anchor in ("consent-contact_share", "field-email", "topic-loopbaan", "field-phone"):
        assert f'href="#{anchor}"' in html, anchor
    assert 'id="email-error"' in html and "het e-mailadres is niet geldig" in html
    assert 'aria-describedby="email-why email-error"' in html and 'aria-invalid="true"' in html
    assert "vink de toestemming voor dit veld aan, of laat het leeg" in html
    assert "onbekend onderwerp" in html
    # What was entered is all still there.
    assert 'value="Fenna de Wit"' in html and 'value="not-an-address"' in html
    assert "Ik ben Fenna de Wit en ik werk" in html
    assert 'value="0612345678"' in html and 'value="Zwolle"' in html
    assert re.search(r'id="consent-address"[^>]*checked', html)


async def test_a_stale_form_token_keeps_the_values(client: httpx.AsyncClient) -> None:
    page = await client.post("/request/preview", data={"csrf_token": "stale", **entered()})
    assert page.status_code == 403
    assert 'value="Fenna de Wit"' in page.text and "staat er nog" in page.text
    foreign = await client.post(
        "/request/preview",
        data={"csrf_token": "stale", **entered()},
        headers={"origin": "https://evil.example"},
    )
    assert foreign.status_code == 403 and "Fenna" not in foreign.text


# -- preview and send ------------------------------------------------------------------


async def test_the_whole_journey(
    client: httpx.AsyncClient,
    other_client: httpx.AsyncClient,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    coach_id = await signed_coach(runtime)
    page = await preview(client)
    assert page.status_code == 200, page.text
    html = page.text
    text = dict(preview_fields(html))["edited_text"]
    assert "Fenna" not in text and "Zwolle" not in text and "carrièreswitch" in text
    assert "Overijssel" in html and "Zorg" in html  # province and field of work, not city/title
    assert 'name="cv" type="file"' not in html  # no CV consent, no upload
    assert ("name", "Fenna de Wit") in preview_fields(html)

    # "Edit my details" goes back to the form with everything kept.
    back = await send(client, page, action="edit")
    assert back.status_code == 200 and 'value="Fenna de Wit"' in back.text
    assert 'action="/request/preview"' in back.text

    sent = await send(client, page, edit=text + " Bel me op 06-12345678.")
    assert sent.status_code == 303 and sent.headers["location"] == "/request/sent"
    cookie = sent.headers["set-cookie"]
    token = client.cookies[COOKIE]
    for attribute in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/"):
        assert attribute.lower() in cookie.lower()
    assert "max-age" not in cookie.lower() and "expires" not in cookie.lower()
    # Stored sealed in the intake inbox until it is filed: only the token's hash is plain.
    [row] = await WaitingIntake.select()
    assert row["token_hash"] == intake.hash_token(token)
    assert token not in str(row)

    confirmation = await client.get("/request/sent")
    assert confirmation.status_code == 200 and 'href="/my-request"' in confirmation.text
    waiting = await client.get("/my-request")
    assert waiting.status_code == 200 and "wacht op een coach" in waiting.text
    assert waiting.headers["cache-control"] == "no-store"

    await run_broadcasts(runtime)
    summary = await candidates.status(runtime, token)
    assert summary.summary is not None and "06-12345678" not in summary.summary
    shown = await client.get("/my-request")
    assert summary.summary.split()[0] in shown.text
    assert 'action="/my-request/withdraw"' in shown.text

    # The private link from the e-mail, in another browser: the token leaves the address bar.
    opened = await other_client.get(f"/s/{token}")
    assert opened.status_code == 303 and opened.headers["location"] == "/my-request"
    assert other_client.cookies[COOKIE] == token
    assert opened.headers["referrer-policy"] == "no-referrer"

    await matches.accept(runtime, coach_id, row["request_id"])
    matched = await other_client.get("/my-request")
    assert "Kim Jansen" in matched.text and 'href="mailto:kim.coach@example.org"' in matched.text
    assert 'action="/my-request/withdraw"' not in matched.text
    late = await other_client.post(
        "/my-request/withdraw", data={"csrf_token": await form_token(other_client, "/my-request")}
    )
    assert late.status_code == 409

    # Every record of the app and the database driver; httpx's own are the test client's.
    records = [r for r in caplog.records if not r.name.startswith("httpx")]
    for record in records:
        assert token not in record.getMessage() and token not in repr(record.args)


async def test_special_data_is_dropped_unless_kept(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    special = {
        "employment": "employed",
        "employer": "Bakkerij Molenaar",
        "income": "around-modal",
    }
    plain = {"city": None, "job_title": None}
    page = await preview(client, consents=["contact_share", "special"], **special, **plain)
    assert page.status_code == 200, page.text
    assert "Molenaar" not in dict(preview_fields(page.text))["edited_text"]
    assert (await send(client, page)).status_code == 303
    await run_broadcasts(runtime)  # matching has used them: gone
    assert await CandidateDetail.count().where(CandidateDetail.special == True) == 0  # noqa: E712

    async with client_for(client._transport.app) as second:  # type: ignore[attr-defined]
        page = await preview(
            second, consents=["contact_share", "special", "keep_special"], **special, **plain
        )
        assert (await send(second, page)).status_code == 303
    await run_broadcasts(runtime)
    kept = await CandidateDetail.select(CandidateDetail.field).where(
        CandidateDetail.special == True  # noqa: E712
    )
    assert sorted(r["field"] for r in kept) == ["employer", "employment", "income"]
    consents = {r["purpose"] for r in await Consent.select(Consent.purpose)}
    assert {"contact_share", "special", "keep_special"} <= consents


async def test_cv_checks_keep_the_preview(client: httpx.AsyncClient) -> None:
    page = await preview(client, consents=["contact_share", "cv"], city=None, job_title=None)
    assert 'name="cv" type="file"' in page.text
    edited = "Mijn eigen aangepaste tekst over een carrièreswitch."
    for name, content in (
        ("cv.pdf", PNG),  # a PNG renamed .pdf
        ("cv.docx", not_a_docx()),  # a zip that is no Word document
        ("cv.pdf", PDF + b"%" * CV_MAX_BYTES),  # over the limit, within the upload margin
    ):
        again = await send(client, page, cv=(name, content), edit=edited)
        assert again.status_code == 422, name
        assert 'id="cv-error"' in again.text and "Kies het bestand opnieuw" in again.text
        assert edited in again.text and ("name", "Fenna de Wit") in preview_fields(again.text)
    assert await ContactRequest.count() == 0

    # Far over the limit: refused before it is read, with a friendly page.
    huge = await send(client, page, cv=("cv.pdf", PDF + b"%" * (CV_MAX_BYTES * 8)))
    assert huge.status_code == 413 and "terugknop" in huge.text

    word = docx()
    sent = await send(client, page, cv=("Mijn cv.docx", word))
    assert sent.status_code == 303
    download = await client.get("/my-request")  # the link files the request first
    [stored] = await CandidateFile.select(CandidateFile.media_type, CandidateFile.content)
    assert stored["media_type"] == intake.cv.DOCX and b"word/document.xml" not in stored["content"]
    assert 'href="/my-request/cv"' in download.text
    cv = await client.get("/my-request/cv")
    assert cv.status_code == 200 and cv.content == word
    assert "attachment" in cv.headers["content-disposition"]
    assert "Mijn%20cv.docx" in cv.headers["content-disposition"]


# -- the private link and what the candidate may do ------------------------------------


async def test_an_unknown_link_is_a_friendly_404(client: httpx.AsyncClient) -> None:
    for path in ("/s/not-a-real-token-but-long-enough-to-look-like-one", "/s/x", "/my-request"):
        page = await client.get(path)
        assert page.status_code == 404 and "Deze link kennen we niet" in page.text
        assert COOKIE not in client.cookies
    client.cookies.set(COOKIE, "A" * 43, domain="testserver.local")
    stale = await client.get("/my-request")
    assert stale.status_code == 404 and f"{COOKIE}=;" in stale.headers["set-cookie"].replace(
        '""', ""
    )


async def test_expire_resend_withdraw_and_erase(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await signed_coach(runtime)
    assert (await send(client, await preview(client))).status_code == 303
    token = client.cookies[COOKIE]
    await run_broadcasts(runtime)
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=15)
    assert await candidates.expire_due(runtime, later) == 1

    expired = await client.get("/my-request")
    assert "geen coach heeft op tijd gereageerd" in expired.text
    assert 'action="/my-request/resend"' in expired.text
    assert 'action="/my-request/withdraw"' in expired.text
    csrf = await form_token(client, "/my-request")
    resent = await client.post("/my-request/resend", data={"csrf_token": csrf})
    assert resent.status_code == 303 and resent.headers["location"] == "/my-request"
    assert "wacht op een coach" in (await client.get("/my-request")).text

    withdrawn = await client.post("/my-request/withdraw", data={"csrf_token": csrf})
    assert withdrawn.status_code == 303
    assert "Status: ingetrokken" in (await client.get("/my-request")).text
    no_token = await client.post("/my-request/withdraw", data={"csrf_token": "nope"})
    assert no_token.status_code == 403

    confirm = await client.get("/my-request/erase")
    assert confirm.status_code == 200 and 'action="/my-request/erase"' in confirm.text
    erased = await client.post("/my-request/erase", data={"csrf_token": csrf})
    assert erased.status_code == 303 and erased.headers["location"] == "/my-request/erased"
    assert COOKIE not in client.cookies
    assert (await client.get("/my-request/erased")).status_code == 200
    assert (await client.get(f"/s/{token}")).status_code == 404
    assert await ContactRequest.count() == 0
