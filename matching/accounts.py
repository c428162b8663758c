"""Coach and admin accounts: creating them, logging in, and reading who is logged in.

Every account is a data subject (:mod:`matching.subjects`): name and e-mail are
encrypted under the account's own data key and found through the e-mail blind
index. The password is an argon2id hash; the TOTP secret is encrypted under the
same data key (bound to ``<table>.totp_secret`` of the account's row).

Logging in (:func:`authenticate`) answers every failure with the same
:class:`~matching.errors.AuthenticationFailed`, after the same amount of work,
whether the account is unknown, the password wrong or the code wrong. A TOTP
code is accepted only if its time step is later than the last accepted one; the
check and the update are one conditional ``UPDATE``, so two logins racing with
one code cannot both pass. Failures are counted per account and per network
(:mod:`matching.login_throttle`); past the limit, :class:`TooManyAttempts`.
Every success, failure, refusal and new account is written to the audit log.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import re
from collections.abc import Sequence
from typing import Any, NoReturn
from uuid import UUID

from piccolo.table import Table

from matching import (
    app_secrets,
    audit,
    catalogue,
    credentials,
    db,
    login_throttle,
    sessions,
    subjects,
)
from matching.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, TooManyAttempts
from matching.ids import new_opaque_id
from matching.runtime import Runtime
from matching.sessions import SessionInfo
from matching.tables import Admin, Coach
from matching.vault import Vault

KINDS = ("admin", "coach")
NETWORK_LIMIT_FACTOR = 5  # a network (office, campus NAT) gets more room than one account
MAX_EMAIL_CHARS = 254
DEFAULT_ADMIN_NAME = "Administrator"
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}")
_TABLES: dict[str, type[Table]] = {"admin": Admin, "coach": Coach}
THROTTLE_KEY_PURPOSE = "login-throttle"


@dataclasses.dataclass(frozen=True)
class Principal:
    """Who is logged in: an account kind and id, and the data subject behind it."""

    kind: str
    id: UUID
    subject_id: UUID

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclasses.dataclass(frozen=True)
class LoginAttempt:
    """What a login form or ``POST /api/auth/login`` sends. Values stay out of ``repr``."""

    email: str = dataclasses.field(repr=False)
    password: str = dataclasses.field(repr=False)
    totp: str = dataclasses.field(default="", repr=False)
    client_address: str = dataclasses.field(default="", repr=False)


@dataclasses.dataclass(frozen=True)
class CoachProfile:
    """The non-personal part of a coach's profile, as the portal shows it."""

    id: UUID
    topics: tuple[str, ...]
    regions: tuple[str, ...]
    languages: tuple[str, ...]
    capacity: int
    paused: bool
    totp_enabled: bool


@dataclasses.dataclass(frozen=True)
class _Account:
    kind: str
    id: UUID
    subject_id: UUID
    password_hash: str = dataclasses.field(repr=False)
    totp_required: bool
    totp_secret: bytes | None = dataclasses.field(repr=False)

    @property
    def principal(self) -> Principal:
        return Principal(self.kind, self.id, self.subject_id)


# -- creating accounts -----------------------------------------------------------------


def check_email(email: str) -> str:
    """The address, stripped, if it looks like one; ``InvalidInput`` otherwise."""
    email = email.strip()
    if len(email) > MAX_EMAIL_CHARS or not _EMAIL.fullmatch(email):
        raise InvalidInput("the e-mail address is not valid")
    return email


async def create_coach(
    runtime: Runtime,
    *,
    email: str,
    name: str,
    password: str,
    topics: Sequence[str] = (),
    regions: Sequence[str] = (),
    languages: Sequence[str] = ("nl",),
    require_totp: bool = False,
    actor: str = "cli",
) -> tuple[UUID, str]:
    """Create a coach; returns the coach id and the TOTP secret for an authenticator app.

    The secret is always made; TOTP is required at login once the coach enables
    it (or at once with ``require_totp``).
    """
    profile = {
        "topics": catalogue.topics(topics),
        "regions": catalogue.regions(regions),
        "languages": catalogue.languages(languages, required=False) or ["nl"],
    }
    return await _create(
        runtime,
        "coach",
        email=email,
        name=name,
        password=password,
        actor=actor,
        columns={**profile, "totp_enabled": require_totp},
    )


async def create_admin(
    runtime: Runtime,
    *,
    email: str,
    password: str,
    name: str = DEFAULT_ADMIN_NAME,
    actor: str = "cli",
) -> tuple[UUID, str]:
    """Create an admin; TOTP is mandatory, so the secret must go into an app right away."""
    return await _create(
        runtime, "admin", email=email, name=name, password=password, actor=actor, columns={}
    )


async def _create(
    runtime: Runtime,
    kind: str,
    *,
    email: str,
    name: str,
    password: str,
    actor: str,
    columns: dict[str, Any],
) -> tuple[UUID, str]:
    email = check_email(email)
    if not name.strip():
        raise InvalidInput("a name is required")
    credentials.check_password_policy(password)
    # Slow on purpose: in a thread (the event loop keeps serving), before the write lock.
    password_hash = await asyncio.to_thread(credentials.hash_password, password)
    secret = credentials.new_totp_secret()
    vault = runtime.vault
    email_index = vault.email_index(email)
    table: Any = _TABLES[kind]
    account_id = new_opaque_id()
    async with db.write_transaction():
        if await table.exists().where(table.email_index == email_index):
            article = "an" if kind == "admin" else "a"
            raise Conflict(f"{article} {kind} account with this e-mail address exists already")
        subject_id = await subjects.create_subject(vault, kind, name=name, email=email)
        encrypted = await vault.encrypt(
            subject_id, table._meta.tablename, "totp_secret", account_id, secret
        )
        row = table(
            id=account_id,
            subject_id=subject_id,
            email_index=email_index,
            password_hash=password_hash,
            totp_secret=encrypted,
            **columns,
        )
        await table.insert(row)
        await audit.record(
            actor,
            audit.Action.ACCOUNT_CREATED,
            subject_id=subject_id,
            purpose="account_management",
            details={"kind": kind, "account_id": account_id},
        )
    return account_id, secret


# -- logging in ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LoggedIn:
    """A successful login: who, the new session, and its id (for the cookie only)."""

    principal: Principal
    session: SessionInfo
    session_id: str = dataclasses.field(repr=False)


async def log_in(
    runtime: Runtime, attempt: LoginAttempt, *, replaces: str | None = None
) -> LoggedIn:
    """Authenticate, then start a session with a new id (ending ``replaces``, if any)."""
    principal = await authenticate(runtime, attempt)
    session_id, session = await sessions.open_session(
        principal.kind,
        principal.id,
        lifetime=datetime.timedelta(hours=runtime.settings.session_absolute_hours),
        replaces=replaces,
    )
    return LoggedIn(principal, session, session_id)


async def authenticate(runtime: Runtime, attempt: LoginAttempt) -> Principal:
    """The account these credentials belong to; see the module docstring for the rules."""
    vault = runtime.vault
    email_index = vault.email_index(attempt.email)
    limits = await _limits(runtime, email_index, attempt.client_address)
    if await login_throttle.exceeded(limits):
        await audit.record("anonymous", audit.Action.LOGIN_THROTTLED, purpose="security")
        raise TooManyAttempts("too many failed logins; try again in 15 minutes")
    keys = [limit.key_hash for limit in limits]
    accounts = await _accounts(email_index)
    if not accounts:
        await asyncio.to_thread(credentials.burn_time)
        await _failed(keys, None, "unknown_account")
    account = await _first_matching_password(accounts, attempt.password)
    if account is None:
        await _failed(keys, accounts[0], "password")
    elif account.totp_required and not await _accept_code(vault, account, attempt.totp):
        await _failed(keys, account, "totp")
    await _succeeded(account, attempt.password, limits[0].key_hash)
    return account.principal


async def _first_matching_password(accounts: Sequence[_Account], password: str) -> _Account | None:
    # argon2 takes tens of milliseconds of CPU: in a thread, so other requests go on.
    for account in accounts:
        if await asyncio.to_thread(credentials.verify_password, account.password_hash, password):
            return account
    return None


async def _limits(
    runtime: Runtime, email_index: str, client_address: str
) -> list[login_throttle.Limit]:
    per_account = runtime.settings.login_attempts_per_15_minutes
    key = app_secrets.derived_key(runtime.vault, THROTTLE_KEY_PURPOSE)
    return [
        login_throttle.Limit(login_throttle.account_key(email_index), per_account),
        login_throttle.Limit(
            login_throttle.network_key(key, client_address), per_account * NETWORK_LIMIT_FACTOR
        ),
    ]


async def _accounts(email_index: str) -> list[_Account]:
    """Admin first, then coach: one person may hold both, each with its own password."""
    found: list[_Account] = []
    admins = await Admin.select().where(
        (Admin.email_index == email_index) & (Admin.active == True)  # noqa: E712
    )
    found += [_account("admin", row, totp_required=True) for row in admins]
    coaches = await Coach.select().where(
        (Coach.email_index == email_index) & (Coach.active == True)  # noqa: E712
    )
    found += [_account("coach", row, totp_required=bool(row["totp_enabled"])) for row in coaches]
    return found


def _account(kind: str, row: dict[str, Any], *, totp_required: bool) -> _Account:
    secret = row["totp_secret"]
    return _Account(
        kind=kind,
        id=row["id"],
        subject_id=row["subject_id"],
        password_hash=row["password_hash"],
        totp_required=totp_required,
        totp_secret=None if secret is None else bytes(secret),
    )


async def _accept_code(vault: Vault, account: _Account, code: str) -> bool:
    """True if ``code`` is valid now and later than any code this account used before."""
    if account.totp_secret is None:
        return False
    table = _TABLES[account.kind]
    secret = await vault.decrypt_text(
        account.subject_id, table._meta.tablename, "totp_secret", account.id, account.totp_secret
    )
    step = credentials.matching_step(secret, code)
    if step is None:
        return False
    return await _claim_step(account.kind, account.id, step)


async def _claim_step(kind: str, account_id: UUID, step: int) -> bool:
    """Record ``step`` as used unless it (or a later one) was used before: one atomic UPDATE."""
    table: Any = _TABLES[kind]
    claimed = (
        await table.update({table.totp_last_step: step})
        .where((table.id == account_id) & (table.totp_last_step < step))
        .returning(table.id)
    )
    return bool(claimed)


async def _failed(keys: Sequence[str], account: _Account | None, reason: str) -> NoReturn:
    """Count and audit a failed login, then raise the one generic error."""
    await login_throttle.record_failure(keys)
    await audit.record(
        "anonymous",
        audit.Action.LOGIN_FAILED,
        purpose="security",
        subject_id=None if account is None else account.subject_id,
        details={"reason": reason},
    )
    raise AuthenticationFailed()


async def _succeeded(account: _Account, password: str, account_key: str) -> None:
    await login_throttle.reset(account_key)
    if credentials.needs_rehash(account.password_hash):
        table: Any = _TABLES[account.kind]
        new_hash = await asyncio.to_thread(credentials.hash_password, password)
        await table.update({table.password_hash: new_hash}).where(table.id == account.id)
    await subjects.touch(account.subject_id)
    await audit.record(
        account.principal.actor,
        audit.Action.LOGIN_SUCCEEDED,
        subject_id=account.subject_id,
        purpose="security",
    )


# -- who is logged in ------------------------------------------------------------------


async def principal(kind: str, account_id: UUID) -> Principal | None:
    """The active account of a session, or ``None`` (disabled or erased since)."""
    table: Any = _TABLES.get(kind)
    if table is None:
        return None
    # Raw SQL, as for the session: it runs before every logged-in request.
    rows = await db.fetch(
        table,
        f"SELECT subject_id FROM {table._meta.tablename} WHERE id = {{}} AND active = TRUE",  # noqa: S608
        account_id,
    )
    return Principal(kind, account_id, rows[0]["subject_id"]) if rows else None


async def coach_profile(coach_id: UUID) -> CoachProfile:
    rows = (
        await Coach.select(
            Coach.id,
            Coach.topics,
            Coach.regions,
            Coach.languages,
            Coach.capacity,
            Coach.paused,
            Coach.totp_enabled,
        )
        .where(Coach.id == coach_id)
        .output(load_json=True)
    )
    if not rows:
        raise NotFound("no such coach")
    row = rows[0]
    return CoachProfile(
        id=row["id"],
        topics=tuple(row["topics"] or ()),
        regions=tuple(row["regions"] or ()),
        languages=tuple(row["languages"] or ()),
        capacity=int(row["capacity"]),
        paused=bool(row["paused"]),
        totp_enabled=bool(row["totp_enabled"]),
    )


async def enable_coach_totp(runtime: Runtime, coach_id: UUID, code: str) -> None:
    """Turn on TOTP for a coach once they prove their app shows the right code."""
    rows = await Coach.select(Coach.subject_id, Coach.totp_secret, Coach.totp_enabled).where(
        Coach.id == coach_id
    )
    if not rows:
        raise NotFound("no such coach")
    row = rows[0]
    if row["totp_enabled"]:
        return
    account = _account("coach", {**row, "id": coach_id, "password_hash": ""}, totp_required=True)
    if not await _accept_code(runtime.vault, account, code):
        raise InvalidInput("the code is not correct; check the time on your phone and try again")
    async with db.write_transaction():
        await Coach.update({Coach.totp_enabled: True}).where(Coach.id == coach_id)
        await audit.record(
            account.principal.actor,
            audit.Action.TOTP_ENABLED,
            subject_id=account.subject_id,
            purpose="security",
        )


async def coach_totp_secret(runtime: Runtime, coach_id: UUID) -> str:
    """The coach's own TOTP secret, to set up an authenticator app (shown only to them)."""
    rows = await Coach.select(Coach.subject_id, Coach.totp_secret).where(Coach.id == coach_id)
    if not rows or rows[0]["totp_secret"] is None:
        raise NotFound("no such coach")
    return await runtime.vault.decrypt_text(
        rows[0]["subject_id"],
        Coach._meta.tablename,
        "totp_secret",
        coach_id,
        bytes(rows[0]["totp_secret"]),
    )
