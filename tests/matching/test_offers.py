"""The coach's side on SQLite and PostgreSQL: feed, offer, decline, matches, close, profile."""

from __future__ import annotations

import datetime
from typing import Any
from uuid import UUID

import pytest

from matching import audit, broadcast, coaches, filing, intake, matches, offers
from matching.errors import (
    AtCapacity,
    InvalidFields,
    InvalidInput,
    NotFound,
    NotOpen,
    RequestAlreadyMatched,
)
from matching.runtime import Runtime
from matching.tables import AuditEntry, CoachAgreement, ContactRequest, Offer, OutboxJob
from tests.matching.offer_support import PDF, SUMMARY, open_request, quick_coaches

T0 = datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.UTC)


async def entries(action: str, **where: Any) -> list[dict[str, Any]]:
    rows = await AuditEntry.select().where(AuditEntry.action == action).output(load_json=True)
    return [r for r in rows if all(r.get(k) == v for k, v in where.items())]


async def test_the_feed_shows_open_offers_newest_first(runtime: Runtime) -> None:
    me, other = await quick_coaches(runtime, 2)
    older = await open_request(runtime, [me.id], offered_at=T0)
    newer = await open_request(
        runtime, [me.id, other.id], offered_at=T0 + datetime.timedelta(minutes=1), age_band=None
    )
    await open_request(runtime, [other.id], offered_at=T0)  # not mine
    matched = await open_request(runtime, [me.id, other.id], offered_at=T0)
    await matches.accept(runtime, other.id, matched)
    withdrawn = await open_request(runtime, [me.id], offered_at=T0)
    await ContactRequest.update({ContactRequest.status: "withdrawn"}).where(
        ContactRequest.id == withdrawn
    )

    page = await offers.feed(runtime, me.id)
    assert [v.request_id for v in page] == [newer, older]
    assert page.next_before is None
    first = page[0]
    assert first.summary == SUMMARY and first.status == "offered"
    assert first.topics == ("carriereswitch",) and first.province == "overijssel"
    assert first.age_band is None and first.field_of_work == "zorg"
    assert first.employment == "employed" and first.language == "nl"
    assert "Fenna" not in repr(first.as_dict())
    # Anonymised text needs no audit entry; nothing personal was decrypted.
    assert not await entries(audit.Action.DATA_DECRYPTED, actor=f"coach:{me.id}")


async def test_keyset_pages_neither_skip_nor_repeat(runtime: Runtime) -> None:
    [me] = await quick_coaches(runtime, 1)
    # Five share one timestamp: the offer id breaks the tie.
    times = [T0] * 5 + [T0 + datetime.timedelta(seconds=s) for s in range(1, 8)]
    made = {await open_request(runtime, [me.id], offered_at=t) for t in times}
    seen: list[UUID] = []
    before = None
    for _ in range(10):
        page = await offers.feed(runtime, me.id, limit=5, before=before)
        seen += [v.request_id for v in page]
        offered = [v.offered_at for v in page]
        assert offered == sorted(offered, reverse=True)
        before = page.next_before
        if before is None:
            break
    assert len(seen) == len(set(seen)) == len(made) and set(seen) == made
    with pytest.raises(InvalidInput):
        await offers.feed(runtime, me.id, before="12.not-a-cursor")
    with pytest.raises(InvalidInput):
        await offers.feed(runtime, me.id, limit=0)
    with pytest.raises(InvalidInput):
        await offers.feed(runtime, me.id, limit=offers.MAX_LIMIT + 1)


async def test_the_feed_reads_the_page_keys_at_once(runtime: Runtime) -> None:
    [me] = await quick_coaches(runtime, 1)
    for _ in range(4):
        await open_request(runtime, [me.id])
    runtime.vault.cache.clear()
    page = await offers.feed(runtime, me.id)
    rows = await ContactRequest.select(ContactRequest.candidate_id)
    assert len(page) == 4
    assert all(r["candidate_id"] in runtime.vault.cache for r in rows)


async def test_one_offer_says_who_may_still_answer(runtime: Runtime) -> None:
    winner, loser, stranger = await quick_coaches(runtime, 3)
    request_id = await open_request(runtime, [winner.id, loser.id])
    view = await offers.offer(runtime, loser.id, request_id)
    assert view.status == "offered" and view.summary == SUMMARY
    with pytest.raises(NotFound):
        await offers.offer(runtime, stranger.id, request_id)
    await matches.accept(runtime, winner.id, request_id)
    with pytest.raises(RequestAlreadyMatched):
        await offers.offer(runtime, loser.id, request_id)
    assert (await offers.offer(runtime, winner.id, request_id)).status == "accepted"

    expired = await open_request(runtime, [loser.id])
    await ContactRequest.update({ContactRequest.status: "expired"}).where(
        ContactRequest.id == expired
    )
    with pytest.raises(NotOpen):
        await offers.offer(runtime, loser.id, expired)


async def test_decline_records_the_reason_and_leaves_the_feed(runtime: Runtime) -> None:
    me, other = await quick_coaches(runtime, 2)
    request_id = await open_request(runtime, [me.id, other.id])
    with pytest.raises(InvalidInput):
        await offers.decline(me.id, request_id, "too busy, sorry")
    await offers.decline(me.id, request_id, "not_my_field")
    [row] = await Offer.select().where((Offer.coach_id == me.id) & (Offer.request_id == request_id))
    assert row["status"] == "declined" and row["decline_reason"] == "not_my_field"
    assert await offers.feed(runtime, me.id) == []
    assert (await offers.offer(runtime, me.id, request_id)).status == "declined"
    [entry] = await entries(audit.Action.REQUEST_DECLINED)
    assert entry["details"]["reason"] == "not_my_field"
    assert entry["actor"] == f"coach:{me.id}"

    await offers.decline(me.id, request_id)  # again, without a reason
    [row] = await Offer.select().where((Offer.coach_id == me.id) & (Offer.request_id == request_id))
    assert row["decline_reason"] is None
    # Declining does not take the request away from anyone else.
    assert [v.request_id for v in await offers.feed(runtime, other.id)] == [request_id]
    # A coach who declined may still change their mind while the request is open.
    contact = await matches.accept(runtime, me.id, request_id)
    assert contact.name == "Fenna de Wit"
    with pytest.raises(RequestAlreadyMatched):
        await offers.decline(other.id, request_id)
    with pytest.raises(NotFound):
        await offers.decline(other.id, await open_request(runtime, []))


async def test_only_the_winner_reads_the_contact_and_every_read_is_audited(
    runtime: Runtime,
) -> None:
    winner, loser = await quick_coaches(runtime, 2)
    request_id = await open_request(
        runtime, [winner.id, loser.id], details={"city": "Zwolle"}, cv=PDF
    )
    await matches.accept(runtime, winner.id, request_id)
    candidate = (await ContactRequest.select().where(ContactRequest.id == request_id))[0][
        "candidate_id"
    ]

    detail = await offers.match(runtime, winner.id, request_id)
    assert detail.contact is not None and detail.contact.details == {"city": "Zwolle"}
    download = await offers.cv(runtime, winner.id, request_id)
    assert download.content == PDF and download.media_type == "application/pdf"
    [listed] = await offers.my_matches(runtime, winner.id)
    assert listed.name == "Fenna de Wit" and not listed.closed

    for call in (offers.match, offers.cv):
        with pytest.raises(NotFound):
            await call(runtime, loser.id, request_id)
    assert await offers.my_matches(runtime, loser.id) == []

    reads = await entries(audit.Action.DATA_DECRYPTED, subject_id=candidate)
    purposes = sorted(r["purpose"] for r in reads)
    # accept() shows the contact once, then match(), the CV and the list.
    assert purposes == ["match_contact", "match_contact", "match_cv", "match_list"]
    assert {r["actor"] for r in reads} == {f"coach:{winner.id}"}


async def test_closing_a_match_hides_the_contact_and_frees_capacity(runtime: Runtime) -> None:
    [me] = await quick_coaches(runtime, 1, capacity=1)
    first = await open_request(runtime, [me.id], cv=PDF)
    second = await open_request(runtime, [me.id])
    await matches.accept(runtime, me.id, first)
    with pytest.raises(AtCapacity):
        await matches.accept(runtime, me.id, second)
    assert await offers.active_match_count(me.id) == 1

    await offers.close_match(me.id, first)
    await offers.close_match(me.id, first)  # closing twice is fine
    assert len(await entries(audit.Action.DATA_CHANGED, purpose="match_closed")) == 1
    reads_before = len(await entries(audit.Action.DATA_DECRYPTED))
    detail = await offers.match(runtime, me.id, first)
    assert detail.contact is None and detail.summary.closed and detail.summary.name is None
    with pytest.raises(NotFound):
        await offers.cv(runtime, me.id, first)
    [closed] = await offers.my_matches(runtime, me.id)
    assert closed.name is None and closed.closed
    assert len(await entries(audit.Action.DATA_DECRYPTED)) == reads_before

    await matches.accept(runtime, me.id, second)
    [other] = await quick_coaches(runtime, 1, prefix="other")
    with pytest.raises(NotFound):
        await offers.close_match(other.id, second)


async def test_profile_changes_are_validated_and_audited(runtime: Runtime) -> None:
    [me] = await quick_coaches(runtime, 1)
    actor = f"coach:{me.id}"
    profile = await coaches.update_profile(
        me.id,
        topics=["burn-out", "Stress"],
        regions=["utrecht", "online"],
        languages=["en"],
        capacity="12",
        paused=True,
        actor=actor,
    )
    assert profile.topics == ("burn-out", "stress") and profile.regions == ("utrecht", "online")
    assert profile.languages == ("en",) and profile.capacity == 12 and profile.paused
    [entry] = await entries(audit.Action.PROFILE_CHANGED)
    assert entry["details"]["fields"] == ["capacity", "languages", "paused", "regions", "topics"]

    same = await coaches.update_profile(
        me.id,
        topics=["burn-out", "stress"],
        regions=["utrecht", "online"],
        languages=["en"],
        capacity=12,
        paused=True,
        actor=actor,
    )
    assert same == profile
    assert len(await entries(audit.Action.PROFILE_CHANGED)) == 1

    with pytest.raises(InvalidFields) as caught:
        await coaches.update_profile(
            me.id,
            topics=["astrology"],
            regions=[],
            languages=[],
            capacity="51",
            paused=False,
            actor=actor,
        )
    assert set(caught.value.errors) == {"topics", "regions", "languages", "capacity"}
    for capacity in (0, 51, "", "two", "-1", True):
        with pytest.raises(InvalidFields):
            await coaches.update_profile(
                me.id,
                topics=["stress"],
                regions=["online"],
                languages=["nl"],
                capacity=capacity,  # type: ignore[arg-type]
                paused=False,
                actor=actor,
            )
    with pytest.raises(InvalidFields):
        await coaches.update_profile(
            me.id,
            topics=[
                "loopbaan",
                "stress",
                "burn-out",
                "leiderschap",
                "communicatie",
                "zelfvertrouwen",
            ],
            regions=["online"],
            languages=["nl"],
            capacity=3,
            paused=False,
            actor=actor,
        )
    assert await coaches.profile(me.id) == profile


async def test_the_agreement_is_recorded_once_per_version(runtime: Runtime) -> None:
    [me] = await quick_coaches(runtime, 1, sign=False)
    state = await coaches.agreement_state(me.id)
    assert not state.accepted and state.clauses and state.version
    with pytest.raises(InvalidInput):
        await coaches.accept_agreement(me.id, "1999-01-01", actor=f"coach:{me.id}")
    accepted = await coaches.accept_agreement(me.id, state.version, actor=f"coach:{me.id}")
    again = await coaches.accept_agreement(me.id, state.version, actor=f"coach:{me.id}")
    assert accepted.accepted and again.accepted_at == accepted.accepted_at
    assert await CoachAgreement.count().where(CoachAgreement.coach_id == me.id) == 1


async def test_the_dashboard_tells_what_stands_in_the_way(runtime: Runtime) -> None:
    [unsigned] = await quick_coaches(runtime, 1, sign=False, capacity=1)
    request_id = await open_request(runtime, [unsigned.id])
    board = await coaches.dashboard(runtime, unsigned.id)
    assert not board.agreement_accepted and not board.at_capacity
    assert [v.request_id for v in board.offers] == [request_id]
    page = await coaches.offer_page(runtime, unsigned.id, request_id)
    assert not page.agreement_accepted and page.offer.request_id == request_id


async def test_the_real_flow_from_intake_to_my_matches(runtime: Runtime) -> None:
    me, other = await quick_coaches(runtime, 2)
    form = intake.IntakeForm(
        name="Fenna de Wit",
        email="fenna.dewit@example.org",
        motivation="Ik ben Fenna de Wit en werk bij Bakkerij Molenaar in Zwolle. "
        "Ik wil graag hulp bij een carrièreswitch.",
        topics=["carriereswitch"],
        consents=["contact_share", "address"],
        city="Zwolle",
    )
    checked = intake.validate(form, cv_max_bytes=1 << 20, today=T0.date())
    submitted = await intake.submit(runtime, checked, now=T0)
    await filing.file_waiting(runtime)
    [job] = await OutboxJob.select(OutboxJob.id).where(OutboxJob.actor == intake.BROADCAST_ACTOR)
    assert (await broadcast.run(runtime, job["id"], submitted.request_id)).status == "open"

    [view] = await offers.feed(runtime, me.id)
    assert view.province == "overijssel"
    assert "Fenna" not in view.summary and "Molenaar" not in view.summary
    contact = await matches.accept(runtime, me.id, submitted.request_id)
    assert contact.details == {"city": "Zwolle"}
    [listed] = await offers.my_matches(runtime, me.id)
    assert listed.name == "Fenna de Wit"
    assert await offers.feed(runtime, other.id) == []


async def test_after_a_match_the_job_settles_the_other_offers_once(runtime: Runtime) -> None:
    winner, *others = await quick_coaches(runtime, 4)
    request_id = await open_request(runtime, [winner.id, *(c.id for c in others)])
    await matches.accept(runtime, winner.id, request_id)

    async def statuses() -> dict[UUID, str]:
        rows = await Offer.select(Offer.coach_id, Offer.status).where(
            Offer.request_id == request_id
        )
        return {r["coach_id"]: r["status"] for r in rows}

    # The winner's commit leaves the others to the job; no one sees them meanwhile.
    assert (await statuses())[winner.id] == "accepted"
    assert {(await statuses())[c.id] for c in others} == {"offered"}
    for coach in others:
        assert await offers.feed(runtime, coach.id) == []
    [job] = (
        await OutboxJob.select(OutboxJob.id, OutboxJob.args)
        .where(OutboxJob.actor == matches.SETTLE_OFFERS_ACTOR)
        .output(load_json=True)
    )
    assert job["args"] == {"request_id": str(request_id)}

    assert await matches.settle_offers(job["id"], request_id) == len(others)
    assert await matches.settle_offers(job["id"], request_id) == 0  # a second delivery
    assert await statuses() == {
        winner.id: "accepted",
        **{c.id: "missed" for c in others},
    }


async def test_a_feed_page_skips_matched_requests_it_has_not_settled(runtime: Runtime) -> None:
    me, other = await quick_coaches(runtime, 2)
    older = await open_request(runtime, [me.id], offered_at=T0)
    matched = await open_request(
        runtime, [me.id, other.id], offered_at=T0 + datetime.timedelta(minutes=1)
    )
    await matches.accept(runtime, other.id, matched)
    page = await offers.feed(runtime, me.id, limit=1)
    assert [v.request_id for v in page] == [older]
