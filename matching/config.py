"""Settings, read once from the environment at start-up.

Only :func:`Settings.from_environ` looks at environment variables; everything
else receives a :class:`Settings` instance.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from matching.errors import ConfigurationError

PREFIX = "COACHMATCH_"
# A dramatiq queue name (also the Redis key namespace); RabbitMQ adds ".DQ"/".XQ".
_QUEUE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")


@dataclasses.dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    broker_url: str = ""
    master_key_file: Path | None = None
    master_key_b64: str = dataclasses.field(default="", repr=False)
    smtp_url: str = ""
    mail_from: str = "Coachmatch <no-reply@coachmatch.localhost>"
    backup_dir: Path | None = None
    base_url: str = "http://localhost:8000"
    allowed_hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "[::1]")
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    job_lease_seconds: float = 300.0
    # Jobs: the broker queue (and Redis namespace), so several installations or test
    # runs can share one Redis or RabbitMQ; how often the outbox sweeper looks.
    job_queue: str = "coachmatch"
    sweep_interval_seconds: float = 5.0
    login_attempts_per_15_minutes: int = 10
    debug: bool = False
    # The anonymiser's lookup cache (built by `coachmatch anonymise --prepare`).
    cache_dir: Path | None = None
    # Contact requests: unanswered ones expire after this many days; CV size limit.
    request_expiry_days: int = 14
    cv_max_bytes: int = 5 * 1024 * 1024
    # Anonymiser processes beside the event loop (0: a thread of this process).
    anonymiser_processes: int = 1
    # Retention: the notice before erasure after two years of inactivity, in days.
    retention_notice_days: int = 30
    # Periodic tasks (expiry, retention, backups) in the worker hosts; off only for tests
    # and for installations that run `coachmatch retention run` / `backup create` by cron.
    scheduler: bool = True

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """Build settings from an environment mapping (normally ``os.environ``)."""

        def get(name: str, default: str = "") -> str:
            return environ.get(PREFIX + name, default).strip()

        data_dir = Path(get("DATA_DIR", "./var")).expanduser().resolve()
        database_url = get("DATABASE_URL") or f"sqlite:///{data_dir / 'coachmatch.sqlite3'}"
        key_file = get("MASTER_KEY_FILE")
        backup_dir = get("BACKUP_DIR")
        cache_dir = get("CACHE_DIR")
        hosts = get("ALLOWED_HOSTS")
        settings = cls(
            data_dir=data_dir,
            database_url=database_url,
            broker_url=get("BROKER_URL"),
            master_key_file=Path(key_file).expanduser().resolve() if key_file else None,
            master_key_b64=get("MASTER_KEY"),
            smtp_url=get("SMTP_URL"),
            mail_from=get("MAIL_FROM", cls.mail_from),
            backup_dir=Path(backup_dir).expanduser().resolve() if backup_dir else None,
            cache_dir=Path(cache_dir).expanduser().resolve() if cache_dir else None,
            base_url=get("BASE_URL", cls.base_url).rstrip("/"),
            allowed_hosts=tuple(h.strip() for h in hosts.split(",") if h.strip())
            if hosts
            else cls.allowed_hosts,
            session_idle_minutes=_int(
                get("SESSION_IDLE_MINUTES"), cls.session_idle_minutes, "SESSION_IDLE_MINUTES"
            ),
            session_absolute_hours=_int(
                get("SESSION_ABSOLUTE_HOURS"), cls.session_absolute_hours, "SESSION_ABSOLUTE_HOURS"
            ),
            job_lease_seconds=float(
                _int(get("JOB_LEASE_SECONDS"), int(cls.job_lease_seconds), "JOB_LEASE_SECONDS")
            ),
            job_queue=get("JOB_QUEUE", cls.job_queue),
            sweep_interval_seconds=float(
                _int(
                    get("SWEEP_INTERVAL_SECONDS"),
                    int(cls.sweep_interval_seconds),
                    "SWEEP_INTERVAL_SECONDS",
                )
            ),
            request_expiry_days=_int(
                get("REQUEST_EXPIRY_DAYS"), cls.request_expiry_days, "REQUEST_EXPIRY_DAYS"
            ),
            cv_max_bytes=_int(get("CV_MAX_BYTES"), cls.cv_max_bytes, "CV_MAX_BYTES"),
            anonymiser_processes=_int(
                get("ANONYMISER_PROCESSES"),
                cls.anonymiser_processes,
                "ANONYMISER_PROCESSES",
                minimum=0,
            ),
            retention_notice_days=_int(
                get("RETENTION_NOTICE_DAYS"),
                cls.retention_notice_days,
                "RETENTION_NOTICE_DAYS",
                minimum=0,
            ),
            scheduler=get("SCHEDULER", "on").lower() not in {"0", "off", "false", "no"},
            debug=get("DEBUG").lower() in {"1", "true", "yes"},
        )
        settings.validate()
        return settings

    @property
    def effective_backup_dir(self) -> Path:
        return self.backup_dir or self.data_dir / "backups"

    @property
    def effective_cache_dir(self) -> Path:
        return self.cache_dir or self.data_dir / "cache"

    @property
    def effective_master_key_file(self) -> Path:
        return self.master_key_file or self.data_dir / "master.key"

    @property
    def erasure_journal_path(self) -> Path:
        return self.data_dir / "erasure-journal.log"

    @property
    def mailbox_dir(self) -> Path:
        return self.data_dir / "mailbox"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    @property
    def embedded_workers(self) -> bool:
        return not self.broker_url

    @property
    def secure_cookies(self) -> bool:
        """``__Host-`` cookies need https; browsers also accept them on localhost."""
        return True

    def validate(self) -> None:
        _check_database_url(self.database_url)
        if self.broker_url:
            scheme = urlsplit(self.broker_url).scheme
            if scheme not in {"redis", "rediss", "amqp", "amqps"}:
                raise ConfigurationError(
                    f"COACHMATCH_BROKER_URL must start with redis:// or amqp://, not {scheme!r}"
                )
        if not _QUEUE_NAME.fullmatch(self.job_queue):
            raise ConfigurationError(
                "COACHMATCH_JOB_QUEUE must be letters, digits, '_' or '-' (at most 64)"
            )
        if self.smtp_url:
            parts = urlsplit(self.smtp_url)
            if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
                raise ConfigurationError("COACHMATCH_SMTP_URL must look like smtp://host:port")
        if self.master_key_b64:
            decode_master_key(self.master_key_b64, source="COACHMATCH_MASTER_KEY")


def decode_master_key(value: str, *, source: str) -> bytes:
    """Decode a base64 master key and insist on 32 bytes."""
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"{source} is not valid base64") from None
    if len(key) != 32:
        raise ConfigurationError(f"{source} must hold 32 bytes, not {len(key)}")
    return key


def _check_database_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        if not url.startswith("sqlite:///") or len(url) <= len("sqlite:///"):
            raise ConfigurationError(
                "COACHMATCH_DATABASE_URL for SQLite must look like sqlite:///path/to/file"
            )
        return
    if parts.scheme in {"postgres", "postgresql"}:
        if not parts.hostname and "host=" not in (parts.query or ""):
            raise ConfigurationError("COACHMATCH_DATABASE_URL for PostgreSQL needs a host")
        return
    raise ConfigurationError("COACHMATCH_DATABASE_URL must start with sqlite:/// or postgresql://")


def _int(raw: str, default: int, name: str, *, minimum: int = 1) -> int:
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{PREFIX}{name} must be a whole number") from None
    if value < minimum:
        raise ConfigurationError(
            f"{PREFIX}{name} must be positive"
            if minimum == 1
            else f"{PREFIX}{name} must be at least {minimum}"
        )
    return value
