"""The relay: sends committed outbox jobs to the broker; the sweeper re-sends the lost ones.

:meth:`Relay.dispatch` becomes ``runtime.dispatch``: after a unit of work commits,
it claims the new jobs (starting their lease) and enqueues one message per job,
carrying the job id only. :meth:`Relay.send_claimed` (``runtime.send_claimed``)
enqueues jobs whose lease began as they were written (the group commit's).
:meth:`Relay.sweep` claims and sends every job whose lease ran out: never sent (the
process died right after a unit of work's commit, or the broker was down), or sent
but not done in time (the message or the worker was lost, or the process died
between a group commit and its send). A job whose message still waits in this
process's own queue (embedded workers, :mod:`workers.local_queue`) only has its
lease renewed.

Broker calls block (network I/O), so they run on one dedicated thread, never on
the event loop; one thread also keeps a RabbitMQ connection, which pika ties to
its thread, in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

from dramatiq.broker import Broker
from dramatiq.message import Message

from matching import outbox
from matching.outbox import Job
from workers.local_queue import LocalQueue

log = logging.getLogger(__name__)

SWEEP_BATCH = 200


def job_message(queue_name: str, job: Job) -> Message[None]:
    """The queue message for a job: its actor and its id, nothing else."""
    return Message(
        queue_name=queue_name, actor_name=job.actor, args=(str(job.id),), kwargs={}, options={}
    )


class Relay:
    def __init__(
        self,
        broker: Broker,
        *,
        queue_name: str,
        lease_seconds: float,
        actor_names: Collection[str],
        local_queue: LocalQueue | None = None,
    ) -> None:
        self.broker = broker
        self.queue_name = queue_name
        self.lease_seconds = lease_seconds
        self.actor_names = frozenset(actor_names)
        self.local_queue = local_queue
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-relay")
        broker.declare_queue(queue_name)

    async def dispatch(self, job_ids: Sequence[UUID]) -> None:
        """Send jobs that were just committed (the ``runtime.dispatch`` of this process)."""
        claimed = await outbox.claim_for_send(job_ids, outbox.lease_cutoff(self.lease_seconds))
        await self._send_all(claimed)

    async def sweep(self, *, sent_before: datetime.datetime | None = None) -> int:
        """Send every job that is due; with ``sent_before``, also those sent before then.

        Returns how many jobs were sent.
        """
        cutoff = outbox.lease_cutoff(self.lease_seconds, sent_before=sent_before)
        total = 0
        while True:
            due = await outbox.due_for_resend(cutoff, SWEEP_BATCH)
            claimed = await outbox.claim_for_send(due, cutoff)
            if self.local_queue is not None:  # still queued here: leased again, not re-sent
                claimed = [job for job in claimed if not self.local_queue.holds(job.id)]
            total += await self._send_all(claimed)
            if len(due) < SWEEP_BATCH:
                return total

    async def send_claimed(self, jobs: Sequence[Job]) -> None:
        """Send jobs that were written already claimed: their lease began with their row
        (the group commit writes them so, saving a claim per batch)."""
        await self._send_all(jobs)

    async def _send_all(self, jobs: Sequence[Job]) -> int:
        known = []
        for job in jobs:
            if job.actor in self.actor_names:
                known.append(job)
            else:
                log.error("job %s names no known actor: marked failed", job.id)
                await outbox.give_up(job.id, "UnknownActor")
        if not known:
            return 0
        # One hand-over to the broker's thread for the whole batch, not one per job.
        loop = asyncio.get_running_loop()
        try:
            failed = await loop.run_in_executor(self._executor, self._enqueue_all, known)
        except Exception as exc:  # the thread is gone (closing): nothing was handed over
            log.warning("could not hand jobs to the broker (%s)", type(exc).__name__)
            failed = known
        with contextlib.suppress(Exception):  # released or not, the lease runs out
            await outbox.release_many([job.id for job in failed])
        return len(known) - len(failed)

    def _enqueue_all(self, jobs: Sequence[Job]) -> list[Job]:
        """On the broker's thread: enqueue each job; the ones that could not be sent."""
        failed = []
        for job in jobs:
            try:
                self.broker.enqueue(job_message(self.queue_name, job))
            except Exception as exc:
                log.warning(
                    "could not send job %s (%s); it stays pending", job.id, type(exc).__name__
                )
                failed.append(job)
        return failed

    def close(self) -> None:
        self._executor.shutdown(wait=True)


async def run_sweeper(
    relay: Relay,
    *,
    interval_seconds: float,
    stop: asyncio.Event,
    first_sent_before: datetime.datetime | None = None,
) -> None:
    """Sweep now and then every ``interval_seconds`` until ``stop`` is set.

    The first sweep may also take jobs sent before ``first_sent_before``: an
    embedded worker passes its own start time, because whatever was sent before
    it started sat in a previous process's memory and is gone.
    """
    sent_before = first_sent_before
    while not stop.is_set():
        try:
            sent = await relay.sweep(sent_before=sent_before)
            sent_before = None
            if sent:
                log.info("sweeper sent %d pending job(s)", sent)
        except Exception as exc:  # the database may be briefly unavailable: try again
            log.warning("outbox sweep failed (%s)", type(exc).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_seconds)
