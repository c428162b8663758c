"""The relay: jobs written already leased go to the broker in one hand-over; a job the
broker refuses is released for the sweeper, the others still go; an unknown actor
fails for good. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from dramatiq.broker import MessageProxy
from dramatiq.brokers.stub import StubBroker
from dramatiq.message import Message

from matching import db, outbox
from matching.runtime import Runtime
from matching.tables import OutboxJob
from workers.actors import ACTOR_NAMES
from workers.broker import middleware
from workers.local_queue import LocalQueue
from workers.relay import Relay


class Refusing(StubBroker):
    """A broker that refuses the messages of some jobs."""

    def __init__(self, refused: set[str]) -> None:
        super().__init__(middleware=middleware())
        self.refused = refused

    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        if message.args[0] in self.refused:
            raise ConnectionError("the broker is away")
        return super().enqueue(message, delay=delay)


@pytest.fixture
def relay(runtime: Runtime) -> Iterator[Relay]:
    relay = Relay(
        Refusing(set()),
        queue_name=runtime.settings.job_queue,
        lease_seconds=30,
        actor_names=ACTOR_NAMES,
    )
    yield relay
    relay.close()


async def _written_claimed(*actors: str) -> list[outbox.Job]:
    rows = outbox.claimed([outbox.job_row(actor, work_seconds=0) for actor in actors])
    async with db.write_transaction():
        await outbox.enqueue_rows(rows)
    return [outbox.job_of(row) for row in rows]


def _queued(relay: Relay) -> list[str]:
    queue = relay.broker.queues[relay.queue_name]  # type: ignore[attr-defined]
    return [Message.decode(queue.get_nowait()).args[0] for _ in range(queue.qsize())]


async def test_claimed_jobs_are_sent_with_their_id_only(runtime: Runtime, relay: Relay) -> None:
    jobs = await _written_claimed("probe", "probe", "probe")
    await relay.send_claimed(jobs)
    assert sorted(_queued(relay)) == sorted(str(job.id) for job in jobs)
    rows = await OutboxJob.select(OutboxJob.sent_at)
    assert all(row["sent_at"] is not None for row in rows)


async def test_a_refused_job_is_released_and_the_others_still_go(
    runtime: Runtime, relay: Relay
) -> None:
    jobs = await _written_claimed("probe", "probe", "probe")
    relay.broker.refused.add(str(jobs[1].id))  # type: ignore[attr-defined]
    await relay.send_claimed(jobs)

    assert sorted(_queued(relay)) == sorted(str(jobs[i].id) for i in (0, 2))
    [refused] = await OutboxJob.select(OutboxJob.sent_at).where(OutboxJob.id == jobs[1].id)
    assert refused["sent_at"] is None  # the next sweep sends it at once
    assert await outbox.due_for_resend(outbox.lease_cutoff(30), 10) == [jobs[1].id]


async def test_a_job_of_no_known_actor_fails_for_good(runtime: Runtime, relay: Relay) -> None:
    [job] = await _written_claimed("no_such_actor")
    await relay.send_claimed([job])
    assert _queued(relay) == []
    state = await outbox.job_state(job.id)
    assert state is not None and state.failed


async def test_jobs_are_released_when_the_broker_thread_is_gone(
    runtime: Runtime, relay: Relay
) -> None:
    jobs = await _written_claimed("probe", "probe")
    relay.close()  # a host stopping while a batch was being written
    await relay.send_claimed(jobs)
    assert sorted(await outbox.due_for_resend(outbox.lease_cutoff(30), 10)) == sorted(
        job.id for job in jobs
    )


@pytest.fixture
def local_relay(runtime: Runtime) -> Iterator[Relay]:
    """An embedded worker's relay: its broker counts the messages of its own queue."""
    local_queue = LocalQueue()
    relay = Relay(
        StubBroker(middleware=[*middleware(), local_queue]),
        queue_name=runtime.settings.job_queue,
        lease_seconds=30,
        actor_names=ACTOR_NAMES,
        local_queue=local_queue,
    )
    yield relay
    relay.close()


def _take(relay: Relay) -> None:
    """A worker takes the next message (as dramatiq's worker announces it)."""
    queue = relay.broker.queues[relay.queue_name]  # type: ignore[attr-defined]
    message = MessageProxy(Message.decode(queue.get_nowait()))
    relay.broker.emit_before("process_message", message)


async def test_a_job_still_queued_here_is_leased_again_not_sent_again(
    runtime: Runtime, local_relay: Relay
) -> None:
    [job] = await _written_claimed("probe")
    await local_relay.send_claimed([job])
    assert local_relay.local_queue is not None and local_relay.local_queue.holds(job.id)

    now = datetime.datetime.now(datetime.UTC)
    assert await local_relay.sweep(sent_before=now) == 0  # its lease ran out meanwhile
    assert _waiting(local_relay) == 1  # once, not twice
    [row] = await OutboxJob.select(OutboxJob.sent_at)
    assert row["sent_at"] >= now  # leased again

    await local_relay.send_claimed([job])
    _take(local_relay)
    assert local_relay.local_queue.holds(job.id)  # a second message still waits
    _take(local_relay)
    assert not local_relay.local_queue.holds(job.id)
    # Taken and its worker lost: when the lease runs out, the sweeper sends it again.
    later = datetime.datetime.now(datetime.UTC)
    assert await local_relay.sweep(sent_before=later) == 1
    assert _queued(local_relay) == [str(job.id)]


def _waiting(relay: Relay) -> int:
    return int(relay.broker.queues[relay.queue_name].qsize())  # type: ignore[attr-defined]


def test_a_message_waiting_for_its_retry_delay_is_not_counted_as_queued() -> None:
    local_queue = LocalQueue()
    broker = StubBroker(middleware=[local_queue])
    broker.declare_queue("q")
    job_id = uuid.uuid4()
    message: Message[Any] = Message(
        queue_name="q", actor_name="probe", args=(str(job_id),), kwargs={}, options={}
    )
    broker.enqueue(message, delay=60_000)
    assert not local_queue.holds(job_id)
    broker.enqueue(message)
    assert local_queue.holds(job_id)
