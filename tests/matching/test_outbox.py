"""The transactional outbox: jobs exist iff their transaction commits; claims and
completions are exclusive under concurrency. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import datetime
import os
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching import db, outbox
from matching.errors import InvalidInput
from matching.runtime import Runtime, close_runtime, open_runtime
from matching.tables import OutboxJob
from tests.conftest import make_settings


class DispatchLog:
    """Records what ``runtime.dispatch`` was given, and what was committed at that moment."""

    def __init__(self) -> None:
        self.calls: list[list[UUID]] = []
        self.visible_at_dispatch: list[int] = []
        self.inside_transaction: list[bool] = []

    async def __call__(self, job_ids: Sequence[UUID]) -> None:
        self.calls.append(list(job_ids))
        self.inside_transaction.append(outbox.in_transaction())
        # Counted outside the transaction: only committed rows are visible here.
        self.visible_at_dispatch.append(
            await OutboxJob.count().where(OutboxJob.id.is_in(list(job_ids)))
        )


@pytest.fixture
async def runtime(database: object, database_url: str, data_dir: Path) -> AsyncIterator[Runtime]:
    key = base64.b64encode(os.urandom(32)).decode()
    settings = make_settings(data_dir, database_url=database_url, master_key_b64=key)
    runtime = await open_runtime(settings, migrate=False)
    yield runtime
    await close_runtime(runtime)


@pytest.fixture
def dispatched(runtime: Runtime) -> DispatchLog:
    log = DispatchLog()
    runtime.dispatch = log
    return log


async def test_committed_jobs_are_dispatched_after_commit(
    runtime: Runtime, dispatched: DispatchLog
) -> None:
    async with outbox.unit_of_work(runtime):
        first = await outbox.enqueue("probe", work_seconds=0)
        second = await outbox.enqueue("send_mail", subject_id=uuid.uuid4(), template="x")
    assert dispatched.calls == [[first, second]]
    assert dispatched.inside_transaction == [False]
    assert dispatched.visible_at_dispatch == [2]


async def test_rolled_back_jobs_vanish_and_are_never_dispatched(
    runtime: Runtime, dispatched: DispatchLog
) -> None:
    with pytest.raises(ZeroDivisionError):
        async with outbox.unit_of_work(runtime):
            await outbox.enqueue("probe", work_seconds=0)
            1 / 0  # noqa: B018
    assert dispatched.calls == []
    assert await OutboxJob.count() == 0


async def test_a_nested_unit_of_work_dispatches_once_with_the_outer_one(
    runtime: Runtime, dispatched: DispatchLog
) -> None:
    async with outbox.unit_of_work(runtime):
        outer = await outbox.enqueue("probe")
        async with outbox.unit_of_work(runtime):
            inner = await outbox.enqueue("probe")
        assert dispatched.calls == []
    assert dispatched.calls == [[outer, inner]]


async def test_a_unit_of_work_inside_a_bare_transaction_is_refused(runtime: Runtime) -> None:
    async with db.write_transaction():
        with pytest.raises(RuntimeError, match="outermost"):
            async with outbox.unit_of_work(runtime):
                pass


async def test_a_failing_dispatch_does_not_undo_the_commit(runtime: Runtime) -> None:
    async def broken(job_ids: Sequence[UUID]) -> None:
        raise ConnectionError("broker down")

    runtime.dispatch = broken
    async with outbox.unit_of_work(runtime):
        job_id = await outbox.enqueue("probe")
    state = await outbox.job_state(job_id)
    assert state is not None and not state.done and state.sent_at is None


async def test_enqueue_outside_a_transaction_is_refused(database: object) -> None:
    with pytest.raises(RuntimeError, match="inside a transaction"):
        await outbox.enqueue("probe")


@pytest.mark.parametrize(
    "value",
    [1.5, {"a": 1}, ["x"], None, b"bytes", "Jan Jansen", "jan@example.org", "Hello"],
)
async def test_enqueue_refuses_values_that_are_not_ids(database: object, value: object) -> None:
    async with db.write_transaction():
        with pytest.raises(InvalidInput):
            await outbox.enqueue("probe", value=value)


@settings(max_examples=40, deadline=None)
@given(local=st.text(min_size=1, max_size=20), domain=st.text(min_size=1, max_size=20))
def test_no_email_address_is_accepted_as_a_job_argument(local: str, domain: str) -> None:
    # The argument check runs before any database access.
    with pytest.raises(InvalidInput):
        outbox._arg(f"{local}@{domain}")


async def test_claim_is_exclusive_under_concurrency(database: object) -> None:
    async with db.write_transaction():
        job_id = await outbox.enqueue("probe")
    cutoff = outbox.lease_cutoff(60)
    results = await asyncio.gather(*(outbox.claim_for_send([job_id], cutoff) for _ in range(8)))
    winners = [claimed for claimed in results if claimed]
    assert len(winners) == 1
    assert winners[0][0].id == job_id and winners[0][0].actor == "probe"


async def test_a_claimed_job_is_due_again_only_after_its_lease(database: object) -> None:
    async with db.write_transaction():
        job_id = await outbox.enqueue("probe")
    assert await outbox.due_for_resend(outbox.lease_cutoff(60)) == [job_id]
    assert await outbox.claim_for_send([job_id], outbox.lease_cutoff(60))
    assert await outbox.due_for_resend(outbox.lease_cutoff(60)) == []
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=1)
    assert await outbox.due_for_resend(later) == [job_id]
    await outbox.release(job_id)
    assert await outbox.due_for_resend(outbox.lease_cutoff(60)) == [job_id]


async def test_complete_wins_exactly_once_under_concurrency(database: object) -> None:
    async with db.write_transaction():
        job_id = await outbox.enqueue("probe")

    async def attempt() -> bool:
        async with outbox.completing(job_id) as won:
            return won

    results = await asyncio.gather(*(attempt() for _ in range(6)))
    assert sorted(results) == [False] * 5 + [True]
    assert await outbox.is_done(job_id)


async def test_complete_rolls_back_with_the_effect(database: object) -> None:
    async with db.write_transaction():
        job_id = await outbox.enqueue("probe")
    with pytest.raises(ZeroDivisionError):
        async with outbox.completing(job_id) as won:
            assert won
            1 / 0  # noqa: B018
    assert not await outbox.is_done(job_id)


async def test_complete_outside_a_transaction_is_refused(database: object) -> None:
    with pytest.raises(RuntimeError):
        await outbox.complete(uuid.uuid4())


async def test_attempts_skip_done_jobs_and_stop_at_the_limit(database: object) -> None:
    async with db.write_transaction():
        done_job = await outbox.enqueue("probe", work_seconds=2)
        stuck_job = await outbox.enqueue("probe")
    job = await outbox.begin_attempt(done_job)
    assert job is not None and job.attempts == 1 and job.args == {"work_seconds": 2}
    async with outbox.completing(done_job):
        pass
    assert await outbox.begin_attempt(done_job) is None

    for _ in range(outbox.MAX_ATTEMPTS):
        assert await outbox.begin_attempt(stuck_job) is not None
    assert await outbox.begin_attempt(stuck_job) is None
    state = await outbox.job_state(stuck_job)
    assert state is not None and state.failed
    far_future = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    assert await outbox.due_for_resend(far_future) == []
    assert await outbox.counts() == outbox.OutboxCounts(pending=0, done=1, failed=1)


async def test_failures_keep_a_class_name_never_a_message(database: object) -> None:
    async with db.write_transaction():
        job_id = await outbox.enqueue("probe")
    await outbox.record_failure(job_id, "SMTPRecipientsRefused")
    state = await outbox.job_state(job_id)
    assert state is not None and state.last_error == "SMTPRecipientsRefused"
    await outbox.record_failure(job_id, "refused: jan@example.org")
    state = await outbox.job_state(job_id)
    assert state is not None and state.last_error == "Error"
