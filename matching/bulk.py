"""Many rows in one statement per table, inside the caller's transaction.

The fast path for the hottest inserts (a submitted request writes ten rows into
seven tables): one prepared statement per table and batch instead of piccolo's
per-row query building, which costs more than SQLite's own work. Values are
the Python values piccolo would store (UUIDs, datetimes, bytes, lists or dicts
for JSON columns); a column left out gets the column's default.

On SQLite the values are turned into what piccolo's ``sqlite3`` adapters store
(the text of a UUID; a datetime in UTC as ``str`` gives it) before they are
bound: an adapter is a Python call per value inside ``executemany``, which made
binding the rows cost about as much as SQLite's own work on them. A batch's
rows mostly share one timestamp, so each distinct datetime is converted once.
Values of other types still go through the adapters.
"""

from __future__ import annotations

import copy
import datetime
import functools
import json
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import Any
from uuid import UUID

from piccolo.columns import JSON, Column, Timestamp, Timestamptz
from piccolo.columns import UUID as UUIDColumn
from piccolo.columns.defaults.base import Default
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import convert_datetime_in
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
        await transaction.connection.execute_many(plan.sqlite, plan.sqlite_rows(values))


class _Plan:
    """How one table's rows become statement parameters, worked out once."""

    def __init__(self, table: type[Table]) -> None:
        columns = table._meta.columns
        self.table = table._meta.tablename
        self.names = frozenset(column._meta.name for column in columns)
        self.columns = [(c._meta.name, _default_of(c), isinstance(c, JSON)) for c in columns]
        # Where the values piccolo's sqlite3 adapters would convert sit in a row.
        self.uuids = [i for i, c in enumerate(columns) if isinstance(c, UUIDColumn)]
        self.times = [i for i, c in enumerate(columns) if isinstance(c, Timestamp | Timestamptz)]
        quoted = ", ".join(f'"{column._meta.db_column_name}"' for column in columns)
        head = f'INSERT INTO "{self.table}" ({quoted}) VALUES '  # noqa: S608
        self.sqlite = head + "(" + ", ".join("?" for _ in columns) + ")"
        self.postgres = head + "(" + ", ".join(f"${i}" for i in range(1, len(columns) + 1)) + ")"

    def values(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        if not row.keys() <= self.names:
            raise ValueError(f"{self.table} has no column(s) {sorted(row.keys() - self.names)}")
        values = []
        for name, default, json_column in self.columns:
            value = row[name] if name in row else default()
            if json_column and value is not None and not isinstance(value, str):
                value = json.dumps(value)
            values.append(value)
        return tuple(values)

    def sqlite_rows(self, rows: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
        """``rows`` as piccolo's adapters would bind them (see the module's note)."""
        texts: dict[datetime.datetime, str] = {}
        bound = []
        for row in rows:
            values = list(row)
            for i in self.uuids:
                if type(values[i]) is UUID:
                    values[i] = str(values[i])
            for i in self.times:
                value = values[i]
                if type(value) is datetime.datetime:
                    text = texts.get(value)
                    if text is None:
                        text = texts[value] = convert_datetime_in(value)
                    values[i] = text
            bound.append(values)
        return bound


@functools.cache
def _plan(table: type[Table]) -> _Plan:
    return _Plan(table)


_IMMUTABLE = (str, bytes, int, float, bool, type(None))


def _default_of(column: Column) -> Callable[[], Any]:
    """What ``column.get_default_value()`` gives, as a function worked out once."""
    default = getattr(column, "default", ...)
    if isinstance(default, Enum):
        default = default.value
    if isinstance(default, Default):  # e.g. TimestamptzNow: evaluated per row
        return default.python
    if default is ... or isinstance(default, _IMMUTABLE):
        value = None if default is ... else default
        return lambda: value
    if callable(default):
        return default
    return lambda: copy.deepcopy(default)  # a mutable value: a fresh one per row
