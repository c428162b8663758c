"""Group commit and bulk inserts: units that arrive together share one transaction,
each caller returns after its own unit committed, a unit that cannot be stored
fails alone, and rows written in bulk read back exactly as the ORM writes them.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime
import uuid
from collections.abc import Sequence
from uuid import UUID

import pytest

from matching import bulk, db, outbox
from matching.group_commit import WriteUnit
from matching.runtime import Runtime
from matching.subjects import new_subject, read_subject
from matching.tables import ContactRequest, OutboxJob, Subject


class Dispatched:
    def __init__(self) -> None:
        self.calls: list[list[UUID]] = []

    async def __call__(self, job_ids: Sequence[UUID]) -> None:
        self.calls.append(list(job_ids))


def subject_unit(runtime: Runtime, n: int) -> WriteUnit:
    key, row = new_subject(runtime.vault, "candidate", name=f"Kandidaat {n}", email=f"k{n}@x.nl")
    # Jobs alike (actor and arguments) in one transaction are recorded once: these differ.
    job = outbox.job_row("probe", work_seconds=n)
    return WriteUnit(rows=[(Subject, [row])], keys=[key], jobs=[job])


async def test_units_sent_together_share_one_commit_and_all_land(runtime: Runtime) -> None:
    dispatched = Dispatched()
    runtime.dispatch = dispatched
    units = [subject_unit(runtime, n) for n in range(20)]
    await asyncio.gather(*(runtime.group_commit.write(unit) for unit in units))
    await runtime.group_commit.close()  # callers return at the commit; the dispatch follows

    assert len(dispatched.calls) < len(units)  # shared transactions, not one each
    assert sorted(j for call in dispatched.calls for j in call) == sorted(
        u.jobs[0]["id"] for u in units
    )
    for n, unit in enumerate(units):
        person = await read_subject(runtime.vault, unit.keys[0].subject_id)
        assert (person.name, person.email) == (f"Kandidaat {n}", f"k{n}@x.nl")
    assert await OutboxJob.count() == len(units)


async def test_jobs_alike_in_one_transaction_are_recorded_once(runtime: Runtime) -> None:
    dispatched = Dispatched()
    runtime.dispatch = dispatched
    units = [subject_unit(runtime, n) for n in range(6)]
    alike = [WriteUnit(u.rows, u.keys, [outbox.job_row("probe", work_seconds=0)]) for u in units]
    await asyncio.gather(*(runtime.group_commit.write(unit) for unit in alike))
    await runtime.group_commit.close()

    assert len(dispatched.calls) < len(units)  # shared transactions
    assert [len(call) for call in dispatched.calls] == [1] * len(dispatched.calls)
    assert await OutboxJob.count() == len(dispatched.calls)  # one job per transaction
    assert await Subject.count() == len(units)


async def test_a_unit_that_cannot_be_stored_fails_alone(runtime: Runtime) -> None:
    good = [subject_unit(runtime, n) for n in range(3)]
    twin = subject_unit(runtime, 99)
    duplicate = WriteUnit(rows=twin.rows, keys=[], jobs=[])  # the same primary key again
    results = await asyncio.gather(
        *(runtime.group_commit.write(u) for u in (*good, twin, duplicate)),
        return_exceptions=True,
    )
    assert results[:4] == [None, None, None, None]
    assert isinstance(results[4], Exception)
    assert await Subject.count() == 4
    for unit in (*good, twin):
        await read_subject(runtime.vault, unit.keys[0].subject_id)


async def test_a_failed_unit_leaves_no_usable_key_behind(runtime: Runtime) -> None:
    unit = subject_unit(runtime, 1)
    await runtime.group_commit.write(unit)
    again = subject_unit(runtime, 2)
    broken = WriteUnit(rows=[*again.rows, *unit.rows], keys=again.keys, jobs=[])
    with pytest.raises(Exception):  # noqa: B017 (the database's own integrity error)
        await runtime.group_commit.write(broken)
    assert again.keys[0].subject_id not in runtime.vault.cache
    assert await Subject.count() == 1


async def test_a_caller_inside_a_transaction_is_refused(runtime: Runtime) -> None:
    unit = subject_unit(runtime, 1)
    async with db.write_transaction():
        with pytest.raises(RuntimeError, match="inside a transaction"):
            await runtime.group_commit.write(unit)


async def test_bulk_rows_read_back_as_the_orm_writes_them(runtime: Runtime) -> None:
    # Not in UTC: both must store the same instant, in UTC.
    amsterdam = datetime.timezone(datetime.timedelta(hours=1))
    now = datetime.datetime(2026, 11, 29, 13, 30, 15, 123456, tzinfo=amsterdam)
    by_orm, in_bulk = uuid.uuid4(), uuid.uuid4()
    values = {
        "candidate_id": uuid.uuid4(),
        "status": "pending",
        "topics": ["loopbaan", "burn-out"],
        "province": None,
        "motivation": b"\x00\xffbytes",
        "token_hash": "",
        "created_at": now,
    }
    async with db.write_transaction():
        await ContactRequest.insert(ContactRequest(id=by_orm, **{**values, "token_hash": "a" * 64}))
        await bulk.insert(ContactRequest, [{"id": in_bulk, **values, "token_hash": "b" * 64}])
    rows = await ContactRequest.select().order_by(ContactRequest.token_hash).output(load_json=True)
    orm, fast = ({k: v for k, v in row.items() if k not in ("id", "token_hash")} for row in rows)
    assert orm == fast
    assert fast["topics"] == ["loopbaan", "burn-out"] and fast["created_at"] == now
    assert fast["language"] == "nl" and fast["draft"] is None  # the columns' defaults
    stored = await ContactRequest.raw(
        "SELECT candidate_id, created_at, topics FROM contact_request ORDER BY token_hash"
    )
    assert stored[0] == stored[1]  # the very same text in the database, not only when read


async def test_jobs_written_claimed_are_sent_without_a_second_transaction(
    runtime: Runtime,
) -> None:
    sent: list[outbox.Job] = []

    async def send_claimed(jobs: Sequence[outbox.Job]) -> None:
        sent.extend(jobs)

    dispatched = Dispatched()
    runtime.dispatch = dispatched
    runtime.send_claimed = send_claimed
    units = [subject_unit(runtime, n) for n in range(5)]
    before = datetime.datetime.now(datetime.UTC)
    await asyncio.gather(*(runtime.group_commit.write(unit) for unit in units))
    await runtime.group_commit.close()  # callers return at the commit; the send follows

    assert dispatched.calls == []
    assert sorted(job.id for job in sent) == sorted(u.jobs[0]["id"] for u in units)
    assert sorted((job.actor, job.args["work_seconds"]) for job in sent) == [
        ("probe", n) for n in range(5)
    ]
    rows = await OutboxJob.select(OutboxJob.sent_at)
    assert len(rows) == 5 and all(row["sent_at"] >= before for row in rows)  # leased
    # A lease taken at the write: a sender racing for them finds nothing to claim.
    cutoff = outbox.lease_cutoff(60)
    assert await outbox.claim_for_send([job.id for job in sent], cutoff) == []


async def test_a_failed_send_of_claimed_jobs_leaves_them_to_the_next_sweep(
    runtime: Runtime,
) -> None:
    async def broken(jobs: Sequence[outbox.Job]) -> None:
        raise RuntimeError("the broker's host stopped meanwhile")

    runtime.send_claimed = broken
    unit = subject_unit(runtime, 1)
    await runtime.group_commit.write(unit)  # the write itself succeeded
    await runtime.group_commit.close()  # callers return at the commit; the send follows

    assert await OutboxJob.count() == 1
    # The lease is undone: the next sweep sends it at once, not after the lease.
    assert await outbox.due_for_resend(outbox.lease_cutoff(60), 10) == [unit.jobs[0]["id"]]
