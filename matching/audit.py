"""The audit log: append-only and hash-chained; who did what to which subject, and why.

Every entry is chained to the one before it: ``entry_hash`` is SHA-256 over
the previous entry's hash and the canonical JSON form of this entry (seq, time
in UTC with microseconds, actor, action, subject id, purpose, details). The
first entry's ``prev_hash`` is 64 zeros. :func:`verify_chain` recomputes the
chain, so a row edited behind the application's back is found.

Appends are serialised so the chain never forks: the head is read and the new
row written in one write transaction, which is ``BEGIN IMMEDIATE`` on SQLite
(one writer at a time) and holds a transaction-scoped advisory lock on
PostgreSQL. :func:`record` joins the caller's transaction when there is one, so
the entry commits (or rolls back) with the change it describes. On PostgreSQL
the lock is then held until the caller commits: record late in a transaction.
``seq`` is also the primary key, so even a bug here could not create two
entries with the same number.

Append-only holds in the database as well: triggers refuse UPDATE and DELETE
on ``audit_entry`` (and TRUNCATE on PostgreSQL), see the migration
``matching_2026_11_22t07_30_audit``. Someone who can drop those triggers can
also rewrite rows; :func:`verify_chain` then finds the first rewritten entry.
Deleting the newest entries leaves a shorter valid chain, which the table alone
cannot reveal: pass an :class:`Anchor` (a head recorded earlier, kept outside
the database; ``coachmatch audit verify`` keeps one in the data folder) to
detect that too.

No personal data: actors, actions, purposes and detail values are ids and
short codes, checked by :mod:`matching.codes` (free text such as a name with a
space or an e-mail address is refused). Callers pass ids and codes only.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from matching import bulk, db
from matching.codes import (
    GENESIS_HASH,
    canonical_json,
    check_actor,
    check_code,
    check_token,
)
from matching.errors import IntegrityFailure, InvalidInput
from matching.tables import AuditEntry

# Key of the PostgreSQL advisory lock that serialises appends ("cm-audit" in ASCII).
ADVISORY_LOCK_KEY = 0x636D2D6175646974
VERIFY_BATCH_SIZE = 1000
ANCHOR_FILE_NAME = "audit-anchor.json"

DetailValue = str | int | bool | UUID | None
Details = Mapping[str, DetailValue | Sequence[DetailValue]]


class Action(enum.StrEnum):
    """Every action the log knows. Add new ones here; free-form actions are refused."""

    LOGIN_SUCCEEDED = "auth.login_succeeded"
    LOGIN_FAILED = "auth.login_failed"
    LOGIN_THROTTLED = "auth.login_throttled"
    LOGOUT = "auth.logout"
    SESSION_EXPIRED = "auth.session_expired"
    TOTP_ENABLED = "auth.totp_enabled"
    PASSWORD_CHANGED = "auth.password_changed"  # noqa: S105 (an action name)
    ACCOUNT_CREATED = "account.created"
    ACCOUNT_DISABLED = "account.disabled"
    DATA_DECRYPTED = "data.decrypted"
    DATA_EXPORTED = "data.exported"
    DATA_CHANGED = "data.changed"
    DATA_DISCLOSED = "data.disclosed"
    SUBJECT_ERASED = "subject.erased"
    KEYS_ROTATED = "keys.rotated"
    BACKUP_CREATED = "backup.created"
    BACKUP_RESTORED = "backup.restored"
    RESTORE_DRILL = "backup.restore_drill"
    BACKUP_ALERT = "backup.alert"
    RETENTION_RUN = "retention.run"
    LEGAL_HOLD_ADDED = "retention.legal_hold_added"
    REQUEST_SUBMITTED = "request.submitted"
    REQUEST_HELD = "request.held"
    REQUEST_MATCHED = "request.matched"
    REQUEST_DECLINED = "request.declined"
    REQUEST_WITHDRAWN = "request.withdrawn"
    REQUEST_EXPIRED = "request.expired"
    REQUEST_RESENT = "request.resent"
    AGREEMENT_ACCEPTED = "coach.agreement_accepted"
    PROFILE_CHANGED = "coach.profile_changed"


@dataclasses.dataclass(frozen=True)
class Anchor:
    """A head of the chain seen earlier: the entry ``seq`` must still have ``entry_hash``."""

    seq: int
    entry_hash: str


@dataclasses.dataclass(frozen=True)
class ChainReport:
    """Outcome of :func:`verify_chain`. ``problem`` is a short English phrase, no data."""

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str | None = None
    head_seq: int = 0
    head_hash: str = GENESIS_HASH

    @property
    def head(self) -> Anchor:
        return Anchor(self.head_seq, self.head_hash)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# -- appending -------------------------------------------------------------------------


async def record(
    actor: str,
    action: str,
    *,
    subject_id: UUID | None = None,
    purpose: str = "",
    details: Details | None = None,
) -> int:
    """Append one entry and return its ``seq``; joins the caller's transaction if any.

    ``actor`` is ``system``, ``cli`` or ``kind:id``; ``action`` an :class:`Action`;
    ``purpose`` a short code (why); ``details`` ids, codes, numbers and booleans.
    Raises :class:`~matching.errors.InvalidInput` for anything else.
    """
    [seq] = await record_many([Entry(actor, action, subject_id, purpose, details)])
    return seq


@dataclasses.dataclass(frozen=True)
class Entry:
    """One entry for :func:`record_many` (the arguments of :func:`record`)."""

    actor: str
    action: str
    subject_id: UUID | None = None
    purpose: str = ""
    details: Details | None = None


async def record_many(entries: Sequence[Entry]) -> list[int]:
    """Append entries in order, chained, in one insert; their ``seq`` numbers.

    For a retention run or a replay that erases thousands at once; validated as
    :func:`record` validates one.
    """
    checked = [_validated(e.actor, e.action, e.subject_id, e.purpose, e.details) for e in entries]
    if not checked:
        return []
    async with db.write_transaction():
        await _lock_appends()
        head = await _head()
        prev, seq, at = head.entry_hash, head.seq, _now()
        rows = []
        for fields in checked:
            seq += 1
            entry_hash = compute_hash(prev, seq=seq, at=at, **fields)
            rows.append(
                {"seq": seq, "at": at, "prev_hash": prev, "entry_hash": entry_hash, **fields}
            )
            prev = entry_hash
        await bulk.insert(AuditEntry, rows)
    return [row["seq"] for row in rows]


def _validated(
    actor: str, action: str, subject_id: UUID | None, purpose: str, details: Details | None
) -> dict[str, Any]:
    try:
        action = Action(action).value
    except ValueError:
        raise InvalidInput("unknown audit action") from None
    if subject_id is not None and not isinstance(subject_id, UUID):
        raise InvalidInput("subject_id must be a UUID")
    return {
        "actor": check_actor(actor),
        "action": action,
        "subject_id": subject_id,
        "purpose": check_code(purpose, "purpose") if purpose else "",
        "details": _clean_details(details or {}),
    }


def _clean_details(details: Details) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in details.items():
        check_code(key, "a details key")
        if isinstance(value, list | tuple):
            clean[key] = [_clean_value(item) for item in value]
        else:
            clean[key] = _clean_value(value)
    if len(canonical_json(clean)) > 2000:
        raise InvalidInput("audit details are too long")
    return clean


def _clean_value(value: object) -> str | int | bool | None:
    # Floats are refused: their JSON text is not guaranteed to round-trip through
    # every engine byte for byte, and the hash is computed over that text.
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, UUID):
        return str(value)
    return check_token(value, "an audit detail")


@dataclasses.dataclass(frozen=True)
class Recorded:
    """When an entry was recorded, and its details."""

    at: datetime.datetime
    details: dict[str, Any]


async def latest(action: Action, *, limit: int = 1) -> list[Recorded]:
    """The newest entries of one action, newest first."""
    rows = (
        await AuditEntry.select(AuditEntry.at, AuditEntry.details)
        .where(AuditEntry.action == action.value)
        .order_by(AuditEntry.seq, ascending=False)
        .limit(limit)
        .output(load_json=True)
    )
    return [
        Recorded(row["at"], row["details"] if isinstance(row["details"], dict) else {})
        for row in rows
    ]


async def _lock_appends() -> None:
    if not db.is_sqlite():  # SQLite: BEGIN IMMEDIATE already excludes other writers
        await AuditEntry.raw("SELECT pg_advisory_xact_lock({})", ADVISORY_LOCK_KEY)


async def head() -> Anchor:
    """The newest entry's ``seq`` and hash (``0`` and the genesis hash when empty)."""
    return await _head()


async def _head() -> Anchor:
    rows = await (
        AuditEntry.select(AuditEntry.seq, AuditEntry.entry_hash)
        .order_by(AuditEntry.seq, ascending=False)
        .limit(1)
    )
    if not rows:
        return Anchor(0, GENESIS_HASH)
    return Anchor(int(rows[0]["seq"]), str(rows[0]["entry_hash"]))


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def compute_hash(
    prev_hash: str,
    *,
    seq: int,
    at: datetime.datetime,
    actor: str,
    action: str,
    subject_id: UUID | None,
    purpose: str,
    details: Mapping[str, Any],
) -> str:
    """SHA-256 over the previous hash and the canonical JSON form of one entry."""
    body = canonical_json(
        {
            "seq": seq,
            "at": at.astimezone(datetime.UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "subject_id": None if subject_id is None else str(subject_id),
            "purpose": purpose,
            "details": details,
        }
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


# -- verifying -------------------------------------------------------------------------


async def verify_chain(
    *, anchor: Anchor | None = None, batch_size: int = VERIFY_BATCH_SIZE
) -> ChainReport:
    """Walk the whole chain in ``seq`` order, in batches, and report the first bad entry.

    Finds an edited entry (its hash no longer matches), a removed or inserted one
    (a gap in ``seq`` or a broken link), and, given an ``anchor``, entries removed
    from the end or an entry that differs from the one seen when the anchor was made.
    """
    walk = _Walk(anchor)
    last_seq = 0
    while True:
        rows = await (
            AuditEntry.select()
            .where(AuditEntry.seq > last_seq)
            .order_by(AuditEntry.seq)
            .limit(batch_size)
            .output(load_json=True)
        )
        for row in rows:
            report = walk.step(row)
            if report is not None:
                return report
        if len(rows) < batch_size:
            return walk.finish()
        last_seq = int(rows[-1]["seq"])


class _Walk:
    """The state of one pass over the chain."""

    def __init__(self, anchor: Anchor | None) -> None:
        self.anchor = anchor
        self.head = Anchor(0, GENESIS_HASH)

    def fail(self, seq: int, problem: str) -> ChainReport:
        return ChainReport(
            ok=False,
            entries=self.head.seq,
            first_bad_seq=seq,
            problem=problem,
            head_seq=self.head.seq,
            head_hash=self.head.entry_hash,
        )

    def step(self, row: dict[str, Any]) -> ChainReport | None:
        seq = int(row["seq"])
        expected = self.head.seq + 1
        if seq != expected:
            return self.fail(expected, "entry is missing")
        if row["prev_hash"] != self.head.entry_hash:
            return self.fail(seq, "link to the previous entry is broken")
        details = row["details"]
        if isinstance(details, str):  # piccolo leaves nested JSON as text on some engines
            details = json.loads(details)
        actual = compute_hash(
            self.head.entry_hash,
            seq=seq,
            at=row["at"],
            actor=row["actor"],
            action=row["action"],
            subject_id=row["subject_id"],
            purpose=row["purpose"],
            details=details,
        )
        if actual != row["entry_hash"]:
            return self.fail(seq, "entry was altered")
        if (
            self.anchor is not None
            and seq == self.anchor.seq
            and (row["entry_hash"] != self.anchor.entry_hash)
        ):
            return self.fail(seq, "entry differs from the anchored head")
        self.head = Anchor(seq, row["entry_hash"])
        return None

    def finish(self) -> ChainReport:
        if self.anchor is not None and self.head.seq < self.anchor.seq:
            return self.fail(self.head.seq + 1, "entries up to the anchored head are missing")
        return ChainReport(
            ok=True,
            entries=self.head.seq,
            head_seq=self.head.seq,
            head_hash=self.head.entry_hash,
        )


# -- the anchor file -------------------------------------------------------------------


async def verify_with_anchor(path: Path, *, reset: bool = False) -> ChainReport:
    """Verify against the anchor in ``path``; on success move the anchor to the new head.

    ``reset`` ignores the old anchor (after a deliberate restore of an older
    database, which rewinds the log) and anchors the head of a chain that verifies.
    """
    anchor = None if reset else load_anchor(path)
    report = await verify_chain(anchor=anchor)
    if report.ok:
        save_anchor(path, report.head)
    return report


def anchor_path(data_dir: Path) -> Path:
    return data_dir / ANCHOR_FILE_NAME


def load_anchor(path: Path) -> Anchor | None:
    """The anchor saved by an earlier successful check, or ``None`` if there is none."""
    try:
        raw = json.loads(path.read_text(encoding="ascii"))
        anchor = Anchor(int(raw["seq"]), str(raw["entry_hash"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        raise IntegrityFailure(f"the audit anchor file {path} is unreadable") from None
    if anchor.seq < 0 or len(anchor.entry_hash) != 64:
        raise IntegrityFailure(f"the audit anchor file {path} is unreadable")
    return anchor


def save_anchor(path: Path, anchor: Anchor) -> None:
    """Replace the anchor atomically (write, fsync, rename, fsync the folder)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    data = canonical_json({"seq": anchor.seq, "entry_hash": anchor.entry_hash}) + "\n"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data.encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
