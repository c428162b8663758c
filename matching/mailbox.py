"""The dev mailbox: outgoing mail as RFC 5322 ``.eml`` files when no SMTP server is set.

One module owns the folder layout: the worker writes through :func:`store`, the
admin pages read through :func:`list_messages` and :func:`read_message`.

A message's file is named after the job that sent it, so a job delivered twice
overwrites its file instead of leaving a duplicate. The folder is ``0700`` and
every file ``0600``: the messages hold personal data. Names coming from a URL
are matched against the one shape this module writes, which rules out path
traversal, and files are opened without following symlinks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import email.policy
import email.utils
import os
import re
import secrets
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from uuid import UUID

from matching.errors import InvalidInput, NotFound

_NAME = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.eml")
MAX_MESSAGE_BYTES = 10 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class MailboxEntry:
    """One message in the listing (headers only)."""

    name: str
    subject: str = dataclasses.field(repr=False)
    to: str = dataclasses.field(repr=False)
    date: datetime.datetime | None
    size: int


@dataclasses.dataclass(frozen=True)
class MailboxMessage:
    """One message, parsed, with its plain-text body."""

    name: str
    message_id: str
    subject: str = dataclasses.field(repr=False)
    sender: str = dataclasses.field(repr=False)
    to: str = dataclasses.field(repr=False)
    date: datetime.datetime | None
    body: str = dataclasses.field(repr=False)


def file_name(job_id: UUID) -> str:
    return f"{job_id}.eml"


def store(mailbox_dir: Path, job_id: UUID, message: EmailMessage) -> Path:
    """Write the message as ``<job id>.eml`` (atomically; replaces an earlier copy)."""
    _ensure_folder(mailbox_dir)
    target = mailbox_dir / file_name(job_id)
    temporary = mailbox_dir / f".{secrets.token_hex(8)}.tmp"
    data = message.as_bytes(policy=email.policy.SMTP)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    return target


def _ensure_folder(mailbox_dir: Path) -> None:
    mailbox_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if mailbox_dir.stat().st_mode & 0o077:
        mailbox_dir.chmod(0o700)


def list_messages(mailbox_dir: Path) -> list[MailboxEntry]:
    """Every message, newest first."""
    if not mailbox_dir.is_dir():
        return []
    found: list[tuple[float, MailboxEntry]] = []
    for path in mailbox_dir.iterdir():
        if not _NAME.fullmatch(path.name):
            continue
        try:
            stat = path.lstat()
            data = _read(path)  # refuses symlinks
        except OSError:
            continue
        message = _parse(data)
        entry = MailboxEntry(
            name=path.name,
            subject=str(message.get("Subject", "")),
            to=str(message.get("To", "")),
            date=_date(message),
            size=stat.st_size,
        )
        found.append((stat.st_mtime, entry))
    found.sort(key=lambda item: item[0], reverse=True)
    return [entry for _, entry in found]


def read_message(mailbox_dir: Path, name: str) -> MailboxMessage:
    """The message called ``name``; ``InvalidInput`` for a name this module never writes."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput("not a mailbox message name")
    path = mailbox_dir / name
    try:
        data = _read(path)
    except OSError:  # missing, or a symlink planted in the folder
        raise NotFound("no such message") from None
    message = _parse(data)
    body = message.get_body(preferencelist=("plain",))
    return MailboxMessage(
        name=name,
        message_id=str(message.get("Message-ID", "")),
        subject=str(message.get("Subject", "")),
        sender=str(message.get("From", "")),
        to=str(message.get("To", "")),
        date=_date(message),
        body=body.get_content() if body is not None else "",
    )


def _read(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        return handle.read(MAX_MESSAGE_BYTES)


def _parse(data: bytes) -> EmailMessage:
    return BytesParser(policy=email.policy.default).parsebytes(data)


def _date(message: EmailMessage) -> datetime.datetime | None:
    value = message.get("Date")
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
