"""Shared fixtures: settings in a temporary data folder and real databases.

``database`` runs a test on SQLite and, when ``COACHMATCH_TEST_POSTGRES_URL`` is
set, on PostgreSQL too (a fresh database per test session, tables truncated
between tests). Without the URL the PostgreSQL variant is skipped with a reason.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from piccolo.engine.base import Engine

from matching import db
from matching.config import Settings
from matching.tables import TABLES

POSTGRES_URL = os.environ.get("COACHMATCH_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("COACHMATCH_TEST_REDIS_URL", "")
RABBITMQ_URL = os.environ.get("COACHMATCH_TEST_RABBITMQ_URL", "")

requires_postgres = pytest.mark.skipif(
    not POSTGRES_URL, reason="set COACHMATCH_TEST_POSTGRES_URL to run PostgreSQL tests"
)
requires_redis = pytest.mark.skipif(
    not REDIS_URL, reason="set COACHMATCH_TEST_REDIS_URL to run Redis tests"
)
requires_rabbitmq = pytest.mark.skipif(
    not RABBITMQ_URL, reason="set COACHMATCH_TEST_RABBITMQ_URL to run RabbitMQ tests"
)


def run_in_new_loop(coro: object) -> object:
    """Run a coroutine to completion from sync code, even inside a running loop."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()  # type: ignore[arg-type]


# deduce's lookup cache takes seconds to build: every test shares one (built atomically).
SHARED_ANONYMISER_CACHE = Path(tempfile.gettempdir()) / "coachmatch-test-anonymiser-cache"


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    environ = {"COACHMATCH_DATA_DIR": str(data_dir)}
    settings = Settings.from_environ(environ)
    overrides.setdefault("cache_dir", SHARED_ANONYMISER_CACHE)
    # In a thread: a process per test's runtime would cost a second to start.
    overrides.setdefault("anonymiser_processes", 0)
    # Periodic tasks would queue jobs (a backup, a retention run) in every test that
    # starts workers; the scheduler's own tests switch it on.
    overrides.setdefault("scheduler", False)
    return Settings(**{**settings.__dict__, **overrides})  # type: ignore[arg-type]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("set COACHMATCH_TEST_POSTGRES_URL to run PostgreSQL tests")
    import asyncpg

    name = f"coachmatch_test_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(POSTGRES_URL)

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    run_in_new_loop(admin(f'CREATE DATABASE "{name}"'))
    url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))
    engine = db.make_engine(url)
    db.bind(engine)
    run_in_new_loop(db.migrate())
    yield url
    run_in_new_loop(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate_postgres() -> None:
    names = ", ".join(t._meta.tablename for t in TABLES)
    engine = db.current_engine()
    async with engine.transaction():
        # The audit log refuses TRUNCATE unless the transaction declares maintenance.
        await engine.run_ddl("SELECT set_config('coachmatch.audit_maintenance', 'on', true)")
        await engine.run_ddl(f"TRUNCATE {names}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, data_dir: Path) -> AsyncIterator[Engine]:
    """A migrated, empty database bound to the tables: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'coachmatch.sqlite3'}"
        engine = db.make_engine(url)
        db.bind(engine)
        await db.migrate()
    else:
        url = request.getfixturevalue("postgres_database_url")
        engine = db.make_engine(url)
        db.bind(engine)
        await _truncate_postgres()
    request.node.database_url = url
    yield engine


@pytest.fixture
def database_url(database: Engine, request: pytest.FixtureRequest) -> str:
    return str(request.node.database_url)


@pytest.fixture
def settings(data_dir: Path, database_url: str) -> Settings:
    return make_settings(data_dir, database_url=database_url)
