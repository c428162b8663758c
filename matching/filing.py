"""Filing: a submission waiting in the intake inbox becomes the candidate's rows.

:func:`matching.intake.submit` stores a request as one sealed row of the inbox
(:class:`~matching.tables.WaitingIntake`) and the candidate's data key, in the
transaction that also records a ``file_intake`` job. Why not the tables at once:
filed, a request is ten rows in seven tables, and nine of their index entries land
at random places of big indexes (its ids and hashes are random on purpose). Under
a burst of submissions, writing those pages back at every commit bounded how many
requests a second the site could take; the inbox row is appended to a small table.

Filing opens the row under the candidate's key, writes what the request is filed
as (:func:`matching.intake.filed_rows`) and its jobs (the broadcast, the e-mail
with the private link) and deletes the row, in one transaction. It happens:

- in the ``file_intake`` job (:func:`run`), the oldest rows first, :data:`BATCH` at
  a time; a job that found a full batch queues the next. If the batch fails, its
  rows are filed one at a time, so one row that cannot be filed (a defect) holds
  up no other;
- first, when the candidate follows the private link before the job came
  (:func:`file_link`, called by :func:`matching.candidates.authenticate`), so that a
  reader never finds a request half there.

Each row is filed once: SQLite's writers take turns, and on PostgreSQL the rows
are taken ``FOR UPDATE SKIP LOCKED``. A row whose candidate was erased meanwhile
has no key left: it is only deleted. A row that cannot be filed (a defect: it does
not authenticate, or breaks a constraint) holds up no other (see
:func:`_file_one_by_one`); after a few tries it waits for an operator, counted on
the admins' dashboard, until retention erases it. Logs name such a row by its id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from piccolo.table import Table

from matching import bulk, db, intake, outbox
from matching.errors import DecryptionFailed, SubjectErased
from matching.runtime import Runtime
from matching.tables import WaitingIntake

log = logging.getLogger(__name__)

#: Rows a job files in one transaction (about 5 ms of work on the loop).
BATCH = 16
#: Failed filings of a row alone before jobs leave it alone.
MAX_ATTEMPTS = 3
_COLUMNS = "id, subject_id, request_id, token_hash, sealed, cv_content, received_at"
_FROM = f"SELECT {_COLUMNS} FROM intake_inbox"  # noqa: S608
_OLDEST = _FROM + " WHERE attempts < {} ORDER BY id LIMIT {}"
_OLDEST_IDS = "SELECT id FROM intake_inbox WHERE attempts < {} ORDER BY id LIMIT {}"
_BY_ID = _FROM + " WHERE id = {}"
_OF_LINK = _FROM + " WHERE token_hash = {}"
_WAITING = "SELECT id FROM intake_inbox WHERE token_hash = {}"


async def run(runtime: Runtime, job_id: UUID) -> int:
    """The ``file_intake`` job: file the oldest waiting rows; how many it filed."""
    try:
        async with outbox.unit_of_work(runtime):
            if not await outbox.complete(job_id):
                return 0
            return await _file_oldest(runtime)
    except Exception as exc:
        if not _about_a_row(exc):
            raise  # the database's state (busy, a lost connection): the job runs again
        filed = await _file_one_by_one(runtime)
    async with outbox.completing(job_id):
        return filed


async def file_waiting(runtime: Runtime) -> int:
    """File the oldest waiting rows now, as a job would; how many (at most :data:`BATCH`)."""
    async with outbox.unit_of_work(runtime):
        return await _file_oldest(runtime)


async def file_link(runtime: Runtime, token_hash: str) -> bool:
    """File the waiting submission of this private link now, if it is still waiting;
    whether there was one (filed now, or by a job a moment ago: read it again).

    A look-up comes first, outside any transaction, so that links that open nothing
    (mistyped, guessed, or of a request filed already) never wait for the writer. On
    PostgreSQL the row is then locked without skipping, so a job filing it meanwhile
    is waited for.
    """
    if not await db.fetch(WaitingIntake, _WAITING, token_hash):
        return False
    lock = "" if db.is_sqlite() else " FOR UPDATE"
    async with outbox.unit_of_work(runtime):
        await _file(runtime, await db.fetch(WaitingIntake, _OF_LINK + lock, token_hash))
    return True


async def _file_oldest(runtime: Runtime) -> int:
    rows = await _take(_OLDEST, MAX_ATTEMPTS, BATCH)
    filed = await _file(runtime, rows)
    if len(rows) == BATCH:  # more may wait: the next job takes them
        await outbox.enqueue(intake.FILE_ACTOR)
    return filed


async def _file_one_by_one(runtime: Runtime) -> int:
    """After a batch failed because of a row: each row in a transaction of its own, so
    that one row that cannot be filed holds up no other. Such a row counts an attempt;
    after :data:`MAX_ATTEMPTS` no job takes it: it waits for an operator (logged by its
    id, counted on the admins' dashboard), and retention erases it in the end."""
    oldest = await db.fetch(WaitingIntake, _OLDEST_IDS, MAX_ATTEMPTS, BATCH)
    filed = 0
    for row_id in (db.as_uuid(row["id"]) for row in oldest):
        try:
            async with outbox.unit_of_work(runtime):
                filed += await _file(runtime, await _take(_BY_ID, row_id))
        except Exception as exc:
            if not _about_a_row(exc):
                raise
            log.error("waiting intake %s could not be filed (%s)", row_id, type(exc).__name__)
            await WaitingIntake.update({WaitingIntake.attempts: WaitingIntake.attempts + 1}).where(
                WaitingIntake.id == row_id
            )
    if len(oldest) == BATCH:
        async with outbox.unit_of_work(runtime):
            await outbox.enqueue(intake.FILE_ACTOR)
    return filed


def _about_a_row(exc: Exception) -> bool:
    """Whether a failure comes from what a row holds (a defect) rather than from the
    database's state: only the former is worth filing rows one by one and counting."""
    return isinstance(exc, DecryptionFailed | ValueError | KeyError | TypeError) or (
        db.is_integrity_error(exc)
    )


async def waiting() -> int:
    """How many submissions wait to be filed."""
    return int(await WaitingIntake.count())


async def stuck() -> int:
    """How many submissions no job files any more (see :func:`_file_one_by_one`)."""
    return int(await WaitingIntake.count().where(WaitingIntake.attempts >= MAX_ATTEMPTS))


async def _take(query: str, *args: object) -> list[dict[str, Any]]:
    lock = "" if db.is_sqlite() else " FOR UPDATE SKIP LOCKED"
    return await db.fetch(WaitingIntake, query + lock, *args)


async def _file(runtime: Runtime, rows: Sequence[Mapping[str, Any]]) -> int:
    """File ``rows`` in the caller's transaction and delete them from the inbox; how many
    were filed (a row whose candidate was erased is only deleted)."""
    if not rows:
        return 0
    tables: dict[type[Table], list[dict[str, Any]]] = {}
    jobs: list[dict[str, Any]] = []
    filed = 0
    for row in rows:
        subject_id, row_id = db.as_uuid(row["subject_id"]), db.as_uuid(row["id"])
        try:
            key = await runtime.vault.stored_key(subject_id)
        except SubjectErased:
            log.info("waiting intake %s belongs to an erased subject: dropped", row_id)
            continue
        sealed = await runtime.vault.decrypt_text(
            subject_id, intake.INBOX, "sealed", row_id, bytes(row["sealed"])
        )
        sent = intake.received({**row, "request_id": db.as_uuid(row["request_id"])}, sealed)
        for table, new in intake.filed_rows(runtime.vault, key, sent):
            tables.setdefault(table, []).extend(new)
        jobs += intake.filed_jobs(subject_id, sent.request_id)
        filed += 1
    for table, new in tables.items():
        await bulk.insert(table, new)
    await outbox.enqueue_rows(jobs)
    await db.for_ids(
        WaitingIntake,
        "DELETE FROM intake_inbox WHERE id {ids}",
        [db.as_uuid(row["id"]) for row in rows],
    )
    return filed
