"""Accounts: creating coaches and admins, authenticating, TOTP replay, throttling, sessions."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import statistics
import time
from collections.abc import AsyncIterator

import pytest
import time_machine
from argon2 import PasswordHasher
from hypothesis import given
from hypothesis import strategies as st

from matching import accounts, audit, credentials, login_throttle, sessions, subjects
from matching.accounts import LoginAttempt
from matching.config import Settings
from matching.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    TooManyAttempts,
)
from matching.runtime import Runtime, close_runtime, open_runtime
from matching.tables import Admin, AuditEntry, Coach, LoginThrottle, WebSession

PASSWORD = "a long enough password"
EMAIL = "Coach.Person@Example.org"


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    runtime = await open_runtime(dataclasses.replace(settings, login_attempts_per_15_minutes=3))
    yield runtime
    await close_runtime(runtime)


async def _coach(runtime: Runtime, **overrides: object) -> tuple[object, str]:
    values: dict[str, object] = {
        "email": EMAIL,
        "name": "Coach Person",
        "password": PASSWORD,
        "topics": ["Carriereswitch", "burn-out", "burn-out"],
        "regions": ["utrecht"],
        "languages": ["nl", "EN"],
    }
    values.update(overrides)
    return await accounts.create_coach(runtime, **values)  # type: ignore[arg-type]


def _attempt(
    email: str = EMAIL, password: str = PASSWORD, totp: str = "", client: str = "198.51.100.20"
) -> LoginAttempt:
    return LoginAttempt(email, password, totp, client)


# -- creating --------------------------------------------------------------------------


async def test_create_coach_stores_only_ciphertexts_and_hashes(runtime: Runtime) -> None:
    coach_id, secret = await _coach(runtime)
    [row] = await Coach.select().where(Coach.id == coach_id).output(load_json=True)
    assert row["topics"] == ["carriereswitch", "burn-out"]
    assert row["languages"] == ["nl", "en"]
    assert row["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in row["password_hash"]
    assert secret.encode() not in bytes(row["totp_secret"])
    assert row["totp_enabled"] is False
    assert row["email_index"] == runtime.vault.email_index(EMAIL)
    record = await subjects.read_subject(runtime.vault, row["subject_id"])
    assert record.kind == "coach" and record.email == EMAIL and record.name == "Coach Person"
    # The secret decrypts only under the coach's own key and row.
    assert await accounts.coach_totp_secret(runtime, coach_id) == secret  # type: ignore[arg-type]
    actions = [r["action"] for r in await AuditEntry.select(AuditEntry.action)]
    assert audit.Action.ACCOUNT_CREATED in actions


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"email": "not-an-address"}, "e-mail address is not valid"),
        ({"email": "two@@example.org"}, "e-mail address is not valid"),
        ({"email": "a b@example.org"}, "e-mail address is not valid"),
        ({"email": "x@" + "a" * 250 + ".nl"}, "e-mail address is not valid"),
        ({"password": "short"}, "at least 12 characters"),
        ({"password": "x" * 1025}, "at most 1024"),
        ({"name": "  "}, "name is required"),
        ({"topics": ["has space"]}, "unknown topic"),
        ({"languages": ["dutch"]}, "unknown language"),
    ],
)
async def test_create_coach_refuses_bad_input(
    runtime: Runtime, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        await _coach(runtime, **overrides)
    assert await Coach.count() == 0


async def test_duplicate_accounts_conflict(runtime: Runtime) -> None:
    await _coach(runtime)
    with pytest.raises(Conflict):
        await _coach(runtime, email=EMAIL.upper())  # the blind index normalises
    await accounts.create_admin(runtime, email=EMAIL, password=PASSWORD)  # another kind: fine
    with pytest.raises(Conflict):
        await accounts.create_admin(runtime, email=EMAIL, password=PASSWORD)
    assert await Coach.count() == 1 and await Admin.count() == 1


async def test_an_admin_always_has_a_totp_secret(runtime: Runtime) -> None:
    admin_id, secret = await accounts.create_admin(runtime, email=EMAIL, password=PASSWORD)
    [row] = await Admin.select().where(Admin.id == admin_id)
    assert row["totp_secret"] and len(secret) == 32
    with pytest.raises(AuthenticationFailed):
        await accounts.authenticate(runtime, _attempt())  # no code: refused
    code = credentials.code_for_step(secret, credentials.current_step())
    principal = await accounts.authenticate(runtime, _attempt(totp=code))
    assert principal.kind == "admin" and principal.id == admin_id


# -- authenticating --------------------------------------------------------------------


async def test_authenticate_a_coach_without_totp(runtime: Runtime) -> None:
    coach_id, _ = await _coach(runtime)
    principal = await accounts.authenticate(runtime, _attempt(email="coach.person@example.ORG"))
    assert principal.kind == "coach" and principal.id == coach_id
    assert principal.actor == f"coach:{coach_id}"


@pytest.mark.parametrize("case", ["unknown", "password", "code", "missing_code"])
async def test_every_failure_is_the_same_error(runtime: Runtime, case: str) -> None:
    _, secret = await _coach(runtime, require_totp=True)
    good = credentials.code_for_step(secret, credentials.current_step())
    wrong = "000000" if good != "000000" else "111111"
    attempt = {
        "unknown": _attempt(email="someone@example.org", totp=good),
        "password": _attempt(password="the wrong password", totp=good),
        "code": _attempt(totp=wrong),
        "missing_code": _attempt(),
    }[case]
    with pytest.raises(AuthenticationFailed) as caught:
        await accounts.authenticate(runtime, attempt)
    assert str(caught.value) == "E-mail address, password or code is incorrect."
    rows = await AuditEntry.select().where(AuditEntry.action == audit.Action.LOGIN_FAILED)
    assert len(rows) == 1
    assert EMAIL.lower() not in str(rows[0]).lower()


async def test_a_used_code_cannot_be_used_again(runtime: Runtime) -> None:
    _, secret = await _coach(runtime, require_totp=True)
    step = credentials.current_step()
    code = credentials.code_for_step(secret, step)
    await accounts.authenticate(runtime, _attempt(totp=code))
    with pytest.raises(AuthenticationFailed):
        await accounts.authenticate(runtime, _attempt(totp=code))
    earlier = credentials.code_for_step(secret, step - 1)
    with pytest.raises(AuthenticationFailed):
        await accounts.authenticate(runtime, _attempt(totp=earlier))
    later = credentials.code_for_step(secret, step + 1)
    await accounts.authenticate(runtime, _attempt(totp=later))


async def test_two_logins_racing_with_one_code_cannot_both_pass(runtime: Runtime) -> None:
    _, secret = await _coach(runtime, require_totp=True)
    code = credentials.code_for_step(secret, credentials.current_step())
    results = await asyncio.gather(
        *(accounts.authenticate(runtime, _attempt(totp=code)) for _ in range(4)),
        return_exceptions=True,
    )
    passed = [r for r in results if not isinstance(r, BaseException)]
    assert len(passed) == 1
    assert all(isinstance(r, AuthenticationFailed) for r in results if r not in passed)


async def test_codes_outside_the_window_are_refused(runtime: Runtime) -> None:
    _, secret = await _coach(runtime, require_totp=True)
    step = credentials.current_step()
    for offset in (-3, -2, 2, 3):
        code = credentials.code_for_step(secret, step + offset)
        if code in {credentials.code_for_step(secret, step + d) for d in (-1, 0, 1)}:
            continue  # a one-in-a-million collision with a code inside the window
        with pytest.raises(AuthenticationFailed):
            await accounts.authenticate(runtime, _attempt(totp=code))
        await LoginThrottle.delete(force=True)  # four tries exceed the test's limit of 3


async def test_an_outdated_hash_is_upgraded_at_login(runtime: Runtime) -> None:
    coach_id, _ = await _coach(runtime)
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    await Coach.update({Coach.password_hash: weak}).where(Coach.id == coach_id)
    await accounts.authenticate(runtime, _attempt())
    [row] = await Coach.select(Coach.password_hash).where(Coach.id == coach_id)
    assert row["password_hash"] != weak
    assert not credentials.needs_rehash(row["password_hash"])


async def test_a_disabled_account_cannot_log_in(runtime: Runtime) -> None:
    coach_id, _ = await _coach(runtime)
    await Coach.update({Coach.active: False}).where(Coach.id == coach_id)
    with pytest.raises(AuthenticationFailed):
        await accounts.authenticate(runtime, _attempt())
    assert await accounts.principal("coach", coach_id) is None  # type: ignore[arg-type]


async def test_an_unknown_account_costs_as_much_as_a_wrong_password(runtime: Runtime) -> None:
    await _coach(runtime)

    async def timed(attempt: LoginAttempt) -> float:
        start = time.perf_counter()
        with pytest.raises(AuthenticationFailed):
            await accounts.authenticate(runtime, attempt)
        await LoginThrottle.delete(force=True)
        return time.perf_counter() - start

    unknown = [await timed(_attempt(email=f"x{i}@example.org")) for i in range(3)]
    wrong = [await timed(_attempt(password="wrong password!")) for i in range(3)]
    # A real argon2 verification takes tens of milliseconds; skipping it would not.
    assert statistics.median(unknown) > 0.5 * statistics.median(wrong)


# -- throttling ------------------------------------------------------------------------


async def test_the_account_is_throttled_after_the_limit(runtime: Runtime) -> None:
    await _coach(runtime)
    limit = runtime.settings.login_attempts_per_15_minutes
    with time_machine.travel(datetime.datetime.now(datetime.UTC), tick=True) as traveller:
        for n in range(limit):  # from different networks: the account counter does it
            with pytest.raises(AuthenticationFailed):
                await accounts.authenticate(
                    runtime, _attempt(password="wrong password!", client=f"10.0.{n}.1")
                )
        with pytest.raises(TooManyAttempts):
            await accounts.authenticate(runtime, _attempt(client="10.9.9.9"))
        traveller.shift(datetime.timedelta(minutes=15, seconds=1))
        await accounts.authenticate(runtime, _attempt(client="10.9.9.9"))
    # A success resets the account's counter.
    rows = await LoginThrottle.select()
    assert login_throttle.account_key(runtime.vault.email_index(EMAIL)) not in {
        r["key_hash"] for r in rows
    }


async def test_the_throttle_table_holds_no_addresses_or_emails(runtime: Runtime) -> None:
    await _coach(runtime)
    with pytest.raises(AuthenticationFailed):
        await accounts.authenticate(runtime, _attempt(password="wrong password!"))
    dump = str(await LoginThrottle.select())
    assert "198.51.100" not in dump and "example.org" not in dump.lower()
    assert runtime.vault.email_index(EMAIL) not in dump


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("198.51.100.20", "198.51.100.0/24"),
        ("::ffff:198.51.100.20", "198.51.100.0/24"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("[2001:db8::1]", "2001:db8::/64"),
        ("testclient", "unknown"),
        ("", "unknown"),
    ],
)
def test_truncate_address(address: str, network: str) -> None:
    assert login_throttle.truncate_address(address) == network


@given(st.ip_addresses(v=4), st.integers(min_value=0, max_value=255))
def test_one_ipv4_network_shares_one_key(address: object, last: int) -> None:
    neighbour = ".".join([*str(address).split(".")[:3], str(last)])
    key = bytes(32)
    assert login_throttle.network_key(key, str(address)) == login_throttle.network_key(
        key, neighbour
    )


# -- sessions --------------------------------------------------------------------------


async def test_session_lifecycle(runtime: Runtime) -> None:
    coach_id, _ = await _coach(runtime)
    done = await accounts.log_in(runtime, _attempt())
    idle = datetime.timedelta(minutes=30)
    loaded = await sessions.load_session(done.session_id, idle=idle)
    assert loaded is not None and loaded.principal_id == coach_id
    assert loaded.expires_at - loaded.created_at == datetime.timedelta(hours=12)
    again = await accounts.log_in(runtime, _attempt(), replaces=done.session_id)
    assert again.session_id != done.session_id
    assert await sessions.load_session(done.session_id, idle=idle) is None
    assert await sessions.close_session(again.session_id) is not None
    assert await sessions.load_session(again.session_id, idle=idle) is None
    assert await sessions.close_session(again.session_id) is None


@pytest.mark.parametrize("session_id", ["", "short", "A" * 42 + "!", "x" * 500])
async def test_malformed_session_ids_are_ignored(runtime: Runtime, session_id: str) -> None:
    idle = datetime.timedelta(minutes=30)
    assert await sessions.load_session(session_id, idle=idle) is None


async def test_purge_expired_sessions(runtime: Runtime) -> None:
    coach_id, _ = await _coach(runtime)
    idle = datetime.timedelta(minutes=30)
    with time_machine.travel(datetime.datetime.now(datetime.UTC), tick=True) as traveller:
        await sessions.open_session("coach", coach_id, lifetime=datetime.timedelta(hours=1))  # type: ignore[arg-type]
        assert await sessions.purge_expired(idle=idle) == 0
        traveller.shift(datetime.timedelta(minutes=31))
        assert await sessions.purge_expired(idle=idle) == 1


async def test_last_seen_times_are_written_together_and_never_late(runtime: Runtime) -> None:
    await _coach(runtime)
    logins = [await accounts.log_in(runtime, _attempt()) for _ in range(3)]
    idle = datetime.timedelta(minutes=30)
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    await WebSession.update({WebSession.last_seen_at: long_ago}, force=True)
    touches = sessions.SessionTouches(delay=3600)  # written only when asked below
    before = datetime.datetime.now(datetime.UTC)
    for login in logins:
        info = await sessions.load_session(login.session_id, idle=idle, touches=touches)
        assert info is not None and info.last_seen_at >= before
    assert touches.pending == 3
    assert {r["last_seen_at"] for r in await WebSession.select(WebSession.last_seen_at)} == {
        long_ago
    }
    await touches.close()
    assert touches.pending == 0
    seen = {r["last_seen_at"] for r in await WebSession.select(WebSession.last_seen_at)}
    assert len(seen) == 1 and before <= seen.pop() <= datetime.datetime.now(datetime.UTC)


async def test_last_seen_times_are_written_after_the_delay(runtime: Runtime) -> None:
    await _coach(runtime)
    login = await accounts.log_in(runtime, _attempt())
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    await WebSession.update({WebSession.last_seen_at: long_ago}, force=True)
    touches = sessions.SessionTouches(delay=0.01)
    idle = datetime.timedelta(minutes=30)
    assert await sessions.load_session(login.session_id, idle=idle, touches=touches) is not None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        [row] = await WebSession.select(WebSession.last_seen_at)
        if row["last_seen_at"] > long_ago:
            break
        await asyncio.sleep(0.01)
    assert row["last_seen_at"] > long_ago and touches.pending == 0
