"""Offers: one per request and coach (the broadcast's idempotence rests on it), and the
index the coach's feed reads (a coach's open offers, newest first)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-29T21:09:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "offer: unique (request, coach), feed index"

FORWARDS = (
    "CREATE UNIQUE INDEX IF NOT EXISTS offer_request_coach ON offer (request_id, coach_id)",
    "CREATE INDEX IF NOT EXISTS offer_feed ON offer (coach_id, status, offered_at)",
    "CREATE INDEX IF NOT EXISTS contact_request_due ON contact_request (status, expires_at)",
)
BACKWARDS = (
    "DROP INDEX IF EXISTS contact_request_due",
    "DROP INDEX IF EXISTS offer_feed",
    "DROP INDEX IF EXISTS offer_request_coach",
)


async def _run(statements: tuple[str, ...]) -> None:
    engine = engine_finder()
    if engine is None:
        raise RuntimeError("no database engine is configured")
    for statement in statements:
        await engine.run_ddl(statement)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="matching", description=DESCRIPTION)

    async def add() -> None:
        await _run(FORWARDS)

    async def drop() -> None:
        await _run(BACKWARDS)

    manager.add_raw(add)
    manager.add_raw_backwards(drop)
    return manager
