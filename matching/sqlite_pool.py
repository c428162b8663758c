"""SQLite with reused connections for statements outside a transaction.

Piccolo's SQLite engine opens a new connection, and with it a new thread, for
every statement run outside a transaction. Under load (two hundred coaches
accepting at once) starting those threads costs more than the statements. This
engine keeps a few connections per event loop instead: :meth:`open_pool` (called
by :func:`matching.db.start`) enables them on the running loop, :meth:`close_pool`
closes them. On a loop without a pool it behaves exactly like piccolo's engine,
so nothing leaves a connection thread running behind.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.table import Table

POOL_SIZE = 8


class _Pool:
    def __init__(self, size: int) -> None:
        self.size = size
        self.idle: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self.opened: list[aiosqlite.Connection] = []


class PooledSQLiteEngine(SQLiteEngine):
    def __init__(self, *args: Any, pool_size: int = POOL_SIZE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pool_size = pool_size
        self._pools: dict[asyncio.AbstractEventLoop, _Pool] = {}

    async def open_pool(self) -> None:
        self._pools.setdefault(asyncio.get_running_loop(), _Pool(self._pool_size))

    async def close_pool(self) -> None:
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            for connection in pool.opened:
                await connection.close()

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ) -> Any:
        pool = self._pools.get(asyncio.get_running_loop())
        if pool is None:
            return await super()._run_in_new_connection(query, args, query_type, table)
        connection = await self._acquire(pool)
        try:
            async with connection.execute(query, args or []) as cursor:
                await connection.commit()
                rows = await cursor.fetchall()
        except BaseException:
            # A connection in an unknown state is not handed out again; shielded, so a
            # cancelled query still closes its connection (and stops its thread).
            pool.opened.remove(connection)
            await asyncio.shield(connection.close())
            raise
        pool.idle.put_nowait(connection)
        return rows

    async def _acquire(self, pool: _Pool) -> aiosqlite.Connection:
        if pool.idle.empty() and len(pool.opened) < pool.size:
            connection = await self.get_connection()
            pool.opened.append(connection)
            return connection
        return await pool.idle.get()

    async def get_connection(self) -> aiosqlite.Connection:
        """A connection set up once: foreign keys on, and WAL's ``synchronous=NORMAL``
        (a per-connection setting: without it every commit waits for an fsync)."""
        connection = await super().get_connection()
        await connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    async def _run_in_existing_connection(
        self,
        connection: aiosqlite.Connection,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: type[Table] | None = None,
    ) -> Any:
        # Piccolo repeats "PRAGMA foreign_keys = 1" before every statement of a
        # transaction; get_connection() has set it for the connection's whole life.
        async with connection.execute(query, args or []) as cursor:
            return await cursor.fetchall()
