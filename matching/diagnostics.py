"""The probe job: a diagnostic that proves the job pipeline delivers exactly one effect.

Its effect is one :class:`~matching.tables.ProbeResult` row per job, written in the
transaction that completes the job. The row is upserted with ``runs = runs + 1``,
so an effect that ever committed twice would show as ``runs == 2`` instead of
hiding behind a primary-key error.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
from collections.abc import Mapping
from uuid import UUID

from matching import outbox
from matching.errors import InvalidInput
from matching.tables import ProbeResult

PROBE_ACTOR = "probe"
MAX_WORK_SECONDS = 60


@dataclasses.dataclass(frozen=True)
class ProbeOutcome:
    job_id: UUID
    finished_at: datetime.datetime
    runs: int


async def enqueue_probe(work_seconds: int = 0) -> UUID:
    """Record a probe job in the caller's transaction (see :func:`outbox.unit_of_work`)."""
    return await outbox.enqueue(PROBE_ACTOR, work_seconds=check_work_seconds(work_seconds))


def check_work_seconds(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("work_seconds must be a whole number")
    if not 0 <= value <= MAX_WORK_SECONDS:
        raise InvalidInput(f"work_seconds must be between 0 and {MAX_WORK_SECONDS}")
    return value


async def run_probe(job_id: UUID, args: Mapping[str, object]) -> bool:
    """Work for ``work_seconds``, then write the effect and complete the job together.

    Returns ``False`` when another delivery of the same job completed it first.
    """
    work = check_work_seconds(args.get("work_seconds", 0))
    if work:
        await asyncio.sleep(work)  # a kill -9 in here must leave no trace
    async with outbox.completing(job_id) as won:
        if won:
            await ProbeResult.raw(
                "INSERT INTO probe_result (job_id, finished_at, runs) VALUES ({}, {}, 1) "
                "ON CONFLICT (job_id) DO UPDATE SET runs = probe_result.runs + 1",
                job_id,
                datetime.datetime.now(datetime.UTC),
            )
    return won


async def probe_outcomes(job_id: UUID) -> list[ProbeOutcome]:
    """Every effect row of a probe job: exactly one once it is done."""
    rows = await ProbeResult.select().where(ProbeResult.job_id == job_id)
    return [ProbeOutcome(**row) for row in rows]
