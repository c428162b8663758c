"""SQLite on the event loop's thread: a writer held up by another process waits without
blocking the loop, gives up after the busy timeout, and a connection in an unknown
state is never handed out again."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from matching import db
from matching.sqlite_pool import PooledSQLiteEngine
from matching.tables import WorkerHeartbeat


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[PooledSQLiteEngine]:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'pool.sqlite3'}")
    assert isinstance(engine, PooledSQLiteEngine)
    db.bind(engine)
    await db.start(engine)
    await db.migrate()
    yield engine
    await db.stop(engine)


def other_process_writer(engine: PooledSQLiteEngine) -> sqlite3.Connection:
    """A second connection that takes SQLite's write lock, as another process would."""
    other = sqlite3.connect(engine.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


async def beat(worker: str) -> None:
    await WorkerHeartbeat.insert(WorkerHeartbeat(worker_id=worker, mode="embedded"))


async def test_a_held_up_write_waits_without_blocking_the_loop(
    engine: PooledSQLiteEngine,
) -> None:
    other = other_process_writer(engine)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    clock = asyncio.create_task(ticker())
    write = asyncio.create_task(beat("w1"))
    await asyncio.sleep(0.2)
    assert not write.done() and ticks >= 10  # waiting, and the loop kept running
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(write, timeout=2)
    clock.cancel()
    assert await WorkerHeartbeat.count() == 1


def short_busy_timeout(engine: PooledSQLiteEngine, seconds: float) -> None:
    """Every connection of the pool, and every one opened later, gives up this soon."""
    pool = engine._pools[asyncio.get_running_loop()]
    engine.connection_kwargs["timeout"] = seconds
    for connection in pool.opened:
        connection._busy_timeout = seconds


async def test_a_write_held_up_past_the_busy_timeout_fails_clearly(
    engine: PooledSQLiteEngine,
) -> None:
    await beat("warm")  # a pooled connection exists
    short_busy_timeout(engine, 0.1)
    other = other_process_writer(engine)
    started = time.monotonic()
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await beat("w2")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert 0.1 <= time.monotonic() - started < 2
    assert await WorkerHeartbeat.count() == 1


async def test_a_failed_transaction_does_not_return_its_connection(
    engine: PooledSQLiteEngine,
) -> None:
    with pytest.raises(ZeroDivisionError):
        async with db.write_transaction():
            await beat("w3")
            1 / 0  # noqa: B018
    assert await WorkerHeartbeat.count() == 0  # rolled back
    async with db.write_transaction():
        await beat("w4")
    assert await WorkerHeartbeat.count() == 1
    pool = engine._pools[asyncio.get_running_loop()]
    assert all(not c.in_transaction for c in pool.opened)


async def test_writes_of_one_process_queue_instead_of_busy_waiting(
    engine: PooledSQLiteEngine,
) -> None:
    async def slow_writer(n: int) -> None:
        async with db.write_transaction():
            await beat(f"slow{n}")
            await asyncio.sleep(0.02)  # holds the write lock across an await

    started = time.monotonic()
    await asyncio.gather(*(slow_writer(n) for n in range(5)), *(beat(f"fast{n}") for n in range(5)))
    assert await WorkerHeartbeat.count() == 10
    assert time.monotonic() - started < 1


async def test_transactions_that_cannot_begin_leave_the_pool_whole(
    engine: PooledSQLiteEngine,
) -> None:
    pool = engine._pools[asyncio.get_running_loop()]
    for connection in [await engine.borrow() for _ in range(pool.size)]:
        engine.give_back(connection, healthy=True)
    short_busy_timeout(engine, 0.01)
    other = other_process_writer(engine)
    try:
        for _ in range(pool.size + 2):  # more failures than the pool has connections
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                async with db.write_transaction():
                    pass
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert len(pool.opened) == pool.size
    await asyncio.wait_for(beat("after"), timeout=2)  # nobody waits for a lost connection
    assert await WorkerHeartbeat.count() == 1


async def test_pooled_connections_leave_checkpoints_to_a_thread(
    engine: PooledSQLiteEngine,
) -> None:
    connection = await engine.borrow()
    try:
        [row] = await connection.execute_fetchall("PRAGMA wal_autocheckpoint")
    finally:
        engine.give_back(connection, healthy=True)
    assert list(row.values()) == [0]
    checkpointer = engine.checkpointer
    assert checkpointer is not None
    for n in range(200):
        await beat(f"worker-{n}")
    deadline = time.monotonic() + 10
    while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert checkpointer.checkpoints > 0
    await db.stop(engine)
    assert engine.checkpointer is None and not checkpointer.running
    await db.start(engine)  # the fixture stops it again


async def test_connections_without_a_pool_checkpoint_by_themselves(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'plain.sqlite3'}")
    assert isinstance(engine, PooledSQLiteEngine)
    connection = await engine.get_connection()
    try:
        [row] = await connection.execute_fetchall("PRAGMA wal_autocheckpoint")
    finally:
        connection.close()
    assert list(row.values()) == [1000]
    assert engine.checkpointer is None


@pytest.mark.parametrize(("durable", "level"), [(True, 1), (False, 0)])
async def test_a_scratch_database_never_waits_for_the_disk(
    tmp_path: Path, durable: bool, level: int
) -> None:
    """NORMAL (1) for the live database; OFF (0) for a restore's staging copy, which
    is checkpointed once, when it closes, not by a thread meanwhile."""
    path = tmp_path / "scratch.sqlite3"
    engine = db.make_engine(f"sqlite:///{path}", durable=durable)
    assert isinstance(engine, PooledSQLiteEngine)
    db.bind(engine)
    await db.start(engine)
    try:
        await db.migrate()
        connection = await engine.borrow()
        try:
            [synchronous] = await connection.execute_fetchall("PRAGMA synchronous")
            [autocheckpoint] = await connection.execute_fetchall("PRAGMA wal_autocheckpoint")
        finally:
            engine.give_back(connection, healthy=True)
        assert list(synchronous.values()) == [level]
        assert list(autocheckpoint.values()) == [0]
        assert (engine.checkpointer is not None) is durable
        for n in range(50):
            await beat(f"worker-{n}")
    finally:
        await db.stop(engine)
    assert not path.with_name(path.name + "-wal").exists()  # checkpointed on close
