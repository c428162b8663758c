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
   :func:`check_journal_against_audit`). The transaction is opened before step 1,
   so a condition checked in it (retention: still inactive, not on hold) still
   holds when the journal is written.

Idempotent: a subject gets one journal entry, ever (the journal checks under
its lock). Erasing a subject that is journaled and holds no rows does nothing
and says so (``already_erased``). A journaled subject that still has rows (a
crash between the steps, or rows restored from a backup) is erased again
without a second journal entry.

Tables holding a subject's data add their deletion to
:meth:`ErasureService._delete_chunk` (or :func:`_delete_owned`).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar
from uuid import UUID

from piccolo.table import Table

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
    WaitingIntake,
    WebSession,
)
from matching.vault import Vault

SYSTEM_ACTOR = "system"
REPLAY_PURPOSE = "journal_replay"
LOOKUP_CHUNK = 2000  # ids per statement: well below SQLite's 32,766 parameters
ERASURE_LOCK_CLASS = 0x6572  # "er": first key of the per-subject advisory lock

T = TypeVar("T")
#: Which of these subjects may still be erased (run inside the erasure's transaction).
StillDue = Callable[[list[UUID]], Awaitable[Iterable[UUID]]]


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
        [result] = await self.erase_many([subject_id], reason=reason, actor=actor)
        return result

    async def erase_many(
        self,
        subject_ids: Sequence[UUID],
        *,
        reason: str,
        actor: str,
        still_due: StillDue | None = None,
    ) -> list[ErasureResult]:
        """Erase several subjects as :meth:`erase` does one: one journal write (one
        fsync) for all, then one transaction; an audit entry for each subject.

        ``still_due`` (retention) picks, inside the write transaction and before
        anything is journaled, which of the subjects may still go: one who became
        active, or was put on hold, since they were found is left alone (and left
        out of the results).
        """
        if not all(isinstance(subject_id, UUID) for subject_id in subject_ids):
            raise InvalidInput("subject_id must be a UUID")
        ids = list(dict.fromkeys(subject_ids))
        reason, actor = check_reason(reason), check_actor(actor)
        # Outside the write transaction: a process's first erasure reads the whole
        # journal into its index, and other writers should not wait for that.
        await asyncio.to_thread(self._journal.catch_up)
        async with db.write_transaction():
            await _lock_subjects(ids)  # first: every erasure takes its locks in this order
            if still_due is not None:
                due = set(await still_due(ids))
                ids = [subject_id for subject_id in ids if subject_id in due]
                if not ids:
                    return []
            # Journaled (and fsynced) before any row goes: the point of no return.
            journaled = await asyncio.to_thread(self._journal.append_many_once, ids, reason, actor)
            deleted = await self._delete_rows_many(ids)
            audited = [
                (subject_id, seq, deleted.get(subject_id, 0))
                for subject_id, (seq, appended) in zip(ids, journaled, strict=True)
                if appended or deleted.get(subject_id, 0)
            ]
            seqs = await audit.record_many(
                [
                    audit.Entry(
                        actor,
                        Action.SUBJECT_ERASED,
                        subject_id,
                        reason,
                        {"journal_seq": seq, "rows": rows},
                    )
                    for subject_id, seq, rows in audited
                ]
            )
        audit_seq = {subject_id: n for (subject_id, _, _), n in zip(audited, seqs, strict=True)}
        return [
            ErasureResult(
                subject_id=subject_id,
                journal_seq=seq,
                already_erased=not appended and not deleted.get(subject_id, 0),
                rows_deleted=deleted.get(subject_id, 0),
                audit_seq=audit_seq.get(subject_id),
            )
            for subject_id, (seq, appended) in zip(ids, journaled, strict=True)
        ]

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
            present = sorted(await still_present(wanted), key=_ordinal)
            if present:
                erased += await self._erase_again(present, wanted)
        return erased

    async def _erase_again(
        self, subject_ids: Sequence[UUID], origins: Mapping[UUID, JournalEntry | UUID]
    ) -> int:
        async with db.write_transaction():
            await _lock_subjects(subject_ids)
            deleted = await self._delete_rows_many(subject_ids)
            entries = [
                _replay_entry(subject_id, origins[subject_id], deleted[subject_id])
                for subject_id in subject_ids
                if deleted.get(subject_id)  # else erased meanwhile by someone else
            ]
            await audit.record_many(entries)
        return len(entries)

    async def _delete_rows_many(self, subject_ids: Sequence[UUID]) -> dict[UUID, int]:
        """Shred the data keys and delete every row of these subjects, in the caller's
        transaction, which holds their locks (:func:`_lock_subjects`); how many rows
        each had (0: nothing was left)."""
        counts: Counter[UUID] = Counter()
        for chunk in _chunks(subject_ids, LOOKUP_CHUNK):
            counts.update(await self._delete_chunk(list(chunk)))
        return dict(counts)

    async def _delete_chunk(self, ids: list[UUID]) -> Counter[UUID]:
        subjects = db.IdParams(ids)
        # First: on PostgreSQL this waits for a filing of theirs under way (it locks the
        # row), so its rows are there to be deleted below, and no filing comes after.
        waiting = await _for(
            WaitingIntake,
            "DELETE FROM intake_inbox WHERE subject_id",
            subjects.params,
            returning=db.text_of("subject_id"),
        )
        counts: Counter[UUID] = Counter(subjects[row["subject_id"]] for row in waiting)
        counts.update(await self._vault.shred_many(ids))
        accounts: dict[str, dict[UUID, UUID]] = {}
        for name, table in (("coach", Coach), ("admin", Admin)):
            rows = await _for(
                table,
                f"DELETE FROM {table._meta.tablename} WHERE subject_id",  # noqa: S608
                subjects.params,
                returning=f"id, {db.text_of('subject_id')}",
            )
            accounts[name] = {db.as_uuid(row["id"]): subjects[row["subject_id"]] for row in rows}
            counts.update(accounts[name].values())
        owner = {**accounts["coach"], **accounts["admin"]}
        if owner:
            sessions = await _for(
                WebSession,
                "DELETE FROM web_session WHERE principal_id",
                list(owner),
                returning="principal_id",
            )
            counts.update(owner[db.as_uuid(row["principal_id"])] for row in sessions)
        counts.update(await _delete_owned(subjects, accounts["coach"]))
        rows = await _for(
            Subject,
            "DELETE FROM data_subject WHERE id",
            subjects.params,
            returning=db.text_of("id"),
        )
        counts.update(subjects[row["id"]] for row in rows)
        return counts


async def _for(
    table: Any, statement: str, ids: Sequence[UUID | str], *, returning: str = ""
) -> list[dict[str, Any]]:
    """``statement`` (ending in the column compared) for every id at once."""
    tail = f" RETURNING {returning}" if returning else ""
    return await db.for_ids(table, f"{statement} {{ids}}{tail}", ids)


def _replay_entry(subject_id: UUID, origin: JournalEntry | UUID, rows: int) -> audit.Entry:
    details: dict[str, Any] = {"replay": True, "rows": rows}
    purpose = REPLAY_PURPOSE
    if isinstance(origin, JournalEntry):
        details["journal_seq"], purpose = origin.seq, origin.reason
    return audit.Entry(SYSTEM_ACTOR, Action.SUBJECT_ERASED, subject_id, purpose, details)


async def _delete_owned(subjects: db.IdParams, coaches: Mapping[UUID, UUID]) -> Counter[UUID]:
    """Rows that belong to the subjects: candidates' requests and everything under them,
    coaches' offers and agreements. Requests a coach won keep only the coach's id."""
    counts: Counter[UUID] = Counter()
    requests = await _for(
        ContactRequest,
        "DELETE FROM contact_request WHERE candidate_id",
        subjects.params,
        returning=f"id, {db.text_of('candidate_id')}",
    )
    candidate_of = {db.as_uuid(row["id"]): subjects[row["candidate_id"]] for row in requests}
    counts.update(candidate_of.values())
    offers = await _for(
        Offer, "DELETE FROM offer WHERE request_id", list(candidate_of), returning="request_id"
    )
    counts.update(candidate_of[db.as_uuid(row["request_id"])] for row in offers)
    subject_tables: tuple[type[Table], ...] = (Consent, CandidateDetail, CandidateFile)
    for table in subject_tables:
        rows = await _for(
            table,
            f"DELETE FROM {table._meta.tablename} WHERE subject_id",  # noqa: S608
            subjects.params,
            returning=db.text_of("subject_id"),
        )
        counts.update(subjects[row["subject_id"]] for row in rows)
    coach_tables: tuple[type[Table], ...] = (Offer, CoachAgreement)
    for table in coach_tables:
        rows = await _for(
            table,
            f"DELETE FROM {table._meta.tablename} WHERE coach_id",  # noqa: S608
            list(coaches),
            returning="coach_id",
        )
        counts.update(coaches[db.as_uuid(row["coach_id"])] for row in rows)
    return counts


async def _lock_subjects(subject_ids: Sequence[UUID]) -> None:
    """Serialise erasures of a subject, so only one of them counts the rows it deleted.

    SQLite's write transactions are serial already. On PostgreSQL a transaction-scoped
    advisory lock per subject (a two-key lock, apart from the audit log's one-key
    lock), taken in a fixed order so two batches cannot deadlock.
    """
    if db.is_sqlite() or not subject_ids:
        return
    # One statement; unnest keeps the array's (sorted) order, so locks are taken in it.
    await Subject.raw(
        "SELECT pg_advisory_xact_lock({}, hashtext(id)) FROM unnest({}::text[]) AS id",
        ERASURE_LOCK_CLASS,
        sorted(str(subject_id) for subject_id in subject_ids),
    )


async def still_present(subject_ids: Iterable[UUID]) -> set[UUID]:
    """Which of these subjects the database still holds any row or key of."""
    found: set[UUID] = set()
    for chunk in _chunks(subject_ids, LOOKUP_CHUNK):
        ids = db.IdParams(chunk)
        for column in (
            Subject.id,
            SubjectKey.subject_id,
            Coach.subject_id,
            Admin.subject_id,
            WaitingIntake.subject_id,
        ):
            table, name = column._meta.table, column._meta.name
            query = f"SELECT {db.text_of(name)} FROM {table._meta.tablename} WHERE {name}"  # noqa: S608
            rows = await _for(table, query, ids.params)
            found.update(ids[row[name]] for row in rows)
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


async def check_journal_against_audit(
    journal: ErasureJournal,
    entries: Sequence[JournalEntry] | None = None,
    *,
    up_to: int | None = None,
    batch_size: int = 1000,
) -> int:
    """Check that every erasure in the audit log is in the journal; return how many.

    Finds a journal that is missing or lost entries from its end, which the
    journal's own chain cannot show. ``entries``: the journal, if read already;
    ``up_to``: the audit log's head before it was read (erasures committed since
    may be in the journal or not).
    Raises :class:`IntegrityFailure`.
    """
    seen = None if entries is None else {entry.seq: entry.subject_id for entry in entries}
    checked, last = 0, 0
    # The journal position is read by the database from the JSON details: a restore
    # checks every erasure ever audited, and parsing each one in Python took longer.
    position = (
        "json_extract(details, '$.journal_seq')"
        if db.is_sqlite()
        else "(details->>'journal_seq')::bigint"
    )
    query = (
        f"SELECT seq, subject_id, {position} AS journal_seq FROM audit_entry "  # noqa: S608
        "WHERE action = {} AND seq > {} AND seq <= {} ORDER BY seq LIMIT {}"
    )
    head = up_to if up_to is not None else 2**62
    while True:
        rows = await db.fetch(
            AuditEntry, query, Action.SUBJECT_ERASED.value, last, head, batch_size
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
    journal_seq = row["journal_seq"]
    if journal_seq is None:
        return  # replay of a bare id: no journal position to check
    subject = row["subject_id"]
    if subject is None or seen.get(int(journal_seq)) != db.as_uuid(subject):
        raise IntegrityFailure(
            f"the erasure journal lacks line {journal_seq}, recorded by audit entry "
            f"{row['seq']}: entries were lost"
        )


def _ordinal(subject_id: UUID) -> int:
    return subject_id.int  # sorts as UUIDs do, without a Python comparison per pair


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
