"""The anonymiser in a process of its own (the default of ``coachmatch run``): the same
text as in a thread, and a process that dies is reported (the job is retried), then
replaced."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator

import pytest

from matching.scrubbing import KnownValues, Scrubber, ScrubberUnavailable
from tests.conftest import SHARED_ANONYMISER_CACHE

TEXT = "Ik ben Sanne de Wit, bel me op 06 12345678 of mail sanne@example.org. Ik woon in Zwolle."
KNOWN = KnownValues(name="Sanne de Wit", terms=(("email", "sanne@example.org"),))


@pytest.fixture
async def in_process() -> AsyncIterator[Scrubber]:
    scrubber = Scrubber(SHARED_ANONYMISER_CACHE, processes=1)
    yield scrubber
    await asyncio.to_thread(scrubber.close)


async def test_a_process_scrubs_as_a_thread_does(in_process: Scrubber) -> None:
    await in_process.warm_up()
    expected = Scrubber(SHARED_ANONYMISER_CACHE).scrub(TEXT, KNOWN)
    assert await in_process.scrub_async(TEXT, KNOWN) == expected
    assert "Sanne" not in expected and "12345678" not in expected


async def test_a_dead_process_is_reported_then_replaced(in_process: Scrubber) -> None:
    await in_process.warm_up()
    pool = in_process._process_pool()
    for pid in list(pool._processes):  # the anonymiser is killed (say, out of memory)
        os.kill(pid, signal.SIGKILL)
    with pytest.raises(ScrubberUnavailable):
        for _ in range(50):  # the pool notices the death within a moment
            await in_process.scrub_async(TEXT, KNOWN)
            await asyncio.sleep(0.05)
    assert "Sanne" not in await in_process.scrub_async(TEXT, KNOWN)
