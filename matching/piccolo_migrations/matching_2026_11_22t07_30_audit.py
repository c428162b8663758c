"""The audit log is append-only in the database too: triggers refuse UPDATE and DELETE.

On PostgreSQL a statement trigger also refuses TRUNCATE (which skips row
triggers), unless the transaction has set ``coachmatch.audit_maintenance`` to
``on``: the test suite empties its tables that way. Anyone able to set that
could drop the trigger as well; the hash chain is what detects such rewrites.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-22T07:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "audit log: refuse UPDATE and DELETE"

SQLITE_FORWARDS = (
    """
    CREATE TRIGGER IF NOT EXISTS audit_entry_no_update BEFORE UPDATE ON audit_entry
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS audit_entry_no_delete BEFORE DELETE ON audit_entry
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END
    """,
)
SQLITE_BACKWARDS = (
    "DROP TRIGGER IF EXISTS audit_entry_no_update",
    "DROP TRIGGER IF EXISTS audit_entry_no_delete",
)

POSTGRES_FORWARDS = (
    """
    CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'TRUNCATE'
           AND current_setting('coachmatch.audit_maintenance', true) = 'on' THEN
            RETURN NULL;
        END IF;
        RAISE EXCEPTION 'audit log is append-only' USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    "DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry",
    """
    CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()
    """,
    "DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry",
    """
    CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()
    """,
)
POSTGRES_BACKWARDS = (
    "DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry",
    "DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry",
    "DROP FUNCTION IF EXISTS audit_entry_append_only()",
)


async def _run(sqlite: tuple, postgres: tuple) -> None:
    engine = engine_finder()
    if engine is None:
        raise RuntimeError("no database engine is configured")
    statements = sqlite if engine.engine_type == "sqlite" else postgres
    for statement in statements:
        await engine.run_ddl(statement)


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="matching", description=DESCRIPTION
    )

    async def add_triggers() -> None:
        await _run(SQLITE_FORWARDS, POSTGRES_FORWARDS)

    async def drop_triggers() -> None:
        await _run(SQLITE_BACKWARDS, POSTGRES_BACKWARDS)

    manager.add_raw(add_triggers)
    manager.add_raw_backwards(drop_triggers)
    return manager
