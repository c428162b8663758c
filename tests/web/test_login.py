"""Logging in and out through the pages and the JSON API; sessions, CSRF, rate limits."""

from __future__ import annotations

import datetime
import hashlib

import time_machine
from litestar import Litestar

from matching import audit
from matching.audit import Action
from matching.runtime import Runtime
from matching.tables import AuditEntry, WebSession
from tests.web.support import (
    BASE_URL,
    HOST,
    SESSION_COOKIE,
    Account,
    Client,
    client_for,
    form_token,
    log_in,
)

GENERIC = "E-mail address, password or code is incorrect."
GENERIC_NL = "E-mailadres, wachtwoord of code is onjuist."


def _set_cookie_headers(response: object) -> list[str]:
    return response.headers.get_list("set-cookie")  # type: ignore[attr-defined]


async def _actions() -> list[str]:
    rows = await AuditEntry.select(AuditEntry.action).order_by(AuditEntry.seq)
    return [row["action"] for row in rows]


# -- logging in ------------------------------------------------------------------------


async def test_a_coach_logs_in_and_gets_a_safe_session_cookie(
    client: Client, coach: Account
) -> None:
    response = await log_in(client, coach)
    assert response.status_code == 303
    assert response.headers["location"] == "/coach"
    [cookie] = _set_cookie_headers(response)
    name, _, rest = cookie.partition("=")
    assert name == SESSION_COOKIE
    attributes = [part.strip().lower() for part in rest.split(";")[1:]]
    assert "secure" in attributes and "httponly" in attributes
    assert "samesite=lax" in attributes and "path=/" in attributes
    assert not any(a.startswith("domain") for a in attributes)
    assert not any(a.startswith(("max-age", "expires")) for a in attributes)

    page = await client.get("/coach")
    assert page.status_code == 200
    assert "Carrièreswitch" in page.text and "Utrecht" in page.text
    assert Action.LOGIN_SUCCEEDED in await _actions()


async def test_the_database_holds_only_a_hash_of_the_session_id(
    client: Client, coach: Account
) -> None:
    await log_in(client, coach)
    session_id = client.cookies[SESSION_COOKIE]
    assert len(session_id) >= 43  # 256 bits, base64
    [row] = await WebSession.select()
    assert row["id_hash"] == hashlib.sha256(session_id.encode()).hexdigest()
    assert session_id not in str(row)


async def test_login_gives_a_new_session_id_and_ends_the_old_one(
    app: Litestar, client: Client, coach: Account
) -> None:
    await log_in(client, coach)
    first = client.cookies[SESSION_COOKIE]
    await log_in(client, coach)
    second = client.cookies[SESSION_COOKIE]
    assert first != second
    assert await WebSession.count() == 1
    async with client_for(app) as other:
        other.cookies.set(SESSION_COOKIE, first)
        response = await other.get("/coach", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/login"


async def test_a_planted_session_id_is_never_adopted(client: Client, coach: Account) -> None:
    planted = "A" * 43
    client.cookies.set(SESSION_COOKIE, planted, domain=HOST)
    response = await log_in(client, coach)
    assert response.status_code == 303
    assert client.cookies[SESSION_COOKIE] != planted
    assert await WebSession.count() == 1


async def test_an_admin_needs_the_totp_code(client: Client, admin: Account) -> None:
    response = await log_in(client, admin)
    assert response.status_code == 401
    assert GENERIC_NL in response.text
    assert SESSION_COOKIE not in client.cookies
    response = await log_in(client, admin, totp=admin.code())
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    page = await client.get("/admin")
    assert page.status_code == 200


async def test_a_replayed_totp_code_is_refused(client: Client, totp_coach: Account) -> None:
    code = totp_coach.code()
    assert (await log_in(client, totp_coach, totp=code)).status_code == 303
    await client.post("/logout", data={"csrf_token": await form_token(client, "/coach")})
    replay = await log_in(client, totp_coach, totp=code)
    assert replay.status_code == 401
    assert SESSION_COOKIE not in client.cookies


async def test_an_older_code_is_refused_after_a_newer_one(
    client: Client, totp_coach: Account
) -> None:
    assert (await log_in(client, totp_coach, totp=totp_coach.code(+1))).status_code == 303
    client.cookies.clear()
    assert (await log_in(client, totp_coach, totp=totp_coach.code(0))).status_code == 401


async def test_failures_all_look_the_same(
    client: Client, coach: Account, totp_coach: Account
) -> None:
    unknown = Account("coach", None, "nobody@example.org", coach.totp_secret)
    attempts = [
        await log_in(client, coach, password="wrong password, long enough"),
        await log_in(client, unknown),
        await log_in(client, totp_coach, totp="000000" if totp_coach.code() != "000000" else "1"),
    ]
    for response in attempts:
        assert response.status_code == 401
        assert GENERIC_NL in response.text
        assert 'role="alert"' in response.text
    assert len({r.text.count("alert") for r in attempts}) == 1
    assert (await _actions()).count(Action.LOGIN_FAILED) == 3


async def test_the_json_api_login(client: Client, totp_coach: Account) -> None:
    response = await client.post(
        "/api/auth/login",
        json={
            "email": totp_coach.email,
            "password": totp_coach.password,
            "totp": totp_coach.code(),
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "coach" and body["id"] == str(totp_coach.id)
    token = body["csrf_token"]
    assert client.cookies[SESSION_COOKIE]

    session = await client.get("/api/auth/session")
    assert session.status_code == 200 and session.json()["csrf_token"] == token

    refused = await client.post("/api/auth/logout")
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "csrf_failed"

    done = await client.post("/api/auth/logout", headers={"X-CSRF-Token": token})
    assert done.status_code == 204
    assert (await client.get("/api/auth/session")).status_code == 401


async def test_json_api_login_failure_is_a_problem(client: Client, coach: Account) -> None:
    response = await client.post(
        "/api/auth/login", json={"email": coach.email, "password": "not the password!!"}
    )
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body == {
        "type": "urn:coachmatch:problem:authentication_failed",
        "title": "Login failed",
        "status": 401,
        "detail": GENERIC,
        "code": "authentication_failed",
    }


async def test_json_api_validation_errors_name_the_field_not_the_value(client: Client) -> None:
    response = await client.post("/api/auth/login", json={"email": 12345})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "bad_request"
    assert "12345" not in response.text


# -- logging out and timeouts ----------------------------------------------------------


async def test_logout_ends_the_session_on_the_server(
    app: Litestar, client: Client, coach: Account
) -> None:
    await log_in(client, coach)
    old = client.cookies[SESSION_COOKIE]
    token = await form_token(client, "/coach")
    response = await client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert any(
        c.startswith(f"{SESSION_COOKIE}=;") or f'{SESSION_COOKIE}=""' in c
        for c in _set_cookie_headers(response)
    )
    assert await WebSession.count() == 0
    async with client_for(app) as thief:
        thief.cookies.set(SESSION_COOKIE, old)
        assert (await thief.get("/coach", follow_redirects=False)).status_code == 303
        assert (await thief.get("/api/auth/session")).status_code == 401
    assert Action.LOGOUT in await _actions()


async def test_idle_timeout(client: Client, coach: Account, runtime: Runtime) -> None:
    idle = runtime.settings.session_idle_minutes
    with time_machine.travel(datetime.datetime.now(datetime.UTC), tick=True) as traveller:
        await log_in(client, coach)
        traveller.shift(datetime.timedelta(minutes=idle - 5))
        assert (await client.get("/coach")).status_code == 200  # activity resets the clock
        await runtime.session_touches.write()  # the site writes it a second later
        traveller.shift(datetime.timedelta(minutes=idle - 5))
        assert (await client.get("/coach")).status_code == 200
        await runtime.session_touches.write()
        traveller.shift(datetime.timedelta(minutes=idle + 1))
        response = await client.get("/coach", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/login"
        assert any(c.startswith(f"{SESSION_COOKIE}=") for c in _set_cookie_headers(response))
    assert await WebSession.count() == 0
    assert Action.SESSION_EXPIRED in await _actions()


async def test_absolute_timeout(client: Client, coach: Account, runtime: Runtime) -> None:
    settings = runtime.settings
    step = datetime.timedelta(minutes=settings.session_idle_minutes // 2)
    lifetime = datetime.timedelta(hours=settings.session_absolute_hours)
    with time_machine.travel(datetime.datetime.now(datetime.UTC), tick=True) as traveller:
        await log_in(client, coach)
        elapsed = datetime.timedelta()
        while elapsed + step < lifetime:
            traveller.shift(step)
            elapsed += step
            assert (await client.get("/api/auth/session")).status_code == 200
            await runtime.session_touches.write()  # the site writes it a second later
        traveller.shift(lifetime - elapsed + datetime.timedelta(seconds=1))
        assert (await client.get("/api/auth/session")).status_code == 401
    assert await WebSession.count() == 0


# -- CSRF ------------------------------------------------------------------------------


async def test_the_login_form_needs_its_token(client: Client, coach: Account) -> None:
    data = {"email": coach.email, "password": coach.password}
    missing = await client.post("/login", data=data)
    assert missing.status_code == 403
    forged = await client.post("/login", data={**data, "csrf_token": "AAAA" + "B" * 60})
    assert forged.status_code == 403
    assert SESSION_COOKIE not in client.cookies
    # The form comes back with a fresh token, so the visitor can simply try again.
    assert 'name="csrf_token"' in forged.text


async def test_a_cross_site_post_is_refused_even_with_a_token(
    client: Client, coach: Account
) -> None:
    token = await form_token(client)
    data = {"email": coach.email, "password": coach.password, "csrf_token": token}
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        response = await client.post("/login", data=data, headers=headers)
        assert response.status_code == 403
    for headers in ({"Origin": "null"}, {"Origin": "null", "Sec-Fetch-Site": "same-site"}):
        response = await client.post("/login", data=data, headers=headers)
        assert response.status_code == 403
    same = await client.post(
        "/login", data=data, headers={"Origin": BASE_URL, "Sec-Fetch-Site": "same-origin"}
    )
    assert same.status_code == 303


async def test_our_own_no_referrer_form_post_is_accepted(client: Client, coach: Account) -> None:
    # With Referrer-Policy: no-referrer, browsers send "Origin: null" on our own forms.
    token = await form_token(client)
    data = {"email": coach.email, "password": coach.password, "csrf_token": token}
    response = await client.post(
        "/login", data=data, headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    )
    assert response.status_code == 303


async def test_an_expired_form_token_is_refused(client: Client, coach: Account) -> None:
    with time_machine.travel(datetime.datetime.now(datetime.UTC), tick=True) as traveller:
        token = await form_token(client)
        traveller.shift(datetime.timedelta(hours=3))
        response = await client.post(
            "/login", data={"email": coach.email, "password": coach.password, "csrf_token": token}
        )
    assert response.status_code == 403


async def test_logout_needs_the_session_token(client: Client, coach: Account) -> None:
    await log_in(client, coach)
    anonymous_token = await form_token(client, "/")  # a valid token, but not this session's
    await client.get("/coach")
    refused = await client.post("/logout", data={"csrf_token": "nope"})
    assert refused.status_code == 403
    assert await WebSession.count() == 1
    assert (await client.get("/coach")).status_code == 200
    assert anonymous_token  # the page's token is the session's own
    assert (await client.post("/logout", data={"csrf_token": anonymous_token})).status_code == 303


async def test_json_login_refuses_a_form_post(client: Client, coach: Account) -> None:
    response = await client.post(
        "/api/auth/login", data={"email": coach.email, "password": coach.password}
    )
    assert response.status_code == 403


# -- rate limits -----------------------------------------------------------------------


async def test_too_many_failures_lock_the_account_for_a_while(
    client: Client, coach: Account, runtime: Runtime
) -> None:
    limit = runtime.settings.login_attempts_per_15_minutes
    with time_machine.travel(datetime.datetime.now(datetime.UTC), tick=True) as traveller:
        for _ in range(limit):
            assert (await log_in(client, coach, password="x" * 12)).status_code == 401
        blocked = await log_in(client, coach)  # even the right password
        assert blocked.status_code == 429
        assert blocked.headers["retry-after"] == "900"
        assert "15 minuten" in blocked.text
        api = await client.post(
            "/api/auth/login", json={"email": coach.email, "password": coach.password}
        )
        assert api.status_code == 429 and api.json()["code"] == "too_many_attempts"
        traveller.shift(datetime.timedelta(minutes=16))
        assert (await log_in(client, coach)).status_code == 303
    assert Action.LOGIN_THROTTLED in await _actions()


async def test_a_network_is_limited_across_accounts(client: Client, runtime: Runtime) -> None:
    limit = runtime.settings.login_attempts_per_15_minutes
    for n in range(limit * 5):
        unknown = Account("coach", None, f"guess{n}@example.org", "")
        assert (await log_in(client, unknown)).status_code == 401
    late = Account("coach", None, "another@example.org", "")
    assert (await log_in(client, late)).status_code == 429


async def test_the_audit_chain_stays_valid(client: Client, coach: Account) -> None:
    await log_in(client, coach, password="wrong password here")
    await log_in(client, coach)
    await client.post("/logout", data={"csrf_token": await form_token(client, "/coach")})
    report = await audit.verify_chain()
    assert report.ok and report.entries >= 4


# -- portals ---------------------------------------------------------------------------


async def test_portals_are_for_their_own_kind(
    client: Client, coach: Account, admin: Account
) -> None:
    anonymous = await client.get("/admin", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"
    await log_in(client, coach)
    refused = await client.get("/admin")
    assert refused.status_code == 403
    assert "Niet toegestaan" in refused.text
    assert (await client.get("/admin/mailbox")).status_code == 403


async def test_a_coach_switches_on_totp(client: Client, coach: Account) -> None:
    await log_in(client, coach)
    page = await client.get("/coach/security")
    assert coach.totp_secret in page.text
    token = await form_token(client, "/coach/security")
    wrong = await client.post("/coach/security", data={"code": "12", "csrf_token": token})
    assert wrong.status_code == 422
    assert "de code klopt niet" in wrong.text
    right = await client.post("/coach/security", data={"code": coach.code(), "csrf_token": token})
    assert right.status_code == 303
    assert coach.totp_secret not in (await client.get("/coach/security")).text
    client.cookies.clear()
    assert (await log_in(client, coach)).status_code == 401  # now the code is required
    assert (await log_in(client, coach, totp=coach.code(+1))).status_code == 303
