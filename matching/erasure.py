"""Erasing a data subject: the one service every erasure goes through.

An erasure (by request, by retention, by an admin, in a restore drill) is:

1. an entry in the erasure journal (:mod:`matching.erasure_journal`), written and
   fsynced *first*. This is the point of no return: once journaled, the subject
   is erased for good, even if the process dies before step 2 commits or the
   caller's transaction rolls back, because :meth:`ErasureService.replay` (run
   by every restore, and safe to run at any time) erases whoever the journal
   names and the database still holds;
2. one write transaction (joining the caller's, if any) that shreds the
   subject's data key (so every ciphertext of theirs, in backups too, is
   noise), deletes their rows, and records ``subject.erased`` in the audit log
   with the journal position (so a journal that lost its tail is noticed, see
   :func:`check_journal_against_audit`).

Idempotent: a subject gets one journal entry, ever (the journal checks under
its lock). Erasing a subject that is journaled and holds no rows does nothing
and says so (``already_erased``). A journaled subject that still has rows (a
crash between the steps, or rows restored from a backup) is erased again
without a second journal entry.

Tables holding a subject's data add their deletion to :func:`_delete_rows`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar
from uuid import UUID

from matching import audit, db
from matching.audit import Action
from matching.codes import check_actor
from matching.erasure_journal import ErasureJournal, JournalEntry, check_reason
from matching.errors import IntegrityFailure, InvalidInput, JournalMissing
from matching.tables import (
    Admin,
    AuditEntry,
    CandidateDetail,
    CandidateFile,
    Coach,
    CoachAgreement,
    Consent,
    ContactRequest,
    Offer,
    Subject,
    SubjectKey,
    WebSession,
)
from matching.vault import Vault

SYSTEM_ACTOR = "system"
REPLAY_PURPOSE = "journal_replay"
LOOKUP_CHUNK = 500
ERASURE_LOCK_CLASS = 0x6572  # "er": first key of the per-subject advisory lock

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class ErasureResult:
    subject_id: UUID
    journal_seq: int
    already_erased: bool  # nothing was left to erase and the journal already had it
    rows_deleted: int  # data key, subject, account and session rows
    audit_seq: int | None = None


class ErasureService:
    def __init__(self, *, journal: ErasureJournal, vault: Vault) -> None:
        self._journal = journal
        self._vault = vault

    @property
    def journal(self) -> ErasureJournal:
        return self._journal

    async def erase(self, subject_id: UUID, *, reason: str, actor: str) -> ErasureResult:
        """Erase one subject: journal first (fsynced), then key and rows in one transaction."""
        if not isinstance(subject_id, UUID):
            raise InvalidInput("subject_id must be a UUID")
        reason, actor = check_reason(reason), check_actor(actor)
        seq, appended = await asyncio.to_thread(
            self._journal.append_once, subject_id, reason, actor
        )
        async with db.write_transaction():
            deleted = await self._delete_rows(subject_id)
            audit_seq = None
            if appended or deleted:
                audit_seq = await audit.record(
                    actor,
                    Action.SUBJECT_ERASED,
                    subject_id=subject_id,
                    purpose=reason,
                    details={"journal_seq": seq, "rows": deleted},
                )
        return ErasureResult(
            subject_id=subject_id,
            journal_seq=seq,
            already_erased=not appended and not deleted,
            rows_deleted=deleted,
            audit_seq=audit_seq,
        )

    async def replay(self, entries: Iterable[JournalEntry | UUID] | None = None) -> int:
        """Erase, without journaling again, every journaled subject the database holds.

        ``entries`` defaults to the whole journal (checked while read). Returns how
        many subjects were erased. Used after a restore; harmless at any time.
        """
        if entries is None:
            entries = await asyncio.to_thread(lambda: list(self._journal.entries()))
        erased = 0
        for chunk in _chunks(entries, LOOKUP_CHUNK):
            wanted = {_id_of(item): item for item in chunk}
            for subject_id in sorted(await still_present(wanted)):
                erased += await self._erase_again(subject_id, wanted[subject_id])
        return erased

    async def _erase_again(self, subject_id: UUID, origin: JournalEntry | UUID) -> bool:
        details: dict[str, Any] = {"replay": True}
        purpose = REPLAY_PURPOSE
        if isinstance(origin, JournalEntry):
            details["journal_seq"], purpose = origin.seq, origin.reason
        async with db.write_transaction():
            details["rows"] = await self._delete_rows(subject_id)
            if not details["rows"]:  # erased meanwhile by someone else
                return False
            await audit.record(
                SYSTEM_ACTOR,
                Action.SUBJECT_ERASED,
                subject_id=subject_id,
                purpose=purpose,
                details=details,
            )
        return True

    async def _delete_rows(self, subject_id: UUID) -> int:
        """Shred the data key and delete every row of the subject; return the row count."""
        await _lock_subject(subject_id)
        keys = await SubjectKey.count().where(SubjectKey.subject_id == subject_id)
        await self._vault.shred(subject_id)
        coaches = await Coach.delete().where(Coach.subject_id == subject_id).returning(Coach.id)
        admins = await Admin.delete().where(Admin.subject_id == subject_id).returning(Admin.id)
        principals = [row["id"] for row in (*coaches, *admins)]
        sessions: list[Any] = []
        if principals:
            sessions = (
                await WebSession.delete()
                .where(WebSession.principal_id.is_in(principals))
                .returning(WebSession.id_hash)
            )
        owned = await _delete_owned(subject_id, [row["id"] for row in coaches])
        subjects = await Subject.delete().where(Subject.id == subject_id).returning(Subject.id)
        return int(keys) + len(coaches) + len(admins) + len(sessions) + owned + len(subjects)


async def _delete_owned(subject_id: UUID, coach_ids: list[Any]) -> int:
    """Rows that belong to the subject: a candidate's requests and everything under them,
    a coach's offers and agreements. Requests a coach won keep only the coach's id."""
    requests = (
        await ContactRequest.delete()
        .where(ContactRequest.candidate_id == subject_id)
        .returning(ContactRequest.id)
    )
    deleted = len(requests)
    request_ids = [row["id"] for row in requests]
    if request_ids:
        deleted += len(
            await Offer.delete().where(Offer.request_id.is_in(request_ids)).returning(Offer.id)
        )
    for table in (Consent, CandidateDetail, CandidateFile):
        deleted += len(
            await table.delete().where(table.subject_id == subject_id).returning(table.id)
        )
    if coach_ids:
        deleted += len(
            await Offer.delete().where(Offer.coach_id.is_in(coach_ids)).returning(Offer.id)
        )
        deleted += len(
            await CoachAgreement.delete()
            .where(CoachAgreement.coach_id.is_in(coach_ids))
            .returning(CoachAgreement.id)
        )
    return deleted


async def _lock_subject(subject_id: UUID) -> None:
    """Serialise erasures of one subject, so only one of them counts the rows it deleted.

    SQLite's write transactions are serial already. On PostgreSQL a transaction-scoped
    advisory lock per subject (a two-key lock, apart from the audit log's one-key lock).
    """
    if not db.is_sqlite():
        await Subject.raw(
            "SELECT pg_advisory_xact_lock({}, hashtext({}))", ERASURE_LOCK_CLASS, str(subject_id)
        )


async def still_present(subject_ids: Iterable[UUID]) -> set[UUID]:
    """Which of these subjects the database still holds any row or key of."""
    found: set[UUID] = set()
    for chunk in _chunks(subject_ids, LOOKUP_CHUNK):
        ids = list(chunk)
        for column in (Subject.id, SubjectKey.subject_id, Coach.subject_id, Admin.subject_id):
            table = column._meta.table
            rows = await table.select(column).where(column.is_in(ids))
            found.update(UUID(str(row[column._meta.name])) for row in rows)
    return found


@dataclasses.dataclass(frozen=True)
class JournalCheck:
    entries: int
    head_hash: str
    audited_erasures: int

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


async def verify_journal(journal: ErasureJournal) -> JournalCheck:
    """The journal's own chain, then every audited erasure found in it."""
    report = await asyncio.to_thread(journal.verify)
    audited = await check_journal_against_audit(journal)
    return JournalCheck(report.entries, report.head_hash, audited)


async def check_journal_against_audit(journal: ErasureJournal, *, batch_size: int = 1000) -> int:
    """Check that every erasure in the audit log is in the journal; return how many.

    Finds a journal that is missing or lost entries from its end, which the
    journal's own chain cannot show. Raises :class:`IntegrityFailure`.
    """
    seen: dict[int, UUID] | None = None
    checked, last = 0, 0
    while True:
        rows = await (
            AuditEntry.select(AuditEntry.seq, AuditEntry.subject_id, AuditEntry.details)
            .where((AuditEntry.action == Action.SUBJECT_ERASED.value) & (AuditEntry.seq > last))
            .order_by(AuditEntry.seq)
            .limit(batch_size)
        )
        for row in rows:
            if seen is None:
                if not journal.path.exists():
                    raise JournalMissing(f"the erasure journal is missing: {journal.path}")
                seen = await asyncio.to_thread(
                    lambda: {entry.seq: entry.subject_id for entry in journal.entries()}
                )
            _check_audited(row, seen)
            checked += 1
        if len(rows) < batch_size:
            return checked
        last = int(rows[-1]["seq"])


def _check_audited(row: dict[str, Any], seen: dict[int, UUID]) -> None:
    details = row["details"]
    if isinstance(details, str):
        details = json.loads(details)
    journal_seq = details.get("journal_seq") if isinstance(details, dict) else None
    if journal_seq is None:
        return  # replay of a bare id: no journal position to check
    subject = row["subject_id"]
    if subject is None or seen.get(journal_seq) != UUID(str(subject)):
        raise IntegrityFailure(
            f"the erasure journal lacks line {journal_seq}, recorded by audit entry "
            f"{row['seq']}: entries were lost"
        )


def _id_of(item: JournalEntry | UUID) -> UUID:
    return item.subject_id if isinstance(item, JournalEntry) else item


def _chunks(items: Iterable[T], size: int) -> Iterator[Sequence[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
