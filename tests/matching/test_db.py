from __future__ import annotations

import pytest

from matching import db
from matching.config import Settings
from matching.errors import ConfigurationError
from matching.tables import Subject


async def test_migrations_are_idempotent_and_tables_usable(database: object) -> None:
    await db.migrate()
    await Subject.insert(Subject(kind="candidate")).run()
    assert await Subject.count().run() == 1


@pytest.mark.parametrize(
    "url",
    ["mysql://x", "sqlite://relative", "postgresql:///nohost", "nonsense"],
)
def test_bad_database_url_is_a_clear_error(url: str, tmp_path: object) -> None:
    with pytest.raises(ConfigurationError, match="COACHMATCH_DATABASE_URL"):
        Settings.from_environ(
            {"COACHMATCH_DATA_DIR": str(tmp_path), "COACHMATCH_DATABASE_URL": url}
        )


def test_sqlite_runs_in_wal_mode(tmp_path: object) -> None:
    import sqlite3
    from pathlib import Path

    path = Path(str(tmp_path)) / "x.sqlite3"
    db.make_engine(f"sqlite:///{path}")
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
