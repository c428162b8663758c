"""The actors: thin functions that take an outbox job id and call one matching service.

A queue message carries only the job id; the arguments (ids and codes) are read
from the outbox row. Every run first counts an attempt
(:func:`matching.outbox.begin_attempt`), which also skips a job that is already
done, so duplicate deliveries are harmless. Database effects commit in the same
transaction as :func:`matching.outbox.complete`: exactly one effect per job.

When a run fails, only the exception's class name is kept (in the outbox row and
in the :class:`JobFailed` that dramatiq logs and retries with): messages of
library errors may quote personal data, and dramatiq copies the traceback text
into the retried queue message.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import functools
import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID

import dramatiq
from dramatiq.broker import Broker
from dramatiq.middleware import Interrupt

from matching import (
    broadcast,
    candidates,
    diagnostics,
    filing,
    intake,
    matches,
    notifications,
    operations,
    outbox,
    retention,
    schedule,
)
from matching.outbox import Job
from matching.runtime import Runtime
from workers import backups, restore
from workers.async_bridge import AsyncBridge
from workers.mail import Mailer

log = logging.getLogger(__name__)

PROBE = diagnostics.PROBE_ACTOR
SEND_MAIL = notifications.SEND_MAIL_ACTOR
BROADCAST = intake.BROADCAST_ACTOR
FILE_INTAKE = intake.FILE_ACTOR
SETTLE_OFFERS = matches.SETTLE_OFFERS_ACTOR
EXPIRE_REQUESTS = schedule.EXPIRE_REQUESTS_ACTOR
RETENTION = schedule.RETENTION_ACTOR
DAILY_BACKUP = schedule.BACKUP_ACTOR
WATCH_BACKUPS = schedule.BACKUP_WATCH_ACTOR
ACTOR_NAMES = frozenset(
    {
        PROBE,
        SEND_MAIL,
        FILE_INTAKE,
        BROADCAST,
        SETTLE_OFFERS,
        EXPIRE_REQUESTS,
        RETENTION,
        DAILY_BACKUP,
        WATCH_BACKUPS,
    }
)
#: Periodic tasks may work for long (a backup of a big database, a retention run).
PERIODIC = frozenset({RETENTION, DAILY_BACKUP})
PERIODIC_TIMEOUT_SECONDS = 6 * 3600.0
#: How long one service call may take on the loop (a probe works up to 60 s).
SERVICE_TIMEOUT_SECONDS = diagnostics.MAX_WORK_SECONDS + 30.0
#: Before a job starts: the longest wait while the site is busy (embedded mode, see
#: matching.traffic). Under constant full load each worker thread still starts two
#: jobs a second; the backlog of a burst (a broadcast is followed by a dozen e-mails)
#: runs at full speed as soon as the site has time to spare.
GIVE_WAY_SECONDS = 0.5


class JobFailed(Exception):
    """A job run failed; carries the job id and the error's class name, nothing else."""

    def __init__(self, job_id: UUID | str, error_code: str) -> None:
        super().__init__(f"job {job_id} failed: {error_code}")
        self.error_code = error_code


class BadJobMessage(Exception):
    """A message whose job id is not a UUID: retrying cannot help."""


@dataclasses.dataclass(frozen=True)
class JobContext:
    """What a run needs: the process's runtime, the bridge to its loop, the mailer."""

    runtime: Runtime
    bridge: AsyncBridge
    mailer: Mailer


Handler = Callable[[JobContext, Job], None]


def declare_actors(
    broker: Broker, context: JobContext, queue_name: str
) -> dict[str, dramatiq.Actor[Any, Any]]:
    """Declare every actor on ``broker`` (see :mod:`workers.broker` for why explicitly)."""

    def probe(job_id: str) -> None:
        run_job(context, job_id, run_probe)

    def send_mail(job_id: str) -> None:
        run_job(context, job_id, run_send_mail)

    def file_intake(job_id: str) -> None:
        run_job(context, job_id, run_file_intake)

    def broadcast_request(job_id: str) -> None:
        run_job(context, job_id, run_broadcast)

    def settle_offers(job_id: str) -> None:
        run_job(context, job_id, run_settle_offers)

    def expire_requests(job_id: str) -> None:
        run_job(context, job_id, run_expire_requests)

    def run_retention(job_id: str) -> None:
        run_job(context, job_id, run_retention_rules)

    def daily_backup(job_id: str) -> None:
        run_job(context, job_id, run_daily_backup)

    def watch_backups(job_id: str) -> None:
        run_job(context, job_id, run_backup_watch)

    functions: dict[str, Callable[[str], None]] = {
        PROBE: probe,
        SEND_MAIL: send_mail,
        FILE_INTAKE: file_intake,
        BROADCAST: broadcast_request,
        SETTLE_OFFERS: settle_offers,
        EXPIRE_REQUESTS: expire_requests,
        RETENTION: run_retention,
        DAILY_BACKUP: daily_backup,
        WATCH_BACKUPS: watch_backups,
    }
    return {
        name: dramatiq.actor(
            broker=broker,
            actor_name=name,
            queue_name=queue_name,
            throws=(BadJobMessage,),
            # dramatiq stops an actor after 10 minutes; a backup or retention run of a
            # big database may take longer.
            time_limit=int(PERIODIC_TIMEOUT_SECONDS * 1000) if name in PERIODIC else 600_000,
        )(fn)
        for name, fn in functions.items()
    }


def run_job(context: JobContext, raw_job_id: str, handler: Handler) -> None:
    """Count an attempt, skip a finished job, run ``handler``; failures keep their class only."""
    job_id = _parse_job_id(raw_job_id)
    context.runtime.traffic.give_way(GIVE_WAY_SECONDS)
    job = context.bridge.run(outbox.begin_attempt(job_id))
    if job is None:
        log.debug("job %s is done or failed already: skipped", job_id)
        return
    try:
        handler(context, job)
    except (Exception, Interrupt) as exc:
        code = type(exc).__name__
        try:
            context.bridge.run(outbox.record_failure(job_id, code))
        except Exception as record_exc:
            log.warning(
                "could not record the failure of job %s (%s)", job_id, type(record_exc).__name__
            )
        raise JobFailed(job_id, code) from None


def _parse_job_id(raw: object) -> UUID:
    try:
        return UUID(str(raw))
    except ValueError:
        raise BadJobMessage("the message does not carry a job id") from None


def run_probe(context: JobContext, job: Job) -> None:
    context.bridge.run(diagnostics.run_probe(job.id, job.args), SERVICE_TIMEOUT_SECONDS)


def run_send_mail(context: JobContext, job: Job) -> None:
    """Compose from the vault, deliver (in this thread), then complete and audit."""
    runtime = context.runtime
    mail = context.bridge.run(
        notifications.compose(runtime.vault, runtime.settings, job.id, job.args)
    )
    if mail is None:
        context.bridge.run(notifications.skip(job.id))
        log.info("job %s skipped: its recipient, or what it is about, is gone", job.id)
        return
    context.mailer.send(mail.message, job_id=job.id)
    context.bridge.run(notifications.record_sent(mail))


def run_file_intake(context: JobContext, job: Job) -> None:
    """File the oldest submissions waiting in the intake inbox."""
    context.bridge.run(filing.run(context.runtime, job.id))


def run_broadcast(context: JobContext, job: Job) -> None:
    """Anonymise the request and offer it to the coaches it fits."""
    request_id = _id_arg(job, "request_id")
    context.bridge.run(broadcast.run(context.runtime, job.id, request_id), SERVICE_TIMEOUT_SECONDS)


def run_settle_offers(context: JobContext, job: Job) -> None:
    """After a match: the other coaches' offers become missed."""
    request_id = _id_arg(job, "request_id")
    context.bridge.run(matches.settle_offers(job.id, request_id))


def run_expire_requests(context: JobContext, job: Job) -> None:
    """End the open requests whose time ran out (idempotent), then complete the job."""
    context.bridge.run(_expire_and_complete(context.runtime, job.id))


async def _expire_and_complete(runtime: Runtime, job_id: UUID) -> None:
    await candidates.expire_due(runtime, datetime.datetime.now(datetime.UTC))
    async with outbox.completing(job_id):
        pass


def run_retention_rules(context: JobContext, job: Job) -> None:
    """The day's retention run. Every rule commits in batches: a run cut short is
    finished by the next delivery of the job."""
    as_of = _date_arg(job, "as_of")
    context.bridge.run(
        _retention_and_complete(context.runtime, job.id, as_of), PERIODIC_TIMEOUT_SECONDS
    )


async def _retention_and_complete(runtime: Runtime, job_id: UUID, as_of: datetime.date) -> None:
    if await outbox.is_done(job_id):
        return
    async with _lease_kept(runtime, job_id):
        await retention.run(runtime, as_of)
    async with outbox.completing(job_id):
        pass


def run_daily_backup(context: JobContext, job: Job) -> None:
    """The day's backup, then the backups past their 14 days are destroyed."""
    context.bridge.run(_backup_and_complete(context.runtime, job.id), PERIODIC_TIMEOUT_SECONDS)


async def _backup_and_complete(runtime: Runtime, job_id: UUID) -> None:
    if await outbox.is_done(job_id):
        return
    async with _lease_kept(runtime, job_id):
        try:
            # A delivery after a crash between the backup and the completion: done.
            if not await backups.made_by_job(job_id):
                await backups.create_backup(runtime.settings, runtime.vault.keyring, job_id=job_id)
        finally:  # backups past their 14 days go even when today's backup failed
            await asyncio.to_thread(
                functools.partial(
                    backups.prune_backups, runtime.settings, keyring=runtime.vault.keyring
                )
            )
            await _remove_restore_leftovers(runtime)
    async with outbox.completing(job_id):
        pass


async def _remove_restore_leftovers(runtime: Runtime) -> None:
    """Housekeeping after the backup: it must not turn a good backup into a failed job,
    nor hide the error of a failed one."""
    try:
        await restore.remove_leftovers(runtime.settings)
    except Exception as exc:
        log.warning("could not remove a killed restore's leftovers (%s)", type(exc).__name__)


def _lease_kept(runtime: Runtime, job_id: UUID) -> contextlib.AbstractAsyncContextManager[None]:
    """A periodic job may work for hours: its lease is renewed meanwhile."""
    return outbox.lease_kept(job_id, runtime.settings.job_lease_seconds / 3)


def run_backup_watch(context: JobContext, job: Job) -> None:
    """Mail the admins while a backup fails or is overdue (completes the job)."""
    now = datetime.datetime.now(datetime.UTC)
    context.bridge.run(operations.alert_admins(context.runtime, job.id, now))


def _date_arg(job: Job, name: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(str(job.args.get(name)))
    except ValueError:
        raise BadJobMessage(f"the job has no {name}") from None


def _id_arg(job: Job, name: str) -> UUID:
    try:
        return UUID(str(job.args.get(name)))
    except ValueError:
        raise BadJobMessage(f"the job has no {name}") from None
