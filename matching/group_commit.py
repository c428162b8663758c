"""Group commit: independent small writes that arrive together share one transaction.

A submitted contact request is one new row of the intake inbox, its data key and
a filing job (:mod:`matching.filing`), and nothing else reads or changes them
before they exist. What limits how many a second SQLite can take
is not the rows but the commit (each writes the touched pages to the WAL) and the
queue of writers, one at a time. :class:`GroupCommit` lets every caller hand in
a :class:`WriteUnit` and wait: units that arrive while a write is queued or
running go into the next transaction together, which commits once for all of
them. A caller's ``write`` returns only after its unit has committed, exactly as
with its own transaction; the jobs go to the workers right after the commit,
written already claimed when a broker is attached (one transaction per batch, not
two).

If a shared transaction fails because of what it holds (a constraint), every unit
of it is written again on its own, so one unit that cannot be stored fails alone
and the others still commit. If the database was busy past its timeout, the whole
batch fails at once: trying each unit again would only wait again.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import json
import logging
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from piccolo.table import Table

from matching import bulk, db, outbox
from matching.sqlite_pool import is_busy
from matching.vault import NewKey

if TYPE_CHECKING:
    from matching.runtime import Runtime

log = logging.getLogger(__name__)

#: Units per shared transaction: bounds how long one commit holds the writer lock.
MAX_UNITS = 64


@dataclasses.dataclass(frozen=True)
class WriteUnit:
    """New rows (column name to value) per table, in insertion order, the data keys
    of new subjects among them, and the outbox jobs to dispatch after the commit.
    A unit that is not stored has its keys dropped from the vault's cache."""

    rows: Sequence[tuple[type[Table], Sequence[Mapping[str, Any]]]]
    keys: Sequence[NewKey] = ()
    jobs: Sequence[Mapping[str, Any]] = ()


class _Queue:
    def __init__(self) -> None:
        self.waiting: list[tuple[WriteUnit, asyncio.Future[None]]] = []
        self.draining: asyncio.Task[None] | None = None


class GroupCommit:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = (
            weakref.WeakKeyDictionary()
        )

    async def write(self, unit: WriteUnit) -> None:
        """Store the unit; returns after it has committed, raises what its write raised."""
        if outbox.in_transaction():
            # The unit commits in a transaction of its own; waiting for it while holding
            # another (and, on SQLite, the writer's place) would wait for ever.
            self._runtime.vault.forget_new_keys(unit.keys)
            raise RuntimeError("group_commit.write() must not run inside a transaction")
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        done: asyncio.Future[None] = loop.create_future()
        queue.waiting.append((unit, done))
        if queue.draining is None:
            # A context of its own: the drain must not join a caller's transaction.
            queue.draining = loop.create_task(self._drain(queue), context=contextvars.Context())
        # A caller that gives up (a client that went away) does not cancel the write.
        await asyncio.shield(done)

    async def close(self) -> None:
        """Wait for the units handed in on this loop to be written (before shut-down)."""
        queue = self._queues.get(asyncio.get_running_loop())
        while queue is not None and queue.draining is not None:
            await asyncio.shield(queue.draining)

    async def _drain(self, queue: _Queue) -> None:
        try:
            # Let the requests already under way hand in their units first.
            await asyncio.sleep(0)
            while queue.waiting:
                batch, queue.waiting = queue.waiting[:MAX_UNITS], queue.waiting[MAX_UNITS:]
                await self._write_batch(batch)
        finally:
            queue.draining = None

    async def _write_batch(self, batch: list[tuple[WriteUnit, asyncio.Future[None]]]) -> None:
        # Captured once: a host that stops meanwhile leaves the jobs to the sweeper either way.
        send_claimed = self._runtime.send_claimed
        try:
            jobs = await self._commit([unit for unit, _ in batch], claimed=send_claimed is not None)
        except Exception as exc:
            if len(batch) == 1 or is_busy(exc):
                self._fail(batch, exc)
                return
            log.warning("a shared write failed (%s); writing its units alone", type(exc).__name__)
            for one in batch:
                await self._write_batch([one])
            return
        for _, done in batch:
            if not done.done():
                done.set_result(None)
        if send_claimed is None:
            await outbox.dispatch_committed(self._runtime, [job["id"] for job in jobs])
        else:
            await outbox.send_committed(send_claimed, [outbox.job_of(job) for job in jobs])

    def _fail(self, batch: list[tuple[WriteUnit, asyncio.Future[None]]], exc: Exception) -> None:
        for unit, done in batch:
            self._runtime.vault.forget_new_keys(unit.keys)
            if not done.done():
                done.set_exception(exc)

    async def _commit(
        self, units: Sequence[WriteUnit], *, claimed: bool
    ) -> Sequence[Mapping[str, Any]]:
        """Write the units in one transaction; their job rows. ``claimed``: the jobs'
        lease starts with their row, since this process sends them right after the
        commit (no second transaction to claim them, as :func:`outbox.claim_for_send`
        would); a crash in between leaves them to the sweeper once the lease runs out."""
        tables: dict[type[Table], list[Mapping[str, Any]]] = {}
        for unit in units:
            for table, rows in unit.rows:
                tables.setdefault(table, []).extend(rows)
        keys = [key for unit in units for key in unit.keys]
        unclaimed = _distinct([job for unit in units for job in unit.jobs])
        jobs = outbox.claimed(unclaimed) if claimed else unclaimed
        async with db.write_transaction(self._runtime.engine):
            await self._runtime.vault.store_new_keys(keys)
            for table, rows in tables.items():
                await bulk.insert(table, rows)
            await outbox.enqueue_rows(jobs)
        return jobs


def _distinct(jobs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The jobs, each (actor, arguments) once: jobs take ids and are idempotent, so
    one run does what each of the same would (e.g. every submission queues the
    filing of the inbox; one job per transaction is enough)."""
    seen: set[tuple[str, str]] = set()
    distinct = []
    for job in jobs:
        key = (str(job["actor"]), json.dumps(job["args"], sort_keys=True, default=str))
        if key not in seen:
            seen.add(key)
            distinct.append(job)
    return distinct
