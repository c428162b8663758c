"""The workers' part of a request's journey, run in the test: filing, then broadcast."""

from __future__ import annotations

from uuid import UUID

from matching import broadcast, filing, intake
from matching.runtime import Runtime
from matching.tables import OutboxJob


async def run_broadcasts(runtime: Runtime) -> None:
    """File every waiting submission, then run the broadcasts not done yet."""
    while await filing.file_waiting(runtime):
        pass
    jobs = (
        await OutboxJob.select(OutboxJob.id, OutboxJob.args)
        .where((OutboxJob.actor == intake.BROADCAST_ACTOR) & OutboxJob.done_at.is_null())
        .output(load_json=True)
    )
    for job in jobs:
        await broadcast.run(runtime, job["id"], UUID(job["args"]["request_id"]))
