"""Tables of the ``matching`` piccolo app.

Personal values are stored only as AES-256-GCM ciphertexts (``Bytea``), encrypted
with the data key of the subject they belong to; see :mod:`matching.vault`.
Migrations are additive (piccolo cannot ALTER a column on SQLite): add tables and
nullable columns, never change one.
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    UUID,
    BigInt,
    Boolean,
    Bytea,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.defaults.uuid import UUID4
from piccolo.table import Table


class Subject(Table, tablename="data_subject"):
    """A natural person we hold data about: candidate, coach or admin.

    ``id`` is random and carries no meaning. Personal fields are ciphertexts
    under this subject's data key (see :class:`SubjectKey`).
    """

    id = UUID(primary_key=True, default=UUID4())
    kind = Varchar(length=16, index=True)  # candidate | coach | admin
    created_at = Timestamptz(default=TimestamptzNow())
    last_active_at = Timestamptz(default=TimestamptzNow(), index=True)
    email_index = Varchar(length=64, null=True, default=None, index=True)  # blind index
    name = Bytea(null=True, default=None)
    email = Bytea(null=True, default=None)
    phone = Bytea(null=True, default=None)


class SubjectKey(Table, tablename="subject_key"):
    """A subject's data key, stored only wrapped by the master key.

    Deleting this row is crypto-shredding: the subject's ciphertexts, wherever
    they are (including backups), can no longer be decrypted.
    """

    subject_id = UUID(primary_key=True, default=UUID4())
    key_version = Integer(default=1)  # version of the data key, bound into every field's AAD
    kek_id = Varchar(length=16, index=True)  # fingerprint of the wrapping master key
    wrapped = Bytea()
    created_at = Timestamptz(default=TimestamptzNow())


class VaultSecret(Table, tablename="vault_secret"):
    """Long-lived secrets other than data keys (the blind-index root), wrapped like them."""

    name = Varchar(length=64, primary_key=True)
    kek_id = Varchar(length=16, index=True)
    wrapped = Bytea()
    created_at = Timestamptz(default=TimestamptzNow())


class Coach(Table, tablename="coach"):
    id = UUID(primary_key=True, default=UUID4())
    subject_id = UUID(unique=True)
    email_index = Varchar(length=64, unique=True)
    password_hash = Text()
    totp_secret = Bytea(null=True, default=None)  # encrypted under the subject's data key
    totp_enabled = Boolean(default=False)
    totp_last_step = BigInt(default=0)  # highest accepted TOTP time step: no replay
    topics = JSON(default=[])
    regions = JSON(default=[])
    languages = JSON(default=["nl"])
    capacity = Integer(default=5)
    paused = Boolean(default=False)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Admin(Table, tablename="admin_account"):
    id = UUID(primary_key=True, default=UUID4())
    subject_id = UUID(unique=True)
    email_index = Varchar(length=64, unique=True)
    password_hash = Text()
    totp_secret = Bytea()  # mandatory for admins; encrypted under the subject's data key
    totp_last_step = BigInt(default=0)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class WebSession(Table, tablename="web_session"):
    """Server-side session. Only a hash of the session id is stored."""

    id_hash = Varchar(length=64, primary_key=True)
    principal_kind = Varchar(length=16)  # coach | admin
    principal_id = UUID()
    csrf_token = Varchar(length=64)
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(index=True)


class LoginThrottle(Table, tablename="login_throttle"):
    """Failed-login counters per key (a hash, never an address or an e-mail)."""

    key_hash = Varchar(length=64, primary_key=True)
    window_start = Timestamptz(default=TimestamptzNow())
    failures = Integer(default=0)


class AuditEntry(Table, tablename="audit_entry"):
    """Append-only, hash-chained record of who did what to which subject, and why.

    Holds ids and codes only, never personal values. ``seq`` is gap-free and
    ``entry_hash`` = SHA-256 over the previous hash and this entry's canonical form.
    """

    seq = BigInt(primary_key=True)
    at = Timestamptz(default=TimestamptzNow())
    actor = Varchar(length=80)  # e.g. "admin:<uuid>", "coach:<uuid>", "system", "cli"
    action = Varchar(length=64, index=True)
    subject_id = UUID(null=True, default=None, index=True)
    purpose = Varchar(length=200, default="")
    details = JSON(default={})
    prev_hash = Varchar(length=64)
    entry_hash = Varchar(length=64)


class OutboxJob(Table, tablename="outbox_job"):
    """A job recorded in the same transaction as the change that caused it.

    ``args`` holds ids only. A job is done when ``done_at`` is set, in the same
    transaction as its effect; the relay sends it after commit and the sweeper
    re-sends what was not done within the lease.
    """

    id = UUID(primary_key=True, default=UUID4())
    actor = Varchar(length=80)
    args = JSON(default={})
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    sent_at = Timestamptz(null=True, default=None)
    attempts = Integer(default=0)
    done_at = Timestamptz(null=True, default=None, index=True)
    last_error = Varchar(length=200, null=True, default=None)


class ProbeResult(Table, tablename="probe_result"):
    """Effect of the diagnostic probe job: one row per job, proving exactly-once."""

    job_id = UUID(primary_key=True)
    finished_at = Timestamptz(default=TimestamptzNow())
    runs = Integer(default=1)


class WorkerHeartbeat(Table, tablename="worker_heartbeat"):
    """Each worker process writes here periodically; ``/health`` reads it."""

    worker_id = Varchar(length=64, primary_key=True)
    seen_at = Timestamptz(default=TimestamptzNow())
    mode = Varchar(length=16)  # embedded | redis | amqp


TABLES: tuple[type[Table], ...] = (
    Subject,
    SubjectKey,
    VaultSecret,
    Coach,
    Admin,
    WebSession,
    LoginThrottle,
    AuditEntry,
    OutboxJob,
    ProbeResult,
    WorkerHeartbeat,
)
