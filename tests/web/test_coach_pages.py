"""The coach portal's pages on SQLite and PostgreSQL: feed, accept, decline, matches, profile."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from litestar import Litestar

from matching import agreement, audit, matches
from matching.runtime import Runtime
from matching.tables import AuditEntry, Coach, ContactRequest, Offer
from tests.matching.offer_support import (
    PDF,
    SUMMARY,
    CoachSession,
    open_request,
    quick_coaches,
)
from tests.web.support import Account, Client, client_for, log_in
from web import i18n
from web.controllers import coach as coach_pages

EN = {"accept-language": "en"}


@pytest.fixture
async def me(client: Client, coach: Account) -> Account:
    """The ``coach`` fixture, logged in through the login form."""
    response = await log_in(client, coach)
    assert response.status_code == 303
    return coach


@pytest.fixture
async def rival(runtime: Runtime) -> CoachSession:
    [rival] = await quick_coaches(runtime, 1, prefix="rival")
    return rival


@pytest.fixture
async def rival_client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        yield client


def nl(msgid: str) -> str:
    return i18n.catalogs()["nl"].gettext(msgid)


def token_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "no CSRF field"
    return found.group(1)


async def sign(coach_id: object) -> None:
    await agreement.accept(coach_id, agreement.VERSION, actor=f"coach:{coach_id}")  # type: ignore[arg-type]


async def post_form(
    client: Client, path: str, data: dict[str, Any] | None = None
) -> httpx.Response:
    token = token_of(await client.get("/coach"))
    return await client.post(path, data={"csrf_token": token, **(data or {})})


def text_of(response: httpx.Response) -> str:
    return html.unescape(response.text)


async def test_the_feed_shows_offers_with_labels_and_the_agreement_banner(
    runtime: Runtime, client: Client, me: Account
) -> None:
    request_id = await open_request(runtime, [me.id])  # type: ignore[list-item]
    page = await client.get("/coach")
    assert page.status_code == 200
    text = text_of(page)
    assert 'id="agreement-banner"' in text and 'href="/coach/agreement"' in text
    assert f'href="/coach/requests/{request_id}"' in text
    for shown in (
        "Carrièreswitch",
        "Overijssel",
        "35-44 jaar",
        "Zorg en welzijn",
        "Nederlands",
        nl("Employed"),
    ):
        assert shown in text, shown
    assert SUMMARY in text and "Fenna" not in text

    english = text_of(await client.get("/coach", headers=EN))
    for shown in (
        "Career change",
        "35-44 years",
        "Healthcare and social work",
        "Dutch",
        "Employed",
    ):
        assert shown in english, shown

    await sign(me.id)
    assert 'id="agreement-banner"' not in (await client.get("/coach")).text


async def test_the_winner_sees_the_contact_and_everyone_later_already_matched(
    runtime: Runtime,
    client: Client,
    me: Account,
    rival: CoachSession,
    rival_client: Client,
) -> None:
    await sign(me.id)
    request_id = await open_request(
        runtime,
        [me.id, rival.id],  # type: ignore[list-item]
        details={"city": "Zwolle", "gender": "woman"},
        cv=PDF,
    )
    detail = await client.get(f"/coach/requests/{request_id}")
    assert detail.status_code == 200
    assert f'action="/coach/requests/{request_id}/accept"' in detail.text
    assert f'action="/coach/requests/{request_id}/decline"' in detail.text
    assert SUMMARY in text_of(detail)

    accepted = await post_form(client, f"/coach/requests/{request_id}/accept")
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"/coach/matches/{request_id}"
    match = text_of(await client.get(f"/coach/matches/{request_id}"))
    for shown in ("Fenna de Wit", "+31612345678", "Zwolle", nl("Town or city"), nl("Woman")):
        assert shown in match, shown
    assert f'href="/coach/matches/{request_id}/cv"' in match
    # The request page now leads to the match.
    again = await client.get(f"/coach/requests/{request_id}")
    assert again.status_code == 303 and again.headers["location"] == f"/coach/matches/{request_id}"

    cv = await client.get(f"/coach/matches/{request_id}/cv")
    assert cv.status_code == 200 and cv.content == PDF
    assert cv.headers["content-type"] == "application/pdf"
    assert cv.headers["content-disposition"].startswith("attachment;")
    assert "CV%20Fenna.pdf" in cv.headers["content-disposition"]
    assert cv.headers["cache-control"] == "no-store"

    late = await rival_client.post(
        f"/coach/requests/{request_id}/accept",
        data={"csrf_token": rival.csrf_token},
        headers=rival.headers,
    )
    assert late.status_code == 409
    assert nl("Already matched") in text_of(late) and "Fenna" not in late.text
    english = await rival_client.get(f"/coach/requests/{request_id}", headers=rival.headers | EN)
    assert english.status_code == 409 and "Already matched" in english.text
    for path in (f"/coach/matches/{request_id}", f"/coach/matches/{request_id}/cv"):
        refused = await rival_client.get(path, headers=rival.headers)
        assert refused.status_code == 404 and "Fenna" not in refused.text


async def test_accepting_needs_the_agreement_and_room(
    runtime: Runtime, client: Client, me: Account
) -> None:
    request_id = await open_request(runtime, [me.id])  # type: ignore[list-item]
    refused = await post_form(client, f"/coach/requests/{request_id}/accept")
    assert refused.status_code == 403
    assert 'href="/coach/agreement"' in refused.text
    assert await ContactRequest.count().where(ContactRequest.status == "matched") == 0

    page = await client.get("/coach/agreement")
    assert agreement.VERSION in page.text
    unticked = await post_form(client, "/coach/agreement", {"version": agreement.VERSION})
    assert unticked.status_code == 422 and 'role="alert"' in unticked.text
    signed = await post_form(
        client, "/coach/agreement", {"version": agreement.VERSION, "agree": "yes"}
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/coach/agreement"
    assert "Je hebt deze versie geaccepteerd" in text_of(await client.get("/coach/agreement"))

    await Coach.update({Coach.capacity: 1}).where(Coach.id == me.id)
    other = await open_request(runtime, [me.id])  # type: ignore[list-item]
    assert (await post_form(client, f"/coach/requests/{other}/accept")).status_code == 303
    full = await post_form(client, f"/coach/requests/{request_id}/accept")
    assert full.status_code == 409 and 'href="/coach/matches"' in full.text

    closed = await post_form(client, f"/coach/matches/{other}/close")
    assert closed.status_code == 303
    closed_page = text_of(await client.get(f"/coach/matches/{other}"))
    assert "Fenna" not in closed_page
    assert (await client.get(f"/coach/matches/{other}/cv")).status_code == 404
    assert (await post_form(client, f"/coach/requests/{request_id}/accept")).status_code == 303


async def test_a_request_no_longer_open_says_so(
    runtime: Runtime, client: Client, me: Account
) -> None:
    request_id = await open_request(runtime, [me.id])  # type: ignore[list-item]
    await ContactRequest.update({ContactRequest.status: "withdrawn"}).where(
        ContactRequest.id == request_id
    )
    page = await client.get(f"/coach/requests/{request_id}")
    assert page.status_code == 409 and nl("No longer open") in text_of(page)
    assert (await client.get(f"/coach/requests/{UUID(int=7)}")).status_code == 404


async def test_decline_with_a_reason(runtime: Runtime, client: Client, me: Account) -> None:
    request_id = await open_request(runtime, [me.id])  # type: ignore[list-item]
    detail = await client.get(f"/coach/requests/{request_id}")
    assert 'value="region"' in detail.text
    declined = await post_form(
        client, f"/coach/requests/{request_id}/decline", {"reason": "region"}
    )
    assert declined.status_code == 303 and declined.headers["location"] == "/coach?done=declined"
    home = await client.get("/coach?done=declined")
    assert f"/coach/requests/{request_id}" not in home.text and 'role="status"' in home.text
    [offer] = await Offer.select().where(Offer.request_id == request_id)
    assert offer["status"] == "declined" and offer["decline_reason"] == "region"
    bad = await post_form(client, f"/coach/requests/{request_id}/decline", {"reason": "<b>"})
    assert bad.status_code == 422


async def test_forms_need_the_session_token(runtime: Runtime, client: Client, me: Account) -> None:
    await sign(me.id)
    request_id = await open_request(runtime, [me.id])  # type: ignore[list-item]
    for path in (f"/coach/requests/{request_id}/accept", f"/coach/requests/{request_id}/decline"):
        refused = await client.post(path, data={"csrf_token": "forged"})
        assert refused.status_code == 403
    assert await ContactRequest.count().where(ContactRequest.status == "matched") == 0


async def test_my_matches_lists_names_and_audits_the_reads(
    runtime: Runtime, client: Client, me: Account
) -> None:
    await sign(me.id)
    request_id = await open_request(runtime, [me.id], name="Joost Visser")  # type: ignore[list-item]
    await matches.accept(runtime, me.id, request_id)  # type: ignore[arg-type]
    page = await client.get("/coach/matches")
    assert page.status_code == 200 and "Joost Visser" in page.text
    assert f'href="/coach/matches/{request_id}"' in page.text
    listed = await AuditEntry.select().where(
        (AuditEntry.action == audit.Action.DATA_DECRYPTED) & (AuditEntry.purpose == "match_list")
    )
    assert len(listed) == 1 and listed[0]["actor"] == f"coach:{me.id}"


async def test_the_profile_form_keeps_what_was_sent(client: Client, me: Account) -> None:
    page = await client.get("/coach/profile")
    assert page.status_code == 200
    assert re.search(
        r'id="topics-carriereswitch" name="topics" value="carriereswitch" checked', page.text
    )
    assert re.search(r'id="regions-utrecht" name="regions" value="utrecht" checked', page.text)

    bad = await post_form(
        client,
        "/coach/profile",
        {"topics": ["stress", "burn-out"], "regions": [], "languages": ["en"], "capacity": "99"},
    )
    assert bad.status_code == 422
    text = text_of(bad)
    assert "Kies minstens één provincie, of online." in text
    assert 'aria-invalid="true"' in text and 'value="99"' in text
    assert re.search(r'value="stress" checked', text) and re.search(
        r'value="burn-out" checked', text
    )
    assert not re.search(r'value="carriereswitch" checked', text)

    good = await post_form(
        client,
        "/coach/profile",
        {
            "topics": ["stress", "burn-out"],
            "regions": ["online"],
            "languages": ["en"],
            "capacity": "7",
            "paused": "yes",
        },
    )
    assert good.status_code == 303 and good.headers["location"] == "/coach/profile?saved=true"
    [row] = await Coach.select().where(Coach.id == me.id).output(load_json=True)
    assert row["topics"] == ["stress", "burn-out"] and row["regions"] == ["online"]
    assert row["capacity"] == 7 and row["paused"] is True
    saved = text_of(await client.get("/coach/profile?saved=true"))
    assert "Je profiel is opgeslagen." in saved


async def test_the_portal_is_for_logged_in_coaches_only(
    client: Client, admin: Account, runtime: Runtime
) -> None:
    request_id = await open_request(runtime, [])
    for path in ("/coach", "/coach/matches", "/coach/profile", f"/coach/requests/{request_id}"):
        response = await client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/login"
    await log_in(client, admin, totp=admin.code())
    assert (await client.get("/coach/matches")).status_code == 403


def test_the_agreement_clauses_are_in_the_catalog() -> None:
    assert coach_pages.AGREEMENT_CLAUSES == agreement.CLAUSES
