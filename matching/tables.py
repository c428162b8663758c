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
    Date,
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
    # When the notice "we will erase your data" went out; activity after it voids it.
    retention_notice_at = Timestamptz(null=True, default=None)


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


class ContactRequest(Table, tablename="contact_request"):
    """A candidate's request for a coach. One candidate subject per request.

    ``motivation`` and ``summary`` (the anonymised text coaches see) are ciphertexts
    under the candidate's data key: erasing the candidate shreds both. The
    generalised attributes (province, age band, field of work) are stored plainly
    because matching filters on them; they identify nobody. The private link's
    token is kept only as a SHA-256 hash; ``link_sealed`` holds the link encrypted
    until the e-mail that carries it has gone out, then it is cleared.
    """

    id = UUID(primary_key=True, default=UUID4())
    candidate_id = UUID(index=True)
    status = Varchar(length=16, index=True)  # pending | held | open | matched | expired | withdrawn
    language = Varchar(length=8, default="nl")
    topics = JSON(default=[])
    province = Varchar(length=32, null=True, default=None)
    age_band = Varchar(length=16, null=True, default=None)
    field_of_work = Varchar(length=32, null=True, default=None)
    employment = Varchar(length=32, null=True, default=None)
    motivation = Bytea()
    draft = Bytea(null=True, default=None)  # the candidate's edited preview, until broadcast
    summary = Bytea(null=True, default=None)
    token_hash = Varchar(length=64, unique=True)
    link_sealed = Bytea(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(null=True, default=None, index=True)
    broadcast_at = Timestamptz(null=True, default=None)
    matched_at = Timestamptz(null=True, default=None)
    matched_coach_id = UUID(null=True, default=None, index=True)
    closed_at = Timestamptz(null=True, default=None)
    ended_at = Timestamptz(null=True, default=None)  # expired or withdrawn


class WaitingIntake(Table, tablename="intake_inbox"):
    """A submitted request waiting to be filed into the tables above (seconds, as a rule).

    One row, appended, is all a submission writes besides the candidate's data key:
    ``sealed`` holds everything the candidate sent, encrypted under that key (bound
    to this row), so erasing the candidate shreds it like any other ciphertext of
    theirs. The CV, if any, is already encrypted as its ``candidate_file`` row will
    hold it. ``token_hash`` finds the row for a candidate who follows the private link
    before it is filed. See :mod:`matching.filing`.
    """

    id = UUID(primary_key=True, default=UUID4())
    subject_id = UUID()
    request_id = UUID()
    token_hash = Varchar(length=64, index=True)
    sealed = Bytea()
    cv_content = Bytea(null=True, default=None)
    received_at = Timestamptz(default=TimestamptzNow())
    # Failed filings of this row alone; after a few it is left for an operator.
    attempts = Integer(default=0)


class Offer(Table, tablename="offer"):
    """A request offered to one coach; (request_id, coach_id) is unique."""

    id = UUID(primary_key=True, default=UUID4())
    request_id = UUID(index=True)
    coach_id = UUID(index=True)
    status = Varchar(length=16)  # offered | declined | accepted | missed | closed
    offered_at = Timestamptz(default=TimestamptzNow())
    answered_at = Timestamptz(null=True, default=None)
    decline_reason = Varchar(length=32, null=True, default=None)  # a code, never free text


class Consent(Table, tablename="consent"):
    """One consent of a subject for one purpose, with the privacy statement's version."""

    id = UUID(primary_key=True, default=UUID4())
    subject_id = UUID(index=True)
    purpose = Varchar(length=32)
    statement_version = Varchar(length=32)
    given_at = Timestamptz(default=TimestamptzNow())
    withdrawn_at = Timestamptz(null=True, default=None)


class CandidateDetail(Table, tablename="candidate_detail"):
    """An optional field the candidate gave with consent, encrypted under their data key."""

    id = UUID(primary_key=True, default=UUID4())
    subject_id = UUID(index=True)
    request_id = UUID(index=True)
    field = Varchar(length=32)
    value = Bytea()
    special = Boolean(default=False)  # employment, employer, income: kept only on request


class CandidateFile(Table, tablename="candidate_file"):
    """A CV: content and file name encrypted under the candidate's data key."""

    id = UUID(primary_key=True, default=UUID4())
    subject_id = UUID(index=True)
    request_id = UUID(index=True)
    media_type = Varchar(length=100)
    size = Integer()
    filename = Bytea()
    content = Bytea()
    created_at = Timestamptz(default=TimestamptzNow())


class CoachAgreement(Table, tablename="coach_agreement"):
    """A coach's acceptance of a version of the data-processing agreement."""

    id = UUID(primary_key=True, default=UUID4())
    coach_id = UUID(index=True)
    version = Varchar(length=32)
    accepted_at = Timestamptz(default=TimestamptzNow())


class LegalHold(Table, tablename="legal_hold"):
    """A legal obligation to keep a subject's data past retention (e.g. tax records).

    The only exception to erasure after two years of inactivity; always with a
    reason code and an end date, and reported by every retention run.
    """

    id = UUID(primary_key=True, default=UUID4())
    subject_id = UUID(index=True)
    reason = Varchar(length=64)  # a code, e.g. tax_records
    until = Date()
    created_at = Timestamptz(default=TimestamptzNow())
    actor = Varchar(length=80)


class ScheduledRun(Table, tablename="scheduled_run"):
    """One row per periodic task and slot (a day, a minute): the job of a slot is
    queued once, however many schedulers tick (the primary key refuses a second)."""

    slot = Varchar(length=120, primary_key=True)  # e.g. retention:2026-11-30
    task = Varchar(length=64)
    job_id = UUID()
    created_at = Timestamptz(default=TimestamptzNow())


class SchedulerLease(Table, tablename="scheduler_lease"):
    """Which process is the scheduler, until when (renewed while it runs)."""

    name = Varchar(length=32, primary_key=True)
    holder = Varchar(length=80)
    expires_at = Timestamptz()


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
    ContactRequest,
    WaitingIntake,
    Offer,
    Consent,
    CandidateDetail,
    CandidateFile,
    CoachAgreement,
    LegalHold,
    ScheduledRun,
    SchedulerLease,
)
