"""``coachmatch worker``: a worker process for an external broker (Redis or RabbitMQ).

The process runs one event loop in its main thread: it owns the database pool,
runs the sweeper and the heartbeat, and executes the services the dramatiq
worker threads hand to it (:mod:`workers.async_bridge`). SIGTERM or SIGINT stop
it gracefully: no new messages, running jobs finish, the heartbeat row goes.

``python -m workers.embedded_process`` runs the same loop around embedded workers
(an in-memory queue): a stand-alone process for tests and diagnostics.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from matching.config import Settings
from matching.errors import ConfigurationError
from matching.runtime import close_runtime, open_runtime
from workers.broker import build_broker, check_reachable, mode_of
from workers.embedded import EmbeddedWorkers
from workers.host import WorkerHost

log = logging.getLogger(__name__)

DEFAULT_THREADS = 4
NO_BROKER = "no COACHMATCH_BROKER_URL: embedded workers run inside `coachmatch run`"


def run_worker(settings: Settings, *, threads: int = DEFAULT_THREADS) -> int:
    """Serve jobs from the external broker until signalled; returns the exit code."""
    if not settings.broker_url:
        raise ConfigurationError(NO_BROKER)
    probe = build_broker(settings)
    try:
        check_reachable(probe, settings)
    finally:
        probe.close()
    asyncio.run(serve(settings, threads=threads, embedded=False))
    return 0


async def serve(settings: Settings, *, threads: int, embedded: bool) -> None:
    runtime = await open_runtime(settings)
    try:
        host: WorkerHost
        if embedded:
            host = EmbeddedWorkers(runtime, threads=threads)
        else:
            host = WorkerHost(
                runtime,
                build_broker(settings),
                mode=mode_of(settings),
                threads=threads,
                resend_on_start=False,
            )
        await host.start()
        try:
            await _until_signalled()
        finally:
            await host.stop()
    finally:
        await close_runtime(runtime)


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker ready; stop with SIGTERM or Ctrl-C")
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("stopping: running jobs may finish")
