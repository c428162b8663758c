"""The scheduler: every worker host runs this loop; the lease makes one of them tick.

Every :data:`TICK_SECONDS` the loop takes or renews the scheduler lease
(:func:`matching.schedule.take_lease`) and, while it holds it, queues the job of
every periodic task whose slot has none yet. The jobs go through the outbox like
any other, so they run in the worker threads and a crashed run is delivered again.
In embedded mode that is the site's own process; scaled out, one of the
``coachmatch worker`` processes (another takes over when its lease lapses).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging

from matching import schedule
from matching.runtime import Runtime

log = logging.getLogger(__name__)

TICK_SECONDS = 15.0
LEASE_SECONDS = 60.0


async def run_scheduler(
    runtime: Runtime,
    holder: str,
    *,
    stop: asyncio.Event,
    tick_seconds: float = TICK_SECONDS,
    lease_seconds: float = LEASE_SECONDS,
) -> None:
    """Tick until ``stop``; then give the lease up, so another host need not wait."""
    try:
        while not stop.is_set():
            try:
                await tick(runtime, holder, lease_seconds=lease_seconds)
            except Exception as exc:  # the next tick tries again; the class only
                log.warning("the scheduler's tick failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), tick_seconds)
    finally:
        with contextlib.suppress(Exception):
            await schedule.release_lease(holder)


async def tick(runtime: Runtime, holder: str, *, lease_seconds: float = LEASE_SECONDS) -> list[str]:
    """One tick: the slots queued (none unless this host holds the lease)."""
    now = datetime.datetime.now(datetime.UTC)
    if not await schedule.take_lease(holder, now, lease_seconds):
        return []
    queued = await schedule.queue_due(runtime, now)
    for slot in queued:
        log.info("scheduled %s", slot)
    return queued
