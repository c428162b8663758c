"""The erasure service: journal first, key and rows gone, audited, idempotent, replayable."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import uuid
from typing import Any

import pytest

from matching import audit, db
from matching.config import Settings
from matching.erasure import ErasureService, check_journal_against_audit, still_present
from matching.erasure_journal import ErasureJournal
from matching.errors import IntegrityFailure, InvalidInput, JournalMissing, SubjectErased
from matching.keyring import load_keyring
from matching.subjects import create_subject
from matching.tables import Admin, AuditEntry, Coach, Subject, SubjectKey, WebSession
from matching.vault import Vault

NAME = "Canarina Zwaluwstaart-4471"
EMAIL = "canarina.4471@zwaluw-canary.example"
ADMIN_ACTOR = f"admin:{uuid.UUID(int=42)}"


@pytest.fixture
async def vault(database: object, settings: Settings) -> Vault:
    vault = Vault(load_keyring(settings))
    await vault.ensure_secrets()
    return vault


@pytest.fixture
def journal(settings: Settings) -> ErasureJournal:
    return ErasureJournal(settings.erasure_journal_path)


@pytest.fixture
def service(journal: ErasureJournal, vault: Vault) -> ErasureService:
    return ErasureService(journal=journal, vault=vault)


async def _coach(vault: Vault, name: str = NAME, email: str = EMAIL) -> tuple[uuid.UUID, bytes]:
    """A coach subject with an account and two sessions; returns the id and a ciphertext."""
    sid = await create_subject(vault, "coach", name=name, email=email)
    coach_id = uuid.uuid4()
    await Coach.insert(
        Coach(
            id=coach_id,
            subject_id=sid,
            email_index=vault.email_index(email),
            password_hash="argon2-placeholder",
        )
    )
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    for _ in range(2):
        await WebSession.insert(
            WebSession(
                id_hash=uuid.uuid4().hex,
                principal_kind="coach",
                principal_id=coach_id,
                csrf_token="t",
                expires_at=expires,
            )
        )
    row = (await Subject.select(Subject.name).where(Subject.id == sid))[0]
    return sid, bytes(row["name"])


async def _rows_of(sid: uuid.UUID) -> int:
    return len(await still_present([sid]))


async def test_erase_destroys_key_and_rows_and_leaves_others(
    service: ErasureService, vault: Vault
) -> None:
    sid, ciphertext = await _coach(vault)
    other, _ = await _coach(vault, "Other Person", "other@example.org")
    result = await service.erase(sid, reason="candidate_request", actor=ADMIN_ACTOR)
    assert not result.already_erased
    assert result.rows_deleted == 5  # key, subject, coach, two sessions
    assert result.journal_seq == 1
    assert await SubjectKey.count().where(SubjectKey.subject_id == sid) == 0
    assert await Subject.count().where(Subject.id == sid) == 0
    assert await Coach.count().where(Coach.subject_id == sid) == 0
    assert await WebSession.count() == 2  # only the other coach's sessions are left
    assert await still_present([sid, other]) == {other}
    with pytest.raises(SubjectErased):
        await vault.decrypt_text(sid, "data_subject", "name", sid, ciphertext)
    vault.cache.clear()
    with pytest.raises(SubjectErased):
        await vault.decrypt_text(sid, "data_subject", "name", sid, ciphertext)


async def test_erase_removes_admin_accounts_too(service: ErasureService, vault: Vault) -> None:
    sid = await create_subject(vault, "admin", name="Admin Person", email="admin@example.org")
    admin_id = uuid.uuid4()
    await Admin.insert(
        Admin(
            id=admin_id, subject_id=sid, email_index="x" * 64, password_hash="h", totp_secret=b"s"
        )
    )
    await WebSession.insert(
        WebSession(
            id_hash="a" * 64,
            principal_kind="admin",
            principal_id=admin_id,
            csrf_token="t",
            expires_at=datetime.datetime.now(datetime.UTC),
        )
    )
    result = await service.erase(sid, reason="admin", actor="cli")
    assert result.rows_deleted == 4
    assert await Admin.count() == 0 and await WebSession.count() == 0


async def test_journal_and_audit_hold_the_erasure_and_no_personal_data(
    service: ErasureService, vault: Vault, journal: ErasureJournal
) -> None:
    sid, _ = await _coach(vault)
    result = await service.erase(sid, reason="candidate_request", actor=ADMIN_ACTOR)
    entries = list(journal.entries())
    assert [(e.subject_id, e.reason, e.actor) for e in entries] == [
        (sid, "candidate_request", ADMIN_ACTOR)
    ]
    raw_journal = journal.path.read_text()
    rows = await AuditEntry.select().output(load_json=True)
    erased = [r for r in rows if r["action"] == "subject.erased"]
    assert len(erased) == 1 and erased[0]["subject_id"] == sid
    assert erased[0]["actor"] == ADMIN_ACTOR and erased[0]["purpose"] == "candidate_request"
    assert erased[0]["details"] == {"journal_seq": 1, "rows": 5}
    assert result.audit_seq == erased[0]["seq"]
    raw_audit = json.dumps(rows, default=str)
    for needle in (NAME, EMAIL, "Canarina", "Zwaluw", "4471", "canary.example"):
        assert needle.casefold() not in raw_journal.casefold()
        assert needle.casefold() not in raw_audit.casefold()
    assert (await audit.verify_chain()).ok
    assert await check_journal_against_audit(journal) == 1


async def test_erasing_twice_is_a_no_op(
    service: ErasureService, vault: Vault, journal: ErasureJournal
) -> None:
    sid, _ = await _coach(vault)
    await service.erase(sid, reason="retention", actor="system")
    audit_entries = await AuditEntry.count()
    again = await service.erase(sid, reason="retention", actor="system")
    assert again.already_erased and again.rows_deleted == 0 and again.audit_seq is None
    assert again.journal_seq == 1
    assert journal.verify().entries == 1
    assert await AuditEntry.count() == audit_entries


async def test_concurrent_erasures_of_one_subject_write_one_entry(
    service: ErasureService, vault: Vault, journal: ErasureJournal
) -> None:
    sid, _ = await _coach(vault)
    others = [
        await create_subject(vault, "candidate", name="C", email=f"c{n}@example.org")
        for n in range(4)
    ]
    results = await asyncio.gather(
        *(service.erase(sid, reason="retention", actor="system") for _ in range(5)),
        *(service.erase(o, reason="retention", actor="system") for o in others),
    )
    assert sum(r.rows_deleted for r in results[:5]) == 5
    assert journal.verify().entries == 5
    assert journal.erased_ids() == {sid, *others}
    assert await still_present([sid, *others]) == set()
    assert (await audit.verify_chain()).ok


async def test_a_crash_after_the_journal_write_is_finished_by_the_next_erase_or_replay(
    service: ErasureService, vault: Vault, journal: ErasureJournal
) -> None:
    first, _ = await _coach(vault)
    second = await create_subject(vault, "candidate", name="B", email="b@example.org")
    # The process died after fsyncing the journal, before the database committed:
    journal.append(first, "retention", "system")
    with pytest.raises(RuntimeError):
        async with db.write_transaction():
            await service.erase(second, reason="retention", actor="system")
            raise RuntimeError("the caller's transaction rolls back")
    assert await still_present([first, second]) == {first, second}
    # Erasing again completes it, without a second journal entry ...
    result = await service.erase(first, reason="retention", actor="system")
    assert not result.already_erased and result.rows_deleted == 5 and result.journal_seq == 1
    # ... and a replay (as after a restore) completes what is left.
    assert await service.replay() == 1
    assert await still_present([first, second]) == set()
    assert journal.verify().entries == 2
    assert await check_journal_against_audit(journal) == 2


async def test_replay_erases_subjects_a_restore_brought_back(
    service: ErasureService, vault: Vault
) -> None:
    sid, ciphertext = await _coach(vault)
    keep = await create_subject(vault, "candidate", name="Keep", email="keep@example.org")
    backup = await _snapshot(sid)
    await service.erase(sid, reason="candidate_request", actor="system")
    await _restore(backup)  # an older backup comes back
    assert await still_present([sid]) == {sid}
    assert await service.replay() == 1
    assert await still_present([sid, keep]) == {keep}
    with pytest.raises(SubjectErased):
        await vault.decrypt_text(sid, "data_subject", "name", sid, ciphertext)
    assert await service.replay() == 0
    assert await service.replay([sid, keep]) == 1  # bare ids are accepted too
    replays = (
        await AuditEntry.select()
        .where(AuditEntry.action == "subject.erased")
        .order_by(AuditEntry.seq)
        .output(load_json=True)
    )
    assert [r["details"].get("replay") for r in replays] == [None, True, True]
    assert replays[1]["purpose"] == "candidate_request"
    assert (await audit.verify_chain()).ok


async def _snapshot(sid: uuid.UUID) -> dict[Any, list[dict[str, Any]]]:
    coach_ids = [r["id"] for r in await Coach.select(Coach.id).where(Coach.subject_id == sid)]
    return {
        SubjectKey: await SubjectKey.select().where(SubjectKey.subject_id == sid),
        Subject: await Subject.select().where(Subject.id == sid),
        Coach: await Coach.select().where(Coach.subject_id == sid),
        WebSession: await WebSession.select().where(WebSession.principal_id.is_in(coach_ids)),
    }


async def _restore(snapshot: dict[Any, list[dict[str, Any]]]) -> None:
    for table, rows in snapshot.items():
        for row in rows:
            await table.insert(table(**row))


async def test_a_lost_journal_tail_or_file_is_noticed(
    service: ErasureService, vault: Vault, journal: ErasureJournal
) -> None:
    assert await check_journal_against_audit(journal) == 0  # nothing erased, no file: fine
    for n in range(3):
        sid = await create_subject(vault, "candidate", name="N", email=f"n{n}@example.org")
        await service.erase(sid, reason="retention", actor="system")
    lines = journal.path.read_bytes().splitlines(keepends=True)
    journal.path.write_bytes(b"".join(lines[:2]))  # the last line is cut off cleanly
    assert journal.verify().entries == 2  # the file alone still looks fine
    with pytest.raises(IntegrityFailure, match="lacks line 3"):
        await check_journal_against_audit(journal)
    os.unlink(journal.path)
    with pytest.raises(JournalMissing):
        await check_journal_against_audit(journal)


@pytest.mark.parametrize(
    ("reason", "actor"), [("because", "system"), ("retention", "Jan <jan@example.org>")]
)
async def test_bad_reason_or_actor_is_refused_before_anything_happens(
    service: ErasureService, vault: Vault, journal: ErasureJournal, reason: str, actor: str
) -> None:
    sid = await create_subject(vault, "candidate", name="X", email="x@example.org")
    with pytest.raises(InvalidInput):
        await service.erase(sid, reason=reason, actor=actor)
    assert not journal.path.exists()
    assert await still_present([sid]) == {sid}


async def test_erasing_many_at_once_equals_erasing_one_by_one(
    service: ErasureService, vault: Vault, journal: ErasureJournal
) -> None:
    first, _ = await _coach(vault)
    second, _ = await _coach(vault, "Second Person", "second@example.org")
    candidate = await create_subject(vault, "candidate", name="Cand", email="cand@example.org")
    kept, _ = await _coach(vault, "Kept Person", "kept@example.org")
    await service.erase(candidate, reason="candidate_request", actor=ADMIN_ACTOR)
    results = await service.erase_many(
        [first, second, candidate], reason="retention", actor="system"
    )
    assert [r.rows_deleted for r in results] == [5, 5, 0]
    assert [r.already_erased for r in results] == [False, False, True]
    assert [r.journal_seq for r in results] == [2, 3, 1]
    assert await still_present([first, second, candidate, kept]) == {kept}
    assert journal.verify().entries == 3
    audited = await AuditEntry.select(AuditEntry.subject_id).where(
        AuditEntry.action == "subject.erased"
    )
    assert sorted(str(r["subject_id"]) for r in audited) == sorted(
        str(s) for s in (candidate, first, second)
    )


async def test_an_erasure_after_a_crash_mid_append_mends_the_journal(
    vault: Vault, journal: ErasureJournal, settings: Settings
) -> None:
    first = await create_subject(vault, "candidate", name="Eerste", email="een@example.org")
    second = await create_subject(vault, "candidate", name="Tweede", email="twee@example.org")
    await ErasureService(journal=journal, vault=vault).erase(
        first, reason="candidate_request", actor="system"
    )
    with journal.path.open("ab") as handle:  # a crash cut the next append short
        handle.write(b'{"actor":"system","at":"2026-')
    # A new process (a fresh journal object) reads the file from the start.
    fresh = ErasureService(journal=ErasureJournal(settings.erasure_journal_path), vault=vault)
    result = await fresh.erase(second, reason="candidate_request", actor="system")
    assert result.journal_seq == 2
    assert journal.verify().entries == 2
