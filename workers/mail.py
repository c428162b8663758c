"""Mail delivery: SMTP when ``COACHMATCH_SMTP_URL`` is set, otherwise the dev mailbox.

Mailers are synchronous: they run in dramatiq's worker threads, never on the
event loop. Errors are raised as the library raises them; the actor records only
the exception's class name (an SMTP error can quote the recipient address).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit
from uuid import UUID

from matching import mailbox
from matching.config import Settings
from matching.errors import ConfigurationError

SMTP_TIMEOUT_SECONDS = 30.0


class Mailer(Protocol):
    def send(self, message: EmailMessage, *, job_id: UUID) -> None:
        """Deliver ``message``; ``job_id`` names the job, for idempotent storage."""


class SmtpMailer:
    """``smtp://[user:password@]host[:port]`` (STARTTLS whenever the server offers it,
    with certificate checks) or ``smtps://`` (TLS from the first byte, port 465)."""

    def __init__(self, smtp_url: str, *, timeout: float = SMTP_TIMEOUT_SECONDS) -> None:
        parts = urlsplit(smtp_url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ConfigurationError("COACHMATCH_SMTP_URL must look like smtp://host:port")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout

    def send(self, message: EmailMessage, *, job_id: UUID) -> None:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.implicit_tls:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            smtp.ehlo()
            if not self.implicit_tls and smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            if self.username is not None:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)

    def __repr__(self) -> str:  # never show the password
        return f"SmtpMailer({self.host}:{self.port})"


class DevMailbox:
    """Writes each message as ``<job id>.eml`` in the data folder's mailbox."""

    def __init__(self, mailbox_dir: Path) -> None:
        self.mailbox_dir = mailbox_dir

    def send(self, message: EmailMessage, *, job_id: UUID) -> None:
        mailbox.store(self.mailbox_dir, job_id, message)


def make_mailer(settings: Settings) -> Mailer:
    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url)
    return DevMailbox(settings.mailbox_dir)
