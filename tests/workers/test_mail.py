"""E-mail: a real SMTP server on loopback, the dev mailbox, and personal data kept
out of the outbox, the queue messages, failure records and logs."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import socket
import stat
import uuid
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from aiosmtpd.controller import Controller
from dramatiq.broker import Broker
from dramatiq.brokers.stub import StubBroker
from dramatiq.message import Message
from dramatiq.middleware import Middleware
from hypothesis import given
from hypothesis import strategies as st

from matching import mailbox, notifications, outbox
from matching.audit import Action
from matching.errors import InvalidInput, NotFound
from matching.outbox import Job
from matching.runtime import Runtime
from matching.subjects import create_subject
from matching.tables import AuditEntry, OutboxJob
from tests.workers.waiting import wait_for
from workers.actors import ACTOR_NAMES, JobContext, run_send_mail
from workers.async_bridge import AsyncBridge
from workers.broker import middleware
from workers.embedded import EmbeddedWorkers
from workers.mail import DevMailbox, SmtpMailer
from workers.relay import Relay

TEMPLATE = "test_message"


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
async def recipient(runtime: Runtime) -> tuple[UUID, str, str]:
    """A candidate with unique canary values, to search for where they must not be."""
    canary = uuid.uuid4().hex[:10]
    name, email = f"Canaryname {canary}", f"canary.{canary}@example.org"
    subject_id = await create_subject(runtime.vault, "candidate", name=name, email=email)
    return subject_id, name, email


async def _queue_mail(runtime: Runtime, subject_id: UUID) -> UUID:
    async with outbox.unit_of_work(runtime):
        return await notifications.queue_mail(subject_id, TEMPLATE)


async def _done(job_id: UUID) -> bool:
    return await outbox.is_done(job_id)


async def test_mail_reaches_a_real_smtp_server(
    runtime: Runtime, recipient: tuple[UUID, str, str], smtp_server: tuple[Inbox, int]
) -> None:
    subject_id, name, email = recipient
    inbox, port = smtp_server
    host = EmbeddedWorkers(runtime, mailer=SmtpMailer(f"smtp://127.0.0.1:{port}"))
    await host.start()
    try:
        job_id = await _queue_mail(runtime, subject_id)
        await wait_for(lambda: _done(job_id), timeout=15, what="the mail job")
    finally:
        await host.stop()
    [(rcpt_tos, content)] = inbox.received
    assert rcpt_tos == [email]
    message = message_from_bytes(content)
    assert message["Message-ID"] == f"<{job_id}@coachmatch.localhost>"
    assert name in message["To"] and email in message["To"]
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes) and name in payload.decode()
    [entry] = await AuditEntry.select().where(AuditEntry.subject_id == subject_id)
    assert entry["action"] == Action.DATA_DECRYPTED and entry["purpose"] == "notification"
    assert str(job_id) in str(entry["details"]) and email not in str(entry)


async def test_the_dev_mailbox_keeps_one_file_per_job_even_if_it_runs_twice(
    runtime: Runtime, recipient: tuple[UUID, str, str]
) -> None:
    subject_id, name, email = recipient
    folder = runtime.settings.mailbox_dir
    host = EmbeddedWorkers(runtime)  # no SMTP URL: the dev mailbox
    await host.start()
    try:
        job_id = await _queue_mail(runtime, subject_id)
        await wait_for(lambda: _done(job_id), timeout=15, what="the mail job")
    finally:
        await host.stop()
    # At least once: a crash between sending and completing runs the job again.
    context = JobContext(runtime, AsyncBridge(asyncio.get_running_loop()), DevMailbox(folder))
    job = Job(
        id=job_id,
        actor=notifications.SEND_MAIL_ACTOR,
        args={"subject_id": str(subject_id), "template": TEMPLATE},
    )
    await asyncio.to_thread(run_send_mail, context, job)

    assert [p.name for p in folder.iterdir()] == [f"{job_id}.eml"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / f"{job_id}.eml").stat().st_mode) == 0o600
    [entry] = mailbox.list_messages(folder)
    assert entry.name == f"{job_id}.eml" and email in entry.to
    read = mailbox.read_message(folder, entry.name)
    assert read.message_id == f"<{job_id}@coachmatch.localhost>"
    assert name in read.body and "testbericht" in read.subject
    assert await AuditEntry.count().where(AuditEntry.subject_id == subject_id) == 1


@pytest.mark.parametrize(
    "name",
    [
        "../secret.eml",
        "../../etc/passwd",
        "/etc/passwd",
        "..",
        "",
        ".",
        "x.eml",
        f"{uuid.uuid4()}.eml/../../x",
        f"{str(uuid.uuid4()).upper()}.eml",
        "%2e%2e%2fx.eml",
        f"sub/{uuid.uuid4()}.eml",
        f"{uuid.uuid4()}.eml\x00",
    ],
)
def test_read_message_refuses_names_it_never_writes(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput):
        mailbox.read_message(tmp_path, name)


@given(st.text(max_size=60))
def test_read_message_refuses_any_other_text(name: str) -> None:
    with pytest.raises((InvalidInput, NotFound)):
        mailbox.read_message(Path("/nonexistent-mailbox"), name)


def test_a_planted_symlink_is_neither_listed_nor_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("Subject: not yours\n\nsecret\n")
    folder = tmp_path / "mailbox"
    folder.mkdir()
    planted = f"{uuid.uuid4()}.eml"
    (folder / planted).symlink_to(secret)
    assert mailbox.list_messages(folder) == []
    with pytest.raises(NotFound):
        mailbox.read_message(folder, planted)


async def test_no_personal_data_in_the_outbox_row_or_the_queue_message(
    runtime: Runtime, recipient: tuple[UUID, str, str]
) -> None:
    subject_id, name, email = recipient
    broker = StubBroker(middleware=middleware())  # nobody consumes: we read the queue
    queue = runtime.settings.job_queue
    relay = Relay(broker, queue_name=queue, lease_seconds=30, actor_names=ACTOR_NAMES)
    runtime.dispatch = relay.dispatch
    try:
        job_id = await _queue_mail(runtime, subject_id)
    finally:
        relay.close()
    body = broker.queues[queue].get_nowait()
    assert str(job_id).encode() in body
    [row] = await OutboxJob.select().where(OutboxJob.id == job_id)
    for needle in (email, name, email.split("@")[0]):
        assert needle.encode() not in body
        assert needle not in str(row)
    assert Message.decode(body).args == (str(job_id),)


class LeakyMailer:
    """Fails the way smtplib does: with the recipient address in the exception."""

    def send(self, message: EmailMessage, *, job_id: UUID) -> None:
        address = str(message["To"])
        raise smtplib.SMTPRecipientsRefused({address: (550, f"no mailbox {address}".encode())})


class EnqueueRecorder(Middleware):
    """Keeps every message the broker enqueues, as bytes (first sends and retries)."""

    def __init__(self) -> None:
        self.encoded: list[bytes] = []

    def after_enqueue(self, broker: Broker, message: Message[Any], delay: int | None) -> None:
        self.encoded.append(message.encode())


async def test_a_failed_delivery_records_no_personal_data(
    runtime: Runtime, recipient: tuple[UUID, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    subject_id, name, email = recipient
    caplog.set_level(logging.DEBUG)
    host = EmbeddedWorkers(runtime, mailer=LeakyMailer())
    recorder = EnqueueRecorder()
    host.broker.add_middleware(recorder)
    await host.start()
    try:
        job_id = await _queue_mail(runtime, subject_id)

        async def retried() -> bool:
            state = await outbox.job_state(job_id)
            return len(recorder.encoded) >= 2 and state is not None and bool(state.last_error)

        await wait_for(retried, timeout=15, what="a failure and its retry")
    finally:
        await host.stop()
    state = await outbox.job_state(job_id)
    assert state is not None and not state.done
    assert state.last_error == "SMTPRecipientsRefused"
    retry = Message.decode(recorder.encoded[-1])
    assert "SMTPRecipientsRefused" in retry.options["traceback"]  # the code, and only that
    for needle in (email, name, email.split("@")[0]):
        assert all(needle.encode() not in body for body in recorder.encoded)
        assert needle not in caplog.text
