"""200 coaches accept the same request at once, 20 rounds, through the app: one winner each.

Every coach has a real account row and a real session; the accepts are real
``POST /api/coach/requests/{id}/accept`` calls with the session cookie and CSRF
header, all in flight at the same moment on the app's event loop (the order is
shuffled every round). Exactly one answer per round is 200 with the contact
details, every other is 409 ``already_matched``, nothing is a 5xx, and the
database agrees: one winner, one accepted offer, and after the job that
follows the match, the rest missed.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import Counter

import pytest
from litestar import Litestar

from matching import matches
from matching.runtime import Runtime
from matching.tables import ContactRequest, Offer, OutboxJob
from tests.matching.offer_support import open_request, quick_coaches
from tests.web.support import client_for

COACHES = 200
ROUNDS = 20

pytestmark = pytest.mark.slow


async def test_two_hundred_coaches_accept_at_once_and_one_wins(
    runtime: Runtime, app: Litestar, capsys: pytest.CaptureFixture[str]
) -> None:
    coaches = await quick_coaches(runtime, COACHES, capacity=50)
    by_id = {c.id: c for c in coaches}
    shuffle = random.Random(4)
    latencies: list[float] = []
    round_times: list[float] = []
    winners: list[object] = []
    async with client_for(app) as client:  # in-process ASGI transport: no connection limit

        async def accept(request_id: object, coach_id: object) -> tuple[object, int, str]:
            coach = by_id[coach_id]  # type: ignore[index]
            started = time.perf_counter()
            response = await client.post(
                f"/api/coach/requests/{request_id}/accept", headers=coach.headers
            )
            latencies.append(time.perf_counter() - started)
            body = response.json()
            code = body.get("code", "") if response.status_code != 200 else "won"
            return coach_id, response.status_code, code

        for _ in range(ROUNDS):
            order = [c.id for c in coaches]
            shuffle.shuffle(order)
            request_id = await open_request(runtime, order)
            started = time.perf_counter()
            results = await asyncio.gather(*(accept(request_id, c) for c in order))
            round_times.append(time.perf_counter() - started)

            statuses = Counter(status for _, status, _ in results)
            assert statuses == {200: 1, 409: COACHES - 1}, statuses
            assert {code for _, status, code in results if status == 409} == {"already_matched"}
            [winner] = [coach_id for coach_id, status, _ in results if status == 200]
            winners.append(winner)
            [row] = await ContactRequest.select().where(ContactRequest.id == request_id)
            assert row["status"] == "matched" and row["matched_coach_id"] == winner
            offers = await Offer.select(Offer.coach_id, Offer.status).where(
                Offer.request_id == request_id
            )
            assert {o["coach_id"] for o in offers if o["status"] == "accepted"} == {winner}
            [job] = await OutboxJob.select(OutboxJob.id).where(
                (OutboxJob.actor == matches.SETTLE_OFFERS_ACTOR) & OutboxJob.done_at.is_null()
            )
            assert await matches.settle_offers(job["id"], request_id) == COACHES - 1

    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    with capsys.disabled():
        print(
            f"\naccept race ({runtime.engine.__class__.__name__}): {ROUNDS} rounds x {COACHES} "
            f"coaches; round median {statistics.median(round_times) * 1000:.0f} ms, "
            f"max {max(round_times) * 1000:.0f} ms; request p50 "
            f"{statistics.median(latencies) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms; "
            f"{len(set(winners))} different winners"
        )
