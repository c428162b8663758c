"""SQLite on the event loop's own thread, with reused connections, one writer at a time.

Piccolo's SQLite engine runs every statement through aiosqlite, which hands it to
a thread of its connection and waits for the answer; it also opens a new
connection (and thread) for every statement outside a transaction and for every
transaction. On a small virtual machine one such hand-over costs about 200 µs,
where a typical statement of this application (a primary-key lookup, a short
insert) takes 2 to 20 µs in SQLite itself: the hand-overs, not the statements,
bounded how many requests a second the site could store. This engine runs the
statements directly on the event loop's thread (:class:`InlineConnection`) and
keeps a few connections per loop: :meth:`open_pool` (called by
:func:`matching.db.start`) enables them on the running loop, :meth:`close_pool`
closes them. On a loop without a pool every statement or transaction gets a
connection of its own, closed after it.

Blocking the loop is bounded: in WAL mode readers never wait, and a writer waits
only for another writer. The connections do not busy-wait inside SQLite (their
timeout is zero); a statement SQLite refuses as busy is retried after an
``asyncio.sleep``, so the loop serves other requests meanwhile, until the busy
timeout has passed. Long reads (the coach feed's ten milliseconds at 100,000 open
requests) do hold the loop for their duration.

SQLite allows one writer at a time. Writers of one process queue on the engine's
:meth:`writer_lock` (a transaction opened with ``BEGIN IMMEDIATE`` through
:func:`matching.db.write_transaction`, and every write statement run outside a
transaction): SQLite's own busy-wait backs off in sleeps of up to 100 ms, where
an asyncio queue hands over at once. Other processes (the command line, external
workers) still meet the busy timeout.

While a pool is open, its connections leave WAL checkpoints to a thread of the
engine (:mod:`matching.sqlite_checkpoint`): a checkpoint waits for the disk, and
on the loop's thread it held every request in flight.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import weakref
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar

from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory
from piccolo.table import Table

from matching.sqlite_checkpoint import Checkpointer

T = TypeVar("T")
POOL_SIZE = 8
CONNECTION_PRAGMAS = (
    "PRAGMA foreign_keys = 1",
    "PRAGMA cache_size = -8000",  # KiB per connection: the hot indexes stay in memory
)
#: WAL's ``NORMAL``: commits never wait for an fsync, checkpoints do.
DURABLE = "PRAGMA synchronous = NORMAL"
#: A scratch database (a restore's staging copy) is thrown away if the machine stops:
#: no fsync at all.
SCRATCH = "PRAGMA synchronous = OFF"
#: Pooled connections leave checkpoints to the engine's Checkpointer thread (a scratch
#: database's: to its close).
POOLED_PRAGMAS = ("PRAGMA wal_autocheckpoint = 0",)
_READS = ("select", "pragma", "explain")
#: The first wait after SQLite answered "busy", doubled up to the longest wait.
FIRST_BUSY_WAIT = 0.001
LONGEST_BUSY_WAIT = 0.05


class InlineConnection:
    """A ``sqlite3`` connection used on the event loop's thread, with the part of
    aiosqlite's interface piccolo's transactions use (``execute``, ``close``)."""

    def __init__(self, connection: sqlite3.Connection, busy_timeout: float) -> None:
        self._connection = connection
        self._busy_timeout = busy_timeout

    @property
    def in_transaction(self) -> bool:
        return self._connection.in_transaction

    async def execute_fetchall(self, query: str, args: Sequence[Any] = ()) -> list[Any]:
        return await self._unless_busy(lambda: self._connection.execute(query, args).fetchall())

    async def execute_many(self, query: str, rows: Sequence[Sequence[Any]]) -> None:
        await self._unless_busy(lambda: self._connection.executemany(query, rows))

    async def _unless_busy(self, statement: Callable[[], T]) -> T:
        deadline: float | None = None
        wait = FIRST_BUSY_WAIT
        while True:
            try:
                return statement()
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
                deadline = deadline or time.monotonic() + self._busy_timeout
                if time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(wait)
            wait = min(wait * 2, LONGEST_BUSY_WAIT)

    async def execute(self, query: str, args: Sequence[Any] = ()) -> list[Any]:
        return await self.execute_fetchall(query, args)

    def close(self) -> None:
        self._connection.close()


class _Pool:
    def __init__(self, size: int) -> None:
        self.size = size
        # Last in, first out: the connection used last has the warmest page cache.
        self.idle: asyncio.LifoQueue[InlineConnection] = asyncio.LifoQueue()
        self.opened: list[InlineConnection] = []


class PooledSQLiteEngine(SQLiteEngine):
    def __init__(
        self, *args: Any, pool_size: int = POOL_SIZE, durable: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._pool_size = pool_size
        self._synchronous = DURABLE if durable else SCRATCH
        # A scratch database is checkpointed once, when it closes: checkpoints in the
        # meantime would only compete for the CPU with the work done in it.
        self._checkpoints_in_background = durable
        self._pools: dict[asyncio.AbstractEventLoop, _Pool] = {}
        self._checkpointer: Checkpointer | None = None
        # asyncio locks belong to a loop: one per loop that writes.
        self._writer_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    async def open_pool(self) -> None:
        self._pools.setdefault(asyncio.get_running_loop(), _Pool(self._pool_size))
        if self._checkpointer is None and self._checkpoints_in_background and self._on_disk():
            self._checkpointer = Checkpointer(str(self.connection_kwargs["database"]))
            self._checkpointer.start()

    async def close_pool(self) -> None:
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            for connection in pool.opened:
                connection.close()
        if not self._pools and self._checkpointer is not None:
            checkpointer, self._checkpointer = self._checkpointer, None
            await asyncio.to_thread(checkpointer.stop)

    @property
    def checkpointer(self) -> Checkpointer | None:
        """The thread that checkpoints the WAL while a pool is open."""
        return self._checkpointer

    def _on_disk(self) -> bool:
        database = str(self.connection_kwargs.get("database", ""))
        return bool(database) and database != ":memory:" and not database.startswith("file:")

    def writer_lock(self) -> asyncio.Lock:
        """The queue of this process's writers on the running loop."""
        loop = asyncio.get_running_loop()
        lock = self._writer_locks.get(loop)
        if lock is None:
            lock = self._writer_locks[loop] = asyncio.Lock()
        return lock

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        return _PooledTransaction(self, transaction_type, allow_nested)

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ) -> Any:
        if query.lstrip()[:7].lower().startswith(_READS):
            return await self._autocommit(query, args or [])
        async with self.writer_lock():
            return await self._autocommit(query, args or [])

    async def run_sql(self, query: str, args: Sequence[Any]) -> list[dict[str, Any]]:
        """A statement with ``?`` placeholders: in the current transaction if there is
        one, else on its own (a write queues on the writer lock)."""
        transaction = self.current_transaction.get()
        if transaction is not None:
            rows: list[dict[str, Any]] = await transaction.connection.execute_fetchall(
                query, list(args)
            )
            return rows
        result: list[dict[str, Any]] = await self._run_in_new_connection(query, list(args))
        return result

    async def _autocommit(self, query: str, args: list[Any]) -> Any:
        connection = await self.borrow()
        healthy = False
        try:
            rows = await connection.execute_fetchall(query, args)
            healthy = True
        finally:
            self.give_back(connection, healthy=healthy)
        return rows

    async def _run_in_existing_connection(
        self,
        connection: InlineConnection,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ) -> Any:
        # Piccolo repeats "PRAGMA foreign_keys = 1" before every statement of a
        # transaction; get_connection() has set it for the connection's whole life.
        return await connection.execute_fetchall(query, args or [])

    async def borrow(self) -> InlineConnection:
        """A connection of the running loop's pool (a new one where there is no pool)."""
        pool = self._pools.get(asyncio.get_running_loop())
        if pool is None:
            return await self.get_connection()
        if pool.idle.empty() and len(pool.opened) < pool.size:
            connection = await self.get_connection()
            pool.opened.append(connection)
            return connection
        return await pool.idle.get()

    def give_back(self, connection: InlineConnection, *, healthy: bool) -> None:
        """Return a borrowed connection. One in an unknown state (an error, a transaction
        left open) is closed instead, and a fresh one takes its place in the pool, so a
        task already waiting for a connection is not left waiting."""
        pool = self._pools.get(asyncio.get_running_loop())
        pooled = pool is not None and connection in pool.opened
        if pool is not None and pooled and healthy and not connection.in_transaction:
            pool.idle.put_nowait(connection)
            return
        connection.close()
        if pool is not None and pooled:
            pool.opened.remove(connection)
            try:
                fresh = self._connect()
            except sqlite3.Error:
                return  # the next borrower opens one (and meets the error itself)
            pool.opened.append(fresh)
            pool.idle.put_nowait(fresh)

    async def get_connection(self) -> InlineConnection:  # type: ignore[override]
        return self._connect()

    def _connect(self) -> InlineConnection:
        """A connection set up once: foreign keys on, WAL's ``synchronous=NORMAL`` (a
        per-connection setting: without it every commit waits for an fsync; ``OFF``
        for a scratch database), rows as
        dicts, and no busy-wait inside SQLite (see :class:`InlineConnection`)."""
        kwargs = {**self.connection_kwargs}
        busy_timeout = float(kwargs.pop("timeout", 5.0))
        connection = sqlite3.connect(**kwargs, timeout=0)
        connection.row_factory = dict_factory
        no_autocheckpoint = self._checkpointer or not self._checkpoints_in_background
        pragmas = (
            *CONNECTION_PRAGMAS,
            self._synchronous,
            *(POOLED_PRAGMAS if no_autocheckpoint else ()),
        )
        for pragma in pragmas:
            connection.execute(pragma)
        return InlineConnection(connection, busy_timeout)


def is_busy(exc: BaseException) -> bool:
    """Whether SQLite refused because another connection holds the lock."""
    return (
        isinstance(exc, sqlite3.OperationalError)
        and exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
    )


class _PooledTransaction(SQLiteTransaction):
    """Piccolo's transaction on a borrowed connection, given back (not closed) after."""

    __slots__ = ()
    engine: PooledSQLiteEngine

    async def get_connection(self) -> InlineConnection:
        return await self.engine.borrow()

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        self.connection = await self.get_connection()
        try:
            await self.begin()
        except BaseException:  # busy past the timeout, or cancelled while waiting
            self.engine.give_back(self.connection, healthy=False)
            raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(
        self,
        exception_type: type[BaseException] | None,
        exception: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        if self._parent:
            return exception is None
        healthy = False
        try:
            self.engine.current_transaction.reset(self.context)
            if exception is not None:
                # SQLite may have rolled back by itself already (disk full, I/O error).
                if not self._rolled_back and self.connection.in_transaction:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
            healthy = True
        finally:
            self.engine.give_back(self.connection, healthy=healthy)
        return exception is None
