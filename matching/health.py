"""Worker heartbeats: each worker process says it is alive; ``/health`` asks who is.

Worker ids are random per process (no host names or addresses). Rows of workers
that stopped cleanly are removed; rows of crashed ones simply age out of
:func:`workers_alive` and are pruned later.
"""

from __future__ import annotations

import datetime

from matching.tables import WorkerHeartbeat

#: A worker that has not beaten for this long counts as gone (it beats every 10 s).
ALIVE_WITHIN_SECONDS = 30.0
PRUNE_AFTER = datetime.timedelta(days=1)
MODES = frozenset({"embedded", "redis", "amqp"})


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def beat(worker_id: str, mode: str) -> None:
    """Record that ``worker_id`` is alive now (insert or update its row)."""
    if mode not in MODES:
        raise ValueError(f"unknown worker mode {mode!r}")
    now = _now()
    await WorkerHeartbeat.insert(
        WorkerHeartbeat(worker_id=worker_id, seen_at=now, mode=mode)
    ).on_conflict(
        target=WorkerHeartbeat.worker_id,
        action="DO UPDATE",
        values=[WorkerHeartbeat.seen_at, WorkerHeartbeat.mode],
    )


async def forget(worker_id: str) -> None:
    """A worker that stops cleanly removes its row at once."""
    await WorkerHeartbeat.delete().where(WorkerHeartbeat.worker_id == worker_id)


async def prune() -> None:
    """Remove rows of workers gone for a day (crashed ones never forget themselves)."""
    await WorkerHeartbeat.delete().where(WorkerHeartbeat.seen_at < _now() - PRUNE_AFTER)


async def workers_alive(within_seconds: float = ALIVE_WITHIN_SECONDS) -> int:
    """How many worker processes beat within the last ``within_seconds``."""
    cutoff = _now() - datetime.timedelta(seconds=within_seconds)
    return int(await WorkerHeartbeat.count().where(WorkerHeartbeat.seen_at >= cutoff))
