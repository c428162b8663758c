"""Server-side login sessions: only a hash of the session id is stored.

The id is 256 random bits that only the browser holds (in a cookie). The
database keeps its SHA-256, so someone reading the table or a backup cannot
ride a session. A session ends when it is idle too long, when it reaches its
absolute lifetime (``expires_at``, fixed at login), at logout, or when its
account is erased. Sessions exist only for logged-in coaches and admins:
nothing is stored for anonymous visitors.

``last_seen_at`` is written at most once a minute per session, so a busy page
does not write on every request; the idle limit is therefore measured with up
to a minute's head start (a session may end up to a minute early, never late).
The site hands those writes to :class:`SessionTouches`, which writes every
session seen within a second in one statement: a minute after many coaches logged
in, their next requests would otherwise each wait for a commit of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import hashlib
import logging
import re
import secrets
from typing import Any
from uuid import UUID

from matching import audit, db
from matching.tables import WebSession

log = logging.getLogger(__name__)

SESSION_ID_BYTES = 32
CSRF_TOKEN_BYTES = 32
TOUCH_AFTER = datetime.timedelta(minutes=1)
_LOAD = (
    "SELECT id_hash, principal_kind, principal_id, csrf_token, created_at, last_seen_at,"
    " expires_at FROM web_session WHERE id_hash = {}"
)
_SESSION_ID_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")  # token_urlsafe(32)


@dataclasses.dataclass(frozen=True)
class SessionInfo:
    """A live session. ``csrf_token`` guards the forms and API calls made with it."""

    id_hash: str
    principal_kind: str
    principal_id: UUID
    csrf_token: str = dataclasses.field(repr=False)
    created_at: datetime.datetime
    last_seen_at: datetime.datetime
    expires_at: datetime.datetime

    @property
    def actor(self) -> str:
        return f"{self.principal_kind}:{self.principal_id}"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii", "replace")).hexdigest()


def well_formed(session_id: str) -> bool:
    return bool(_SESSION_ID_SHAPE.fullmatch(session_id))


async def open_session(
    principal_kind: str,
    principal_id: UUID,
    *,
    lifetime: datetime.timedelta,
    replaces: str | None = None,
) -> tuple[str, SessionInfo]:
    """Start a session with a fresh id (never the one the browser had: no fixation).

    ``replaces`` is the id the browser sent before logging in; that session ends.
    Returns the new id (for the cookie only) and the session.
    """
    session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
    now = _now()
    info = SessionInfo(
        id_hash=hash_session_id(session_id),
        principal_kind=principal_kind,
        principal_id=principal_id,
        csrf_token=secrets.token_urlsafe(CSRF_TOKEN_BYTES),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
    )
    async with db.write_transaction():
        if replaces:
            await WebSession.delete().where(WebSession.id_hash == hash_session_id(replaces))
        await WebSession.insert(WebSession(**dataclasses.asdict(info)))
    return session_id, info


class SessionTouches:
    """Last-seen times waiting to be written: all sessions seen within
    ``delay`` seconds go in one statement (one commit) at the end of it."""

    CHUNK = 500  # ids per statement, well under every database's limit on parameters

    def __init__(self, delay: float = 1.0) -> None:
        self._delay = delay
        self._due: dict[str, datetime.datetime] = {}
        self._writing: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        return len(self._due)

    def note(self, id_hash: str, seen_at: datetime.datetime) -> None:
        """Remember a session seen now; the write follows within ``delay`` seconds."""
        self._due.setdefault(id_hash, seen_at)
        if self._writing is None:
            self._writing = asyncio.get_running_loop().create_task(self._write_later())

    async def _write_later(self) -> None:
        await asyncio.sleep(self._delay)
        self._writing = None
        await self.write()

    async def write(self) -> None:
        """Write what is waiting now. The earliest time of the batch is written for
        all of it: a session may end a second early, never late."""
        due, self._due = self._due, {}
        if not due:
            return
        hashes, seen_at = list(due), min(due.values())
        try:
            async with db.write_transaction():
                for start in range(0, len(hashes), self.CHUNK):
                    await WebSession.update({WebSession.last_seen_at: seen_at}).where(
                        WebSession.id_hash.is_in(hashes[start : start + self.CHUNK])
                    )
        except Exception as exc:  # busy or I/O: the sessions are touched again a minute on
            log.warning("could not record %d sessions as seen (%s)", len(due), type(exc).__name__)

    async def close(self) -> None:
        """Write what is waiting (at shut-down)."""
        writing, self._writing = self._writing, None
        if writing is not None:
            writing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writing
        await self.write()


async def load_session(
    session_id: str, *, idle: datetime.timedelta, touches: SessionTouches | None = None
) -> SessionInfo | None:
    """The live session with this id, or ``None``; an expired one is deleted on sight.

    With ``touches`` the new last-seen time is written a moment later together with
    other sessions' (the site); without, at once.
    """
    if not well_formed(session_id):
        return None
    id_hash = hash_session_id(session_id)
    # Raw SQL: this runs before every logged-in request, and building the ORM query
    # costs several times what SQLite needs to answer it.
    rows = await db.fetch(WebSession, _LOAD, id_hash)
    if not rows:
        return None
    info = _info(rows[0])
    now = _now()
    if now >= info.expires_at or now - info.last_seen_at >= idle:
        await _expire(info)
        return None
    if now - info.last_seen_at >= TOUCH_AFTER:
        if touches is None:
            await WebSession.update({WebSession.last_seen_at: now}).where(
                WebSession.id_hash == id_hash
            )
        else:
            touches.note(id_hash, now)
        info = dataclasses.replace(info, last_seen_at=now)
    return info


async def _expire(info: SessionInfo) -> None:
    async with db.write_transaction():
        deleted = (
            await WebSession.delete()
            .where(WebSession.id_hash == info.id_hash)
            .returning(WebSession.id_hash)
        )
        if deleted:  # another request may have expired it a moment ago
            await audit.record(info.actor, audit.Action.SESSION_EXPIRED, purpose="security")


async def close_session(session_id: str) -> SessionInfo | None:
    """End a session (logout); returns what it was, or ``None`` if it had ended already."""
    if not well_formed(session_id):
        return None
    async with db.write_transaction():
        rows = (
            await WebSession.delete()
            .where(WebSession.id_hash == hash_session_id(session_id))
            .returning(*WebSession.all_columns())
        )
        if not rows:
            return None
        info = _info(rows[0])
        await audit.record(info.actor, audit.Action.LOGOUT, purpose="security")
    return info


async def close_sessions_of(principal_kind: str, principal_id: UUID) -> int:
    """End every session of one account (e.g. when it is disabled)."""
    rows = (
        await WebSession.delete()
        .where(
            (WebSession.principal_kind == principal_kind)
            & (WebSession.principal_id == principal_id)
        )
        .returning(WebSession.id_hash)
    )
    return len(rows)


async def purge_expired(*, idle: datetime.timedelta) -> int:
    """Delete sessions past their lifetime or idle limit (housekeeping; no audit entry)."""
    now = _now()
    rows = (
        await WebSession.delete()
        .where((WebSession.expires_at <= now) | (WebSession.last_seen_at <= now - idle))
        .returning(WebSession.id_hash)
    )
    return len(rows)


def _info(row: dict[str, Any]) -> SessionInfo:
    return SessionInfo(
        id_hash=row["id_hash"],
        principal_kind=row["principal_kind"],
        principal_id=row["principal_id"],
        csrf_token=row["csrf_token"],
        created_at=row["created_at"],
        last_seen_at=row["last_seen_at"],
        expires_at=row["expires_at"],
    )
