"""Many rows in one statement per table, inside the caller's transaction.

The fast path for the hottest inserts (a submitted request writes ten rows into
seven tables): one prepared statement per table and batch instead of piccolo's
per-row query building, which costs more than SQLite's own work. Values are
the Python values piccolo would store (UUIDs, datetimes, bytes, lists or dicts
for JSON columns); a column left out gets the column's default.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from piccolo.columns import JSON, Column
from piccolo.columns.defaults.base import Default
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

from matching import db


async def insert(table: type[Table], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (column name to value) into ``table`` in the current transaction."""
    if not rows:
        return
    engine = db.current_engine()
    transaction = engine.current_transaction.get()
    if transaction is None:
        raise RuntimeError("bulk.insert() must run inside a transaction")
    plan = _plan(table)
    values = [plan.values(row) for row in rows]
    if isinstance(engine, PostgresEngine):
        await transaction.connection.executemany(plan.postgres, values)
    else:
        await transaction.connection.execute_many(plan.sqlite, values)


class _Plan:
    """How one table's rows become statement parameters, worked out once."""

    def __init__(self, table: type[Table]) -> None:
        columns = table._meta.columns
        self.table = table._meta.tablename
        self.names = frozenset(column._meta.name for column in columns)
        self.columns = [(c._meta.name, c, isinstance(c, JSON)) for c in columns]
        quoted = ", ".join(f'"{column._meta.db_column_name}"' for column in columns)
        head = f'INSERT INTO "{self.table}" ({quoted}) VALUES '  # noqa: S608
        self.sqlite = head + "(" + ", ".join("?" for _ in columns) + ")"
        self.postgres = head + "(" + ", ".join(f"${i}" for i in range(1, len(columns) + 1)) + ")"

    def values(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        if not row.keys() <= self.names:
            raise ValueError(f"{self.table} has no column(s) {sorted(row.keys() - self.names)}")
        return tuple(
            _value(row, name, column, json_column) for name, column, json_column in self.columns
        )


@functools.cache
def _plan(table: type[Table]) -> _Plan:
    return _Plan(table)


def _value(row: Mapping[str, Any], name: str, column: Column, json_column: bool) -> Any:
    if name in row:
        value = row[name]
    else:
        value = column.get_default_value()
        if isinstance(value, Default):  # e.g. TimestamptzNow: evaluated per row
            value = value.python()
    if json_column and value is not None and not isinstance(value, str):
        return json.dumps(value)
    return value
