"""Hosting jobs in a process: a sender-only link, or a full worker.

:class:`BrokerLink` only sends (a web process or a CLI command with an external
broker: ``runtime.dispatch`` goes to Redis or RabbitMQ). :class:`WorkerHost` also
runs jobs: dramatiq worker threads consuming the broker, and the outbox sweeper,
the scheduler (:mod:`workers.scheduler`) and the heartbeat as tasks on the
process's event loop. Embedded and external
workers are the same host with a different broker (:mod:`workers.embedded`,
:mod:`workers.external`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging

import dramatiq
from dramatiq.broker import Broker

from matching.runtime import Runtime, leave_for_sweeper
from workers.actors import ACTOR_NAMES, JobContext, declare_actors
from workers.async_bridge import AsyncBridge
from workers.broker import build_broker, install
from workers.heartbeat import new_worker_id, run_heartbeat
from workers.local_queue import LocalQueue
from workers.mail import Mailer, make_mailer
from workers.relay import Relay, run_sweeper
from workers.scheduler import run_scheduler

log = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 30.0
#: Idle worker and consumer threads wake this often (ms) to notice a stop; each
#: wake-up of an external broker's consumer is a request to Redis or RabbitMQ.
WORKER_TIMEOUT_MS = 1000


class BrokerLink:
    """Sends this process's committed jobs to the external broker; runs none."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.broker: Broker | None = None
        self.relay: Relay | None = None

    async def start(self) -> None:
        settings = self.runtime.settings
        self.broker = build_broker(settings)
        install(self.broker)
        self.relay = _relay(self.broker, self.runtime)
        self.runtime.dispatch = self.relay.dispatch
        self.runtime.send_claimed = self.relay.send_claimed

    async def stop(self) -> None:
        self.runtime.dispatch = leave_for_sweeper
        self.runtime.send_claimed = None
        if self.relay is not None:
            await asyncio.to_thread(self.relay.close)
        if self.broker is not None:
            await asyncio.to_thread(self.broker.close)


class WorkerHost:
    """Runs jobs in this process; see the module docstring.

    ``resend_on_start``: the first sweep also re-sends jobs sent before this host
    started. Right for the embedded broker, whose queue died with the previous
    process; wrong for an external broker, which may still hold those messages
    (they are re-sent when their lease runs out).
    """

    def __init__(
        self,
        runtime: Runtime,
        broker: Broker,
        *,
        mode: str,
        threads: int,
        resend_on_start: bool,
        loop: asyncio.AbstractEventLoop | None = None,
        mailer: Mailer | None = None,
        worker_timeout_ms: int = WORKER_TIMEOUT_MS,
        grace_seconds: float = STOP_TIMEOUT_SECONDS,
        local_queue: LocalQueue | None = None,
    ) -> None:
        self.runtime = runtime
        self.broker = broker
        self.mode = mode
        self.threads = threads
        self.resend_on_start = resend_on_start
        self.loop = loop
        self.worker_timeout_ms = worker_timeout_ms
        self.grace_seconds = grace_seconds
        self.local_queue = local_queue
        self.mailer = mailer or make_mailer(runtime.settings)
        self.worker_id = new_worker_id(mode)
        self.relay: Relay | None = None
        self._worker: dramatiq.Worker | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Declare the actors, start the worker threads, the sweeper and the heartbeat.

        Runs on the loop that owns the database (``loop``, if one was given).
        """
        loop = asyncio.get_running_loop()
        if self.loop is not None and self.loop is not loop:
            raise RuntimeError("WorkerHost.start() must run on the loop it was given")
        settings = self.runtime.settings
        started_at = datetime.datetime.now(datetime.UTC)
        install(self.broker)
        context = JobContext(self.runtime, AsyncBridge(loop), self.mailer)
        declare_actors(self.broker, context, settings.job_queue)
        self.relay = _relay(self.broker, self.runtime, local_queue=self.local_queue)
        self._worker = dramatiq.Worker(
            self.broker, worker_threads=self.threads, worker_timeout=self.worker_timeout_ms
        )
        # dramatiq's own CLI emits this; the TimeLimit middleware starts its watchdog on it.
        self.broker.emit_after("process_boot")
        self._worker.start()
        self.runtime.dispatch = self.relay.dispatch
        self.runtime.send_claimed = self.relay.send_claimed
        self._stop.clear()
        self._tasks = [
            loop.create_task(
                run_sweeper(
                    self.relay,
                    interval_seconds=settings.sweep_interval_seconds,
                    stop=self._stop,
                    first_sent_before=started_at if self.resend_on_start else None,
                ),
                name="outbox-sweeper",
            ),
            loop.create_task(
                run_heartbeat(self.worker_id, self.mode, stop=self._stop), name="heartbeat"
            ),
        ]
        if settings.scheduler:
            self._tasks.append(
                loop.create_task(
                    run_scheduler(self.runtime, self.worker_id, stop=self._stop), name="scheduler"
                )
            )
        log.info("%s worker %s started (%d threads)", self.mode, self.worker_id, self.threads)

    async def stop(self) -> None:
        """Stop taking jobs, let running ones finish (up to ``grace_seconds``), release all.

        The loop must keep running meanwhile: the worker threads finish their jobs
        on it, so the blocking stop runs in a thread. (No parameters: Litestar
        passes the app to a shut-down hook that takes any.)
        """
        self.runtime.dispatch = leave_for_sweeper
        self.runtime.send_claimed = None
        self._stop.set()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._worker is not None:
            await asyncio.to_thread(self._worker.stop, int(self.grace_seconds * 1000))
        if self.relay is not None:
            await asyncio.to_thread(self.relay.close)
        await asyncio.to_thread(self.broker.close)
        log.info("%s worker %s stopped", self.mode, self.worker_id)


def _relay(broker: Broker, runtime: Runtime, *, local_queue: LocalQueue | None = None) -> Relay:
    settings = runtime.settings
    return Relay(
        broker,
        queue_name=settings.job_queue,
        lease_seconds=settings.job_lease_seconds,
        actor_names=ACTOR_NAMES,
        local_queue=local_queue,
    )
