"""Engines for SQLite and PostgreSQL, binding them to the tables, and migrations.

SQLite runs in WAL mode with a busy timeout. A transaction that reads before it
writes must be opened with :func:`write_transaction`: on SQLite it is
``BEGIN IMMEDIATE`` (a deferred one fails with "database is locked" when two
writers upgrade their read locks at once).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from uuid import UUID

from piccolo.apps.migrations.commands.forwards import ForwardsMigrationManager
from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.table import Table

from matching import piccolo_conf
from matching.errors import ConfigurationError
from matching.sqlite_pool import PooledSQLiteEngine
from matching.tables import TABLES

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_SECONDS = 30.0


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///path`` URL."""
    return Path(unquote(url[len("sqlite:///") :])).expanduser()


def make_engine(database_url: str, *, durable: bool = True) -> Engine:
    """Build (but do not connect) the engine for a database URL.

    ``durable=False`` is for a SQLite scratch copy that is thrown away unless it is
    finished (a restore's staging database): it never waits for the disk.
    """
    scheme = urlsplit(database_url).scheme
    if scheme == "sqlite":
        path = sqlite_path(database_url)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _enable_wal(path)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigurationError(f"cannot open the SQLite database: {exc}") from None
        return PooledSQLiteEngine(
            path=str(path), timeout=SQLITE_BUSY_TIMEOUT_SECONDS, durable=durable
        )
    if scheme in {"postgres", "postgresql"}:
        return PostgresEngine(config={"dsn": database_url})
    raise ConfigurationError("COACHMATCH_DATABASE_URL must start with sqlite:/// or postgresql://")


def _enable_wal(path: Path) -> None:
    # journal_mode=WAL is persistent in the file; set it once, before piccolo connects.
    conn = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_SECONDS)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    finally:
        conn.close()


def bind(engine: Engine) -> None:
    """Point piccolo (tables and migrations) at ``engine``."""
    # Piccolo's migration runner finds its engine only through this variable; it
    # names a module, holds no setting, and our module takes DB from us.
    os.environ["PICCOLO_CONF"] = "matching.piccolo_conf"
    piccolo_conf.DB = engine
    tables: tuple[type[Table], ...] = (*TABLES, Migration)
    for table in tables:
        table._meta.db = engine


def current_engine() -> Engine:
    engine = piccolo_conf.DB
    if engine is None:
        raise ConfigurationError("the database is not configured")
    return engine


async def fetch(table: type[Table], query: str, *args: Any) -> list[dict[str, Any]]:
    """The rows of one raw read (``{}`` placeholders), as ``table.raw`` returns them.

    For the statements that run before or inside every request (session, account,
    accept pre-check): on SQLite the statement goes straight to the connection,
    skipping piccolo's query building, which costs several times what SQLite needs
    to answer. Piccolo's adapters and converters (registered with ``sqlite3``) make
    the rows equal to what ``Table.raw`` returns.
    """
    engine = current_engine()
    if isinstance(engine, PooledSQLiteEngine):
        return await engine.run_sql(query.replace("{}", "?"), args)
    rows: list[dict[str, Any]] = await table.raw(query, *args)
    return rows


async def for_ids(
    table: type[Table], sql: str, ids: Sequence[Any], *params: Any
) -> list[dict[str, Any]]:
    """One statement over many ids, e.g. ``DELETE FROM offer WHERE request_id {ids}
    RETURNING request_id``: ``{ids}`` becomes ``IN (?, ...)`` on SQLite and
    ``= ANY($n)`` on PostgreSQL. Other values (``params``) go in ``{}`` placeholders,
    all of them before ``{ids}`` in the statement. In the current transaction, if any.

    For erasing thousands of subjects at once (retention, the replay of a restore):
    piccolo checks and converts every value of an ``is_in`` list in Python, which
    costs more than the statement itself.
    """
    if not ids:
        return []
    engine = current_engine()
    if isinstance(engine, PooledSQLiteEngine):
        marks = "IN (" + ", ".join("?" * len(ids)) + ")"
        return await engine.run_sql(sql.replace("{}", "?").replace("{ids}", marks), [*params, *ids])
    query = sql.replace("{ids}", "= ANY({})")
    rows: list[dict[str, Any]] = await table.raw(query, *params, list(ids))
    return rows


class IdParams:
    """Ids converted once to the text every statement of a batch takes (SQLite stores
    it; asyncpg accepts it for ``uuid``), and back from a :func:`text_of` column:
    thousands of ``UUID`` conversions per statement cost more than SQLite's work."""

    def __init__(self, ids: Iterable[UUID]) -> None:
        self._by_text = {str(value): value for value in ids}
        self.params = list(self._by_text)

    def __getitem__(self, text: str) -> UUID:
        return self._by_text[text]


def text_of(column: str) -> str:
    """A UUID column read as its text (``RETURNING``, ``SELECT``), for :class:`IdParams`."""
    return f"CAST({column} AS TEXT) AS {column}"


def as_uuid(value: Any) -> UUID:
    """A UUID column's value as read (a ``UUID``, or its text from a raw statement)."""
    return value if isinstance(value, UUID) else UUID(str(value))


def is_unique_violation(exc: BaseException) -> bool:
    """Whether a statement failed because a row with that key exists already."""
    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE constraint failed" in str(exc)
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg comes with piccolo[postgres]
        return False
    return isinstance(exc, asyncpg.UniqueViolationError)


def is_integrity_error(exc: BaseException) -> bool:
    """Whether a statement failed because of what it stores (a key, a constraint, a
    value of the wrong kind), not because of the database's state."""
    if isinstance(exc, sqlite3.IntegrityError | sqlite3.DataError):
        return True
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg comes with piccolo[postgres]
        return False
    return isinstance(exc, asyncpg.IntegrityConstraintViolationError | asyncpg.DataError)


def is_sqlite(engine: Engine | None = None) -> bool:
    return isinstance(engine or current_engine(), SQLiteEngine)


@contextlib.asynccontextmanager
async def write_transaction(engine: Engine | None = None) -> AsyncIterator[Any]:
    """A transaction for read-then-write work.

    On SQLite it is ``BEGIN IMMEDIATE``, and writers of one process queue on an
    asyncio lock first: SQLite allows one writer at a time anyway, and its
    busy-wait backs off in steps of up to 100 ms, where a queue hands over at
    once. An inner call joins the outer transaction.
    """
    engine = engine or current_engine()
    if engine.transaction_exists():
        yield engine.current_transaction.get()
        return
    if isinstance(engine, PooledSQLiteEngine):
        immediate = engine.transaction(transaction_type=TransactionType.immediate)
        async with engine.writer_lock(), immediate as txn:
            yield txn
        return
    async with engine.transaction() as txn:
        yield txn


async def migrate() -> None:
    """Bring the schema up to date. Safe to run again."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        result = await ForwardsMigrationManager(app_name="matching").run()
    for line in output.getvalue().splitlines():
        if line.strip():
            log.info("migrate: %s", line.strip())
    if not result.success:
        raise ConfigurationError(f"migration failed: {result.message}")


async def schema_version() -> str:
    """The name of the last migration applied (backups record it in their manifest)."""
    rows = (
        await Migration.select(Migration.name)
        .where(Migration.app_name == "matching")
        .order_by(Migration._meta.primary_key, ascending=False)
        .limit(1)
    )
    return str(rows[0]["name"]) if rows else "none"


async def start(engine: Engine) -> None:
    """Open the connection pool (on SQLite: for the running event loop)."""
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=1, max_size=20)
    elif isinstance(engine, PooledSQLiteEngine):
        await engine.open_pool()


async def stop(engine: Engine) -> None:
    if isinstance(engine, PooledSQLiteEngine):
        await engine.close_pool()
    if isinstance(engine, PostgresEngine):
        with contextlib.suppress(Exception):
            await engine.close_connection_pool()
