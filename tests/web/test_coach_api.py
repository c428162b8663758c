"""The coach's JSON API on SQLite and PostgreSQL (session cookie + X-CSRF-Token)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import httpx
import pytest
from litestar import Litestar

from matching import agreement, audit
from matching.runtime import Runtime
from matching.tables import AuditEntry, ContactRequest, Offer
from tests.matching.offer_support import PDF, SUMMARY, CoachSession, open_request, quick_coaches
from tests.web.support import Account, Client, client_for

PROBLEM = "application/problem+json"


@pytest.fixture
async def api(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as client:
        yield client


@pytest.fixture
async def pair(runtime: Runtime) -> list[CoachSession]:
    return await quick_coaches(runtime, 2)


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"] == f"urn:coachmatch:problem:{code}"
    return body


async def test_login_then_feed_through_the_api(
    runtime: Runtime, api: Client, coach: Account
) -> None:
    request_id = await open_request(runtime, [coach.id])  # type: ignore[list-item]
    login = await api.post(
        "/api/auth/login", json={"email": coach.email, "password": coach.password}
    )
    assert login.status_code == 200
    feed = await api.get("/api/coach/requests")
    assert feed.status_code == 200
    body = feed.json()
    [offer] = body["requests"]
    assert body["next_before"] is None
    assert offer["request_id"] == str(request_id) and offer["summary"] == SUMMARY
    assert offer["topics"] == ["carriereswitch"] and offer["province"] == "overijssel"
    assert offer["age_band"] == "35-44" and offer["field_of_work"] == "zorg"
    assert offer["employment"] == "employed" and offer["language"] == "nl"
    assert offer["status"] == "offered" and "Fenna" not in feed.text

    one = await api.get(f"/api/coach/requests/{request_id}")
    assert one.status_code == 200 and one.json()["summary"] == SUMMARY
    problem(await api.get(f"/api/coach/requests/{UUID(int=1)}"), 404, "not_found")


async def test_the_feed_pages_with_a_cursor(
    runtime: Runtime, api: Client, pair: list[CoachSession]
) -> None:
    me = pair[0]
    made = {await open_request(runtime, [me.id]) for _ in range(3)}
    seen: set[str] = set()
    params: dict[str, Any] = {"limit": 2}
    for _ in range(3):
        page = (await api.get("/api/coach/requests", params=params, headers=me.headers)).json()
        seen |= {offer["request_id"] for offer in page["requests"]}
        if page["next_before"] is None:
            break
        params["before"] = page["next_before"]
    assert seen == {str(r) for r in made}
    bad = await api.get("/api/coach/requests", params={"before": "nonsense"}, headers=me.headers)
    problem(bad, 422, "invalid_input")
    too_many = await api.get("/api/coach/requests", params={"limit": 1000}, headers=me.headers)
    assert too_many.status_code == 400
    assert too_many.headers["content-type"].startswith(PROBLEM)


async def test_first_accept_wins_and_the_contact_goes_only_to_the_winner(
    runtime: Runtime, api: Client, pair: list[CoachSession]
) -> None:
    winner, loser = pair
    request_id = await open_request(
        runtime, [winner.id, loser.id], details={"city": "Zwolle"}, cv=PDF
    )
    path = f"/api/coach/requests/{request_id}/accept"

    no_token = {"cookie": winner.headers["cookie"]}
    problem(await api.post(path, headers=no_token), 403, "csrf_failed")

    won = await api.post(path, headers=winner.headers)
    assert won.status_code == 200
    contact = won.json()["contact"]
    assert contact["name"] == "Fenna de Wit" and contact["phone"] == "+31612345678"
    assert contact["email"].startswith("candidate-") and contact["details"] == {"city": "Zwolle"}
    assert contact["cv"] is True and contact["request_id"] == str(request_id)

    late = problem(await api.post(path, headers=loser.headers), 409, "already_matched")
    assert "Fenna" not in str(late)
    problem(
        await api.get(f"/api/coach/requests/{request_id}", headers=loser.headers),
        409,
        "already_matched",
    )
    for refused in (
        await api.get(f"/api/coach/matches/{request_id}", headers=loser.headers),
        await api.get(f"/api/coach/matches/{request_id}/cv", headers=loser.headers),
    ):
        problem(refused, 404, "not_found")
    assert (await api.get("/api/coach/matches", headers=loser.headers)).json() == {"matches": []}

    mine = (await api.get("/api/coach/matches", headers=winner.headers)).json()["matches"]
    assert [(m["request_id"], m["name"], m["closed"]) for m in mine] == [
        (str(request_id), "Fenna de Wit", False)
    ]
    detail = (await api.get(f"/api/coach/matches/{request_id}", headers=winner.headers)).json()
    assert detail["contact"]["name"] == "Fenna de Wit"
    cv = await api.get(f"/api/coach/matches/{request_id}/cv", headers=winner.headers)
    assert cv.status_code == 200 and cv.content == PDF
    assert cv.headers["content-type"] == "application/pdf"
    assert cv.headers["content-disposition"].startswith("attachment;")
    assert cv.headers["cache-control"] == "no-store"

    closed = await api.post(f"/api/coach/matches/{request_id}/close", headers=winner.headers)
    assert closed.status_code == 200 and closed.json() == {
        "request_id": str(request_id),
        "closed": True,
    }
    after = (await api.get(f"/api/coach/matches/{request_id}", headers=winner.headers)).json()
    assert after["contact"] is None and after["name"] is None and after["closed"] is True
    problem(
        await api.get(f"/api/coach/matches/{request_id}/cv", headers=winner.headers),
        404,
        "not_found",
    )

    candidate = (await ContactRequest.select().where(ContactRequest.id == request_id))[0][
        "candidate_id"
    ]
    reads = await AuditEntry.select().where(
        (AuditEntry.action == audit.Action.DATA_DECRYPTED) & (AuditEntry.subject_id == candidate)
    )
    assert sorted(r["purpose"] for r in reads) == [
        "match_contact",
        "match_contact",
        "match_cv",
        "match_list",
    ]
    assert {r["actor"] for r in reads} == {f"coach:{winner.id}"}


async def test_accept_needs_the_agreement_and_room(runtime: Runtime, api: Client) -> None:
    [me] = await quick_coaches(runtime, 1, sign=False, capacity=1)
    first = await open_request(runtime, [me.id])
    second = await open_request(runtime, [me.id])
    problem(
        await api.post(f"/api/coach/requests/{first}/accept", headers=me.headers),
        403,
        "agreement_missing",
    )
    state = (await api.get("/api/coach/agreement", headers=me.headers)).json()
    assert state["accepted"] is False and state["version"] == agreement.VERSION
    assert list(state["clauses"]) == list(agreement.CLAUSES)
    problem(
        await api.post("/api/coach/agreement", json={"version": "old"}, headers=me.headers),
        422,
        "invalid_input",
    )
    signed = await api.post(
        "/api/coach/agreement", json={"version": agreement.VERSION}, headers=me.headers
    )
    assert signed.status_code == 200 and signed.json()["accepted"] is True

    assert (
        await api.post(f"/api/coach/requests/{first}/accept", headers=me.headers)
    ).status_code == 200
    problem(
        await api.post(f"/api/coach/requests/{second}/accept", headers=me.headers),
        409,
        "at_capacity",
    )
    await ContactRequest.update({ContactRequest.status: "expired"}).where(
        ContactRequest.id == second
    )
    await api.post(f"/api/coach/matches/{first}/close", headers=me.headers)
    problem(
        await api.post(f"/api/coach/requests/{second}/accept", headers=me.headers),
        409,
        "not_open",
    )


async def test_decline_with_and_without_a_reason(
    runtime: Runtime, api: Client, pair: list[CoachSession]
) -> None:
    me = pair[0]
    first = await open_request(runtime, [me.id])
    second = await open_request(runtime, [me.id])
    with_reason = await api.post(
        f"/api/coach/requests/{first}/decline", json={"reason": "region"}, headers=me.headers
    )
    assert with_reason.status_code == 200
    assert with_reason.json() == {
        "request_id": str(first),
        "status": "declined",
        "reason": "region",
    }
    bare = await api.post(f"/api/coach/requests/{second}/decline", headers=me.headers)
    assert bare.status_code == 200 and bare.json()["reason"] is None
    problem(
        await api.post(
            f"/api/coach/requests/{second}/decline", json={"reason": "bored"}, headers=me.headers
        ),
        422,
        "invalid_input",
    )
    rows = await Offer.select(Offer.request_id, Offer.decline_reason, Offer.status)
    assert {(r["request_id"], r["decline_reason"], r["status"]) for r in rows} == {
        (first, "region", "declined"),
        (second, None, "declined"),
    }
    assert (await api.get("/api/coach/requests", headers=me.headers)).json()["requests"] == []


async def test_profile_read_and_replace(api: Client, pair: list[CoachSession]) -> None:
    me = pair[0]
    profile = (await api.get("/api/coach/profile", headers=me.headers)).json()
    assert profile == {
        "topics": ["carriereswitch", "stress"],
        "regions": ["online"],
        "languages": ["nl", "en"],
        "capacity": 5,
        "paused": False,
    }
    new = {
        "topics": ["burn-out"],
        "regions": ["utrecht", "zeeland"],
        "languages": ["nl"],
        "capacity": 3,
        "paused": True,
    }
    changed = await api.put("/api/coach/profile", json=new, headers=me.headers)
    assert changed.status_code == 200 and changed.json() == new
    bad = await api.put(
        "/api/coach/profile",
        json={**new, "topics": ["astrology"], "regions": [], "capacity": 0},
        headers=me.headers,
    )
    body = problem(bad, 422, "invalid_fields")
    assert set(body["errors"]) == {"topics", "regions", "capacity"}
    wrong_type = await api.put(
        "/api/coach/profile", json={**new, "capacity": "many"}, headers=me.headers
    )
    assert wrong_type.status_code == 400
    assert (await api.get("/api/coach/profile", headers=me.headers)).json() == new
    no_token = {"cookie": me.headers["cookie"]}
    problem(await api.put("/api/coach/profile", json=new, headers=no_token), 403, "csrf_failed")


async def test_the_api_is_for_coaches_only(runtime: Runtime, api: Client, admin: Account) -> None:
    request_id = await open_request(runtime, [])
    for path in ("/api/coach/requests", "/api/coach/matches", f"/api/coach/requests/{request_id}"):
        problem(await api.get(path), 401, "login_required")
    login = await api.post(
        "/api/auth/login",
        json={"email": admin.email, "password": admin.password, "totp": admin.code()},
    )
    assert login.status_code == 200
    problem(await api.get("/api/coach/requests"), 403, "permission_denied")


async def test_the_api_is_documented(api: Client) -> None:
    schema = (await api.get("/schema/openapi.json")).json()
    for path in (
        "/api/coach/requests",
        "/api/coach/requests/{request_id}",
        "/api/coach/requests/{request_id}/accept",
        "/api/coach/requests/{request_id}/decline",
        "/api/coach/matches",
        "/api/coach/matches/{request_id}",
        "/api/coach/profile",
        "/api/coach/agreement",
    ):
        assert path in schema["paths"], path
