"""Fixtures for the browser tests (helpers in ``support.py``).

- ``site``: a fresh :class:`~tests.browser.support.SiteServer` per test (own data
  folder and database, embedded workers); override ``site_settings`` in a module
  to change settings.
- ``browser``: Debian's chromium, one per test module; skips the test with a
  reason when ``/usr/bin/chromium`` is missing.
- ``new_context(locale="nl-NL", **options)``: a new browser context (its own
  cookies: one per person in a journey) whose ``base_url`` is the site, so
  ``page.goto("/login")`` works; closed after the test. Console errors and
  uncaught exceptions of its pages go to ``console_errors``.
- ``context`` and ``page``: one Dutch context and a page in it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.support import (
    CHROMIUM,
    VIEWPORT,
    NewContext,
    SiteServer,
    launch_chromium,
    running_site,
    watch_console,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page


@pytest.fixture
def site_settings() -> dict[str, object]:
    """Settings overrides for ``site`` (see ``tests.conftest.make_settings``)."""
    return {}


@pytest.fixture
def site(tmp_path: Path, site_settings: dict[str, object]) -> Iterator[SiteServer]:
    with running_site(tmp_path / "data", site_settings) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: Playwright's sync API marks an event loop as running in this
    # thread while it is started, which async tests elsewhere would trip over.
    if not CHROMIUM.exists():
        pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def console_errors() -> list[str]:
    """Console errors and page exceptions of every page the fixtures opened."""
    return []


@pytest.fixture
def new_context(
    browser: Browser, site: SiteServer, console_errors: list[str]
) -> Iterator[NewContext]:
    opened: list[BrowserContext] = []

    def make(*, locale: str = "nl-NL", **options: Any) -> BrowserContext:
        options.setdefault("viewport", VIEWPORT)
        context = browser.new_context(base_url=site.url, locale=locale, **options)
        context.on("page", lambda page: watch_console(page, console_errors))
        opened.append(context)
        return context

    yield make
    for context in opened:
        context.close()


@pytest.fixture
def context(new_context: NewContext) -> BrowserContext:
    return new_context()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()
