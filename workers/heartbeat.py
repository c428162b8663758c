"""Each worker process (embedded or external) beats every few seconds for ``/health``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets

from matching import health

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 10.0
PRUNE_EVERY = 360  # beats (about an hour)


def new_worker_id(mode: str) -> str:
    """Random per process: says nothing about the host or the people using it."""
    return f"{mode}-{secrets.token_hex(8)}"


async def run_heartbeat(
    worker_id: str, mode: str, *, stop: asyncio.Event, interval_seconds: float = INTERVAL_SECONDS
) -> None:
    """Beat until ``stop`` is set, then remove this worker's row."""
    beats = 0
    while not stop.is_set():
        try:
            await health.beat(worker_id, mode)
            if beats % PRUNE_EVERY == 0:
                await health.prune()
        except Exception as exc:  # a missed beat is not fatal; /health will tell
            log.warning("heartbeat failed (%s)", type(exc).__name__)
        beats += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_seconds)
    with contextlib.suppress(Exception):
        await health.forget(worker_id)
