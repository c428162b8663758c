"""Fixtures for the domain tests: an open runtime over the test database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from matching.config import Settings
from matching.runtime import Runtime, close_runtime, open_runtime


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    runtime = await open_runtime(settings)
    yield runtime
    await close_runtime(runtime)
