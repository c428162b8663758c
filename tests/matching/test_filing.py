"""The intake inbox on SQLite and PostgreSQL: a submission is one sealed row, then filed."""

from __future__ import annotations

import asyncio
from uuid import UUID

from matching import candidates, db, filing, intake, operations, outbox
from matching.erasure_journal import ErasureReason
from matching.runtime import Runtime
from matching.tables import (
    CandidateDetail,
    CandidateFile,
    Consent,
    ContactRequest,
    OutboxJob,
    Subject,
    SubjectKey,
    WaitingIntake,
)
from tests.matching.test_request_flow import NOW, TODAY, form

PDF = b"%PDF-1.7\n" + b"0" * 400 + b"\n%%EOF\n"


async def submit(runtime: Runtime, **overrides: object) -> intake.Submitted:
    checked = intake.validate(form(**overrides), cv_max_bytes=1 << 20, today=TODAY)
    return await intake.submit(runtime, checked, now=NOW)


async def jobs(actor: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = (
        await OutboxJob.select(OutboxJob.id, OutboxJob.args)
        .where(OutboxJob.actor == actor)
        .output(load_json=True)
    )
    return rows


async def test_a_submission_is_one_sealed_row_and_a_key(runtime: Runtime) -> None:
    submitted = await submit(runtime)
    [row] = await WaitingIntake.select()
    assert row["request_id"] == submitted.request_id
    assert row["token_hash"] == intake.hash_token(submitted.token)
    assert await SubjectKey.count().where(SubjectKey.subject_id == row["subject_id"]) == 1
    for table in (Subject, Consent, ContactRequest, CandidateDetail):
        assert await table.count() == 0
    sealed = bytes(row["sealed"])
    for plain in ("Fenna", "fenna.dewit", "Molenaar", "Zwolle", submitted.token):
        assert plain.encode() not in sealed
    assert len(await jobs(intake.FILE_ACTOR)) == 1


async def test_the_job_files_the_request_as_the_tables_hold_it(runtime: Runtime) -> None:
    submitted = await submit(runtime)
    [job] = await jobs(intake.FILE_ACTOR)
    assert await filing.run(runtime, UUID(str(job["id"]))) == 1
    assert await filing.waiting() == 0
    [request] = await ContactRequest.select().where(ContactRequest.id == submitted.request_id)
    assert request["status"] == "pending"
    assert request["created_at"] == NOW
    assert request["token_hash"] == intake.hash_token(submitted.token)
    assert request["province"] == "overijssel"
    subject_id = request["candidate_id"]
    assert await Subject.count().where(Subject.id == subject_id) == 1
    consents = await Consent.select(Consent.purpose).where(Consent.subject_id == subject_id)
    assert {c["purpose"] for c in consents} == {"contact_share", "address", "special"}
    details = await CandidateDetail.select(CandidateDetail.field)
    assert {d["field"] for d in details} == {"city", "employment", "employer"}
    [broadcast] = await jobs(intake.BROADCAST_ACTOR)
    assert broadcast["args"] == {"request_id": str(submitted.request_id)}
    mails = await jobs("send_mail")
    assert [m["args"]["template"] for m in mails] == ["request_received"]  # type: ignore[index]
    # The request reads back as it was sent.
    shown = await candidates.status(runtime, submitted.token)
    assert shown.status == "waiting" and shown.topics == ("carriereswitch",)
    # A second delivery of the job files nothing twice.
    assert await filing.run(runtime, UUID(str(job["id"]))) == 0
    assert await ContactRequest.count() == 1


async def test_the_private_link_files_its_own_request_first(runtime: Runtime) -> None:
    first, second = await submit(runtime), await submit(runtime, email="other@example.org")
    link = await candidates.authenticate(runtime, second.token)
    assert link.request_id == second.request_id
    assert await ContactRequest.count() == 1
    [left] = await WaitingIntake.select(WaitingIntake.request_id)
    assert left["request_id"] == first.request_id
    shown = await candidates.status(runtime, first.token, request_id=first.request_id)
    assert shown.request_id == first.request_id
    assert await filing.waiting() == 0


async def test_a_link_of_nothing_waiting_files_nothing(runtime: Runtime) -> None:
    await submit(runtime)
    assert not await filing.file_link(runtime, intake.hash_token("not-a-token-of-ours" * 2))
    assert await filing.waiting() == 1


async def test_a_full_batch_queues_the_next_job(runtime: Runtime) -> None:
    for n in range(filing.BATCH + 3):
        await submit(runtime, email=f"candidate{n}@example.org")
    before = len(await jobs(intake.FILE_ACTOR))
    assert await filing.file_waiting(runtime) == filing.BATCH
    assert len(await jobs(intake.FILE_ACTOR)) == before + 1  # the full batch queued one
    assert await filing.file_waiting(runtime) == 3
    assert len(await jobs(intake.FILE_ACTOR)) == before + 1  # not full: nothing more waits
    assert await ContactRequest.count() == filing.BATCH + 3


async def test_two_filings_at_once_file_each_row_once(runtime: Runtime) -> None:
    for n in range(5):
        await submit(runtime, email=f"candidate{n}@example.org")
    filed = await asyncio.gather(filing.file_waiting(runtime), filing.file_waiting(runtime))
    assert sum(filed) == 5
    assert await ContactRequest.count() == 5 and await filing.waiting() == 0


async def test_erasing_a_waiting_candidate_takes_the_row_and_the_key(runtime: Runtime) -> None:
    await submit(runtime)
    [row] = await WaitingIntake.select(WaitingIntake.subject_id)
    result = await runtime.erasure.erase(
        row["subject_id"], reason=ErasureReason.CANDIDATE_REQUEST, actor="test"
    )
    assert result.rows_deleted >= 2 and not result.already_erased
    assert await filing.waiting() == 0
    assert await SubjectKey.count().where(SubjectKey.subject_id == row["subject_id"]) == 0
    assert await filing.file_waiting(runtime) == 0
    assert await ContactRequest.count() == 0


async def test_a_row_without_its_key_is_dropped_not_filed(runtime: Runtime) -> None:
    kept = await submit(runtime)
    await submit(runtime, email="restored@example.org")
    [lost] = await WaitingIntake.select(WaitingIntake.subject_id).where(
        WaitingIntake.request_id != kept.request_id
    )
    # The key shredded while the row waits (an erasure deletes both; this is the key only).
    async with db.write_transaction():
        await runtime.vault.shred(lost["subject_id"])
    assert await filing.file_waiting(runtime) == 1
    assert await filing.waiting() == 0
    [request] = await ContactRequest.select(ContactRequest.id)
    assert request["id"] == kept.request_id


async def test_a_cv_is_filed_as_it_was_sealed(runtime: Runtime) -> None:
    submitted = await submit(
        runtime,
        consents=["contact_share", "cv"],
        city="",
        employment="",
        employer="",
        cv_filename="cv.pdf",
        cv_content=PDF,
    )
    [waiting] = await WaitingIntake.select(WaitingIntake.cv_content)
    assert PDF not in bytes(waiting["cv_content"])
    await filing.file_waiting(runtime)
    [file] = await CandidateFile.select().where(CandidateFile.request_id == submitted.request_id)
    assert file["size"] == len(PDF) and file["media_type"] == "application/pdf"
    content = await runtime.vault.decrypt_bytes(
        file["subject_id"], "candidate_file", "content", file["id"], file["content"]
    )
    assert content == PDF
    name = await runtime.vault.decrypt_text(
        file["subject_id"], "candidate_file", "filename", file["id"], file["filename"]
    )
    assert name == "cv.pdf"


async def test_a_row_that_cannot_be_filed_holds_up_no_other(runtime: Runtime) -> None:
    filed = await submit(runtime)
    await filing.file_waiting(runtime)
    broken, fine = await submit(runtime, email="b@example.org"), await submit(runtime)
    # A defect, simulated: the row names a request id that is taken.
    await WaitingIntake.update({WaitingIntake.request_id: filed.request_id}).where(
        WaitingIntake.request_id == broken.request_id
    )
    for attempt in range(1, filing.MAX_ATTEMPTS + 1):
        async with outbox.unit_of_work(runtime):
            job_id = await outbox.enqueue(intake.FILE_ACTOR)
        assert await filing.run(runtime, job_id) == (1 if attempt == 1 else 0)
        [left] = await WaitingIntake.select(WaitingIntake.attempts)
        assert left["attempts"] == attempt
        assert await outbox.is_done(job_id)
    assert await ContactRequest.count().where(ContactRequest.id == fine.request_id) == 1
    assert await filing.file_waiting(runtime) == 0  # left for an operator
    assert await filing.waiting() == 1


async def test_a_link_read_while_the_job_files_it_still_opens(runtime: Runtime) -> None:
    submitted = await submit(runtime)
    digest = intake.hash_token(submitted.token)
    # The job files the row after the reader found no filed request, before its look-up.
    assert await filing.file_waiting(runtime) == 1
    assert not await filing.file_link(runtime, digest)
    link = await candidates.authenticate(runtime, submitted.token)
    assert link.request_id == submitted.request_id


async def test_a_row_that_does_not_authenticate_waits_for_an_operator(runtime: Runtime) -> None:
    await submit(runtime)
    [row] = await WaitingIntake.select(WaitingIntake.id, WaitingIntake.sealed)
    tampered = bytearray(row["sealed"])
    tampered[-1] ^= 1
    await WaitingIntake.update({WaitingIntake.sealed: bytes(tampered)}).where(
        WaitingIntake.id == row["id"]
    )
    for _ in range(filing.MAX_ATTEMPTS):
        async with outbox.unit_of_work(runtime):
            job_id = await outbox.enqueue(intake.FILE_ACTOR)
        assert await filing.run(runtime, job_id) == 0
    assert await filing.waiting() == 1 and await filing.stuck() == 1
    assert (await operations.status(NOW)).stuck_requests == 1
    assert (await operations.status(NOW)).attention


async def test_the_one_by_one_pass_queues_the_next_job_when_more_wait(runtime: Runtime) -> None:
    first = await submit(runtime)
    await filing.file_waiting(runtime)
    for n in range(filing.BATCH + 1):
        await submit(runtime, email=f"candidate{n}@example.org")
    [oldest] = await WaitingIntake.select(WaitingIntake.id).order_by(WaitingIntake.id).limit(1)
    await WaitingIntake.update({WaitingIntake.request_id: first.request_id}).where(
        WaitingIntake.id == oldest["id"]
    )
    async with outbox.unit_of_work(runtime):
        job_id = await outbox.enqueue(intake.FILE_ACTOR)
    before = len(await jobs(intake.FILE_ACTOR))
    assert await filing.run(runtime, job_id) == filing.BATCH - 1
    assert len(await jobs(intake.FILE_ACTOR)) == before + 1
    assert await filing.waiting() == 2  # the broken row, and the one past the batch
