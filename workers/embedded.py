"""Embedded workers: jobs run inside the web process, with no broker server.

The queue is dramatiq's in-memory :class:`~dramatiq.brokers.stub.StubBroker`,
consumed by a couple of worker threads; the services run on the web server's own
event loop (the one that owns the database pool). A job in that memory queue is
lost if the process dies, but not its outbox row: on start-up the sweeper re-sends
everything pending, which is how a job cut off by ``kill -9`` runs after a restart.
"""

from __future__ import annotations

import asyncio

from dramatiq.brokers.stub import StubBroker

from matching.runtime import Runtime
from workers.broker import middleware
from workers.host import WorkerHost
from workers.local_queue import LocalQueue
from workers.mail import Mailer

EMBEDDED_THREADS = 2
#: The in-memory queue costs nothing to poll, so idle threads notice a stop quickly.
EMBEDDED_WORKER_TIMEOUT_MS = 100


class EmbeddedWorkers(WorkerHost):
    def __init__(
        self,
        runtime: Runtime,
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        threads: int = EMBEDDED_THREADS,
        mailer: Mailer | None = None,
    ) -> None:
        local_queue = LocalQueue()
        super().__init__(
            runtime,
            StubBroker(middleware=[*middleware(), local_queue]),
            mode="embedded",
            local_queue=local_queue,
            threads=threads,
            resend_on_start=True,
            loop=loop,
            mailer=mailer,
            worker_timeout_ms=EMBEDDED_WORKER_TIMEOUT_MS,
        )
