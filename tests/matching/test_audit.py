"""The audit log: chain, append-only triggers, tamper detection, concurrent appends."""

from __future__ import annotations

import asyncio
import datetime
import itertools
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from piccolo.engine.base import Engine

from matching import audit, db
from matching.audit import Action, Anchor
from matching.codes import GENESIS_HASH
from matching.errors import IntegrityFailure, InvalidInput
from matching.tables import AuditEntry

ADMIN = f"admin:{uuid.UUID(int=1)}"


async def _fill(count: int) -> list[int]:
    seqs = []
    for number in range(count):
        seqs.append(
            await audit.record(
                ADMIN,
                Action.DATA_DECRYPTED,
                subject_id=uuid.uuid4(),
                purpose="contact_handover",
                details={"request_id": uuid.uuid4(), "n": number, "ok": True},
            )
        )
    return seqs


async def _bypass_triggers(engine: Engine, sql: str) -> None:
    """Play an attacker with direct database access who removes the protection first."""
    if db.is_sqlite(engine):
        path = engine.path  # type: ignore[attr-defined]
        conn = sqlite3.connect(path)
        try:
            conn.execute("DROP TRIGGER IF EXISTS audit_entry_no_update")
            conn.execute("DROP TRIGGER IF EXISTS audit_entry_no_delete")
            conn.execute(sql)
            conn.commit()
        finally:
            conn.close()
        return
    async with engine.transaction():
        await engine.run_ddl("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only")
        await engine.run_ddl(sql)
        await engine.run_ddl("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only")


async def test_entries_chain_from_genesis_and_verify(database: Engine) -> None:
    assert await _fill(5) == [1, 2, 3, 4, 5]
    rows = await AuditEntry.select().order_by(AuditEntry.seq)
    assert rows[0]["prev_hash"] == GENESIS_HASH
    for before, after in itertools.pairwise(rows):
        assert after["prev_hash"] == before["entry_hash"]
    report = await audit.verify_chain()
    assert report.ok and report.entries == 5 and report.first_bad_seq is None
    assert report.head == Anchor(5, rows[-1]["entry_hash"])


async def test_empty_log_verifies(database: Engine) -> None:
    report = await audit.verify_chain()
    assert report.ok and report.entries == 0 and report.head_hash == GENESIS_HASH


async def test_verify_streams_across_batches(database: Engine) -> None:
    await _fill(23)
    for size in (1, 7, 23, 100):
        report = await audit.verify_chain(batch_size=size)
        assert report.ok and report.entries == 23


async def test_subject_and_details_round_trip(database: Engine) -> None:
    subject = uuid.uuid4()
    seq = await audit.record(
        "system",
        "subject.erased",
        subject_id=subject,
        purpose="retention",
        details={"journal_seq": 7, "ids": [uuid.UUID(int=5), "a1"], "none": None},
    )
    row = (await AuditEntry.select().where(AuditEntry.seq == seq).output(load_json=True))[0]
    assert row["subject_id"] == subject and row["action"] == "subject.erased"
    assert row["details"] == {"journal_seq": 7, "ids": [str(uuid.UUID(int=5)), "a1"], "none": None}
    assert (await audit.verify_chain()).ok


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"actor": "jan@example.org"}, "actor"),
        ({"actor": "Jan Jansen"}, "actor"),
        ({"action": "made.up"}, "action"),
        ({"purpose": "because Jan asked"}, "purpose"),
        ({"details": {"email": "jan@example.org"}}, "detail"),
        ({"details": {"name": "Jan Jansen"}}, "detail"),
        ({"details": {"score": 1.5}}, "detail"),
        ({"details": {"Bad Key": 1}}, "key"),
        ({"details": {"nested": {"a": 1}}}, "detail"),
        ({"subject_id": "not-a-uuid"}, "subject_id"),
    ],
)
async def test_personal_or_free_text_values_are_refused(
    kwargs: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = {"actor": "system", "action": Action.LOGOUT, **kwargs}
    with pytest.raises(InvalidInput, match=message):
        await audit.record(args.pop("actor"), args.pop("action"), **args)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_entry SET purpose = 'other' WHERE seq = 2",
        "DELETE FROM audit_entry WHERE seq = 3",
        "DELETE FROM audit_entry",
    ],
)
async def test_update_and_delete_are_refused_by_the_database(database: Engine, sql: str) -> None:
    await _fill(3)
    with pytest.raises(Exception, match="append-only"):
        await database.run_ddl(sql)
    assert await AuditEntry.count() == 3
    assert (await audit.verify_chain()).ok


async def test_truncate_is_refused_on_postgres(database: Engine) -> None:
    if db.is_sqlite(database):
        pytest.skip("SQLite has no TRUNCATE; DELETE without WHERE is covered above")
    await _fill(2)
    with pytest.raises(Exception, match="append-only"):
        await database.run_ddl("TRUNCATE audit_entry")
    assert await AuditEntry.count() == 2


@pytest.mark.parametrize(
    ("sql", "bad_seq", "problem"),
    [
        ("UPDATE audit_entry SET purpose = 'other_purpose' WHERE seq = 3", 3, "altered"),
        ("UPDATE audit_entry SET actor = 'system' WHERE seq = 4", 4, "altered"),
        ('UPDATE audit_entry SET details = \'{"n": 99, "ok": true}\' WHERE seq = 2', 2, "altered"),
        ("UPDATE audit_entry SET subject_id = NULL WHERE seq = 5", 5, "altered"),
        ("UPDATE audit_entry SET entry_hash = prev_hash WHERE seq = 3", 3, "altered"),
        ("DELETE FROM audit_entry WHERE seq = 3", 3, "missing"),
        ("DELETE FROM audit_entry WHERE seq = 1", 1, "missing"),
    ],
)
async def test_an_edited_or_removed_row_is_detected(
    database: Engine, sql: str, bad_seq: int, problem: str
) -> None:
    await _fill(6)
    assert (await audit.verify_chain()).ok
    await _bypass_triggers(database, sql)
    report = await audit.verify_chain(batch_size=2)
    assert not report.ok
    assert report.first_bad_seq == bad_seq
    assert problem in (report.problem or "")


async def test_an_edited_timestamp_is_detected(database: Engine) -> None:
    await _fill(4)
    await _bypass_triggers(database, "UPDATE audit_entry SET at = at WHERE seq = 1")
    assert (await audit.verify_chain()).ok  # rewriting the same value changes nothing
    when = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    literal = "'2020-01-01 00:00:00+00:00'"
    await _bypass_triggers(database, f"UPDATE audit_entry SET at = {literal} WHERE seq = 2")
    assert (await AuditEntry.select(AuditEntry.at).where(AuditEntry.seq == 2))[0]["at"] == when
    report = await audit.verify_chain()
    assert report.first_bad_seq == 2


async def test_a_rewritten_chain_or_removed_tail_is_caught_by_the_anchor(database: Engine) -> None:
    await _fill(5)
    anchor = (await audit.verify_chain()).head
    await _bypass_triggers(database, "DELETE FROM audit_entry WHERE seq >= 4")
    # The table alone cannot tell: what is left is a valid, shorter chain ...
    assert (await audit.verify_chain()).ok
    # ... but the head recorded earlier can.
    report = await audit.verify_chain(anchor=anchor)
    assert not report.ok and report.first_bad_seq == 4
    # Appending new entries on top does not hide it: seq 5 now has another hash.
    await _fill(3)
    report = await audit.verify_chain(anchor=anchor)
    assert not report.ok and report.first_bad_seq == 5
    assert "anchored" in (report.problem or "")


async def test_record_joins_the_callers_transaction(database: Engine) -> None:
    await _fill(1)
    with pytest.raises(RuntimeError):
        async with db.write_transaction():
            await audit.record("system", Action.DATA_CHANGED, purpose="test")
            raise RuntimeError("roll back")
    assert await AuditEntry.count() == 1
    async with db.write_transaction():
        first = await audit.record("system", Action.DATA_CHANGED)
        second = await audit.record("system", Action.DATA_CHANGED)
    assert (first, second) == (2, 3)
    assert (await audit.verify_chain()).ok


async def test_concurrent_appends_never_fork_the_chain(database: Engine) -> None:
    async def one(number: int) -> int:
        if number % 3 == 0:  # some inside a caller's own transaction, with other work
            async with db.write_transaction():
                await AuditEntry.count()
                return await audit.record("system", Action.DATA_CHANGED, details={"n": number})
        return await audit.record("system", Action.DATA_CHANGED, details={"n": number})

    seqs = await asyncio.gather(*(one(n) for n in range(50)))
    assert sorted(seqs) == list(range(1, 51))
    report = await audit.verify_chain()
    assert report.ok and report.entries == 50


async def test_verify_walks_a_large_log(database: Engine) -> None:
    """Bulk-insert a valid chain (inserts are allowed) and verify it in batches."""
    prev = GENESIS_HASH
    at = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    rows = []
    for seq in range(1, 3001):
        fields = {
            "actor": "system",
            "action": "data.changed",
            "subject_id": None,
            "purpose": "",
            "details": {"n": seq},
        }
        entry_hash = audit.compute_hash(prev, seq=seq, at=at, **fields)
        rows.append(AuditEntry(seq=seq, at=at, prev_hash=prev, entry_hash=entry_hash, **fields))
        prev = entry_hash
    for start in range(0, len(rows), 500):
        await AuditEntry.insert(*rows[start : start + 500])
    report = await audit.verify_chain()
    assert report.ok and report.entries == 3000
    assert await audit.record("system", Action.DATA_CHANGED) == 3001


def test_anchor_file_round_trip(tmp_path: Path) -> None:
    path = audit.anchor_path(tmp_path)
    assert audit.load_anchor(path) is None
    audit.save_anchor(path, Anchor(12, "ab" * 32))
    assert audit.load_anchor(path) == Anchor(12, "ab" * 32)
    assert path.stat().st_mode & 0o777 == 0o600
    path.write_text("{not json")
    with pytest.raises(IntegrityFailure, match="unreadable"):
        audit.load_anchor(path)


# -- the verifier's logic as a property, without a database ---------------------------

_FIELDS = ("at", "actor", "action", "subject_id", "purpose", "details", "prev_hash", "entry_hash")


def _chain(length: int) -> list[dict[str, Any]]:
    prev = GENESIS_HASH
    at = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    rows = []
    for seq in range(1, length + 1):
        fields = {
            "actor": "system",
            "action": "data.changed",
            "subject_id": uuid.UUID(int=seq),
            "purpose": "p",
            "details": {"n": seq},
        }
        entry_hash = audit.compute_hash(prev, seq=seq, at=at, **fields)
        rows.append({"seq": seq, "at": at, "prev_hash": prev, "entry_hash": entry_hash, **fields})
        prev = entry_hash
    return rows


def _mutated(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value + datetime.timedelta(microseconds=1)
    if isinstance(value, uuid.UUID):
        return uuid.UUID(int=value.int ^ 1)
    if isinstance(value, dict):
        return {**value, "n": -1}
    if value == "system":
        return "cli"
    if value == "data.changed":
        return "data.exported"
    return value[:-1] + ("0" if value[-1] != "0" else "1")


@settings(max_examples=200, deadline=None)
@given(
    length=st.integers(min_value=1, max_value=30),
    data=st.data(),
)
def test_any_single_field_change_is_reported_at_its_seq(length: int, data: st.DataObject) -> None:
    rows = _chain(length)
    victim = data.draw(st.integers(min_value=1, max_value=length))
    field = data.draw(st.sampled_from(_FIELDS))
    rows[victim - 1][field] = _mutated(rows[victim - 1][field])
    walk = audit._Walk(None)
    reports = [r for r in (walk.step(row) for row in rows) if r is not None]
    assert reports, "tampering went unnoticed"
    assert reports[0].first_bad_seq == victim
