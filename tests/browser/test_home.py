"""The home page in a real browser, in Dutch and in English (switched through the page).

Debian's chromium, driven by Playwright, against a real uvicorn server on a free
loopback port. Screenshots go to ``test-output/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_settings

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
BRAND_BLUE = "rgb(29, 78, 137)"  # --brand in site.css: proves the stylesheet loaded
COACH_EMAIL = "browser.coach@example.org"
COACH_PASSWORD = "a browser password"


class _Server(threading.Thread):
    """The site on its own event loop in a thread, as ``coachmatch run`` serves it."""

    def __init__(self, data_dir: Path, sock: socket.socket) -> None:
        super().__init__(daemon=True)
        self.data_dir = data_dir
        self.sock = sock
        self.ready = threading.Event()
        self.server: object = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the test, not lost in the thread
            self.error = exc
            self.ready.set()

    async def _serve(self) -> None:
        import uvicorn

        from matching import accounts
        from matching.runtime import close_runtime, open_runtime
        from web.app import create_app

        settings = dataclasses.replace(
            make_settings(self.data_dir), allowed_hosts=("localhost", "127.0.0.1")
        )
        runtime = await open_runtime(settings)
        await accounts.create_coach(
            runtime,
            email=COACH_EMAIL,
            name="Browser Coach",
            password=COACH_PASSWORD,
            topics=["career-change"],
            regions=["utrecht"],
        )
        config = uvicorn.Config(
            create_app(runtime), log_level="warning", access_log=False, lifespan="on"
        )
        server = uvicorn.Server(config)
        self.server = server
        serving = asyncio.create_task(server.serve(sockets=[self.sock]))
        while not server.started and not serving.done():
            await asyncio.sleep(0.02)
        self.ready.set()
        try:
            await serving
        finally:
            await close_runtime(runtime)

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True  # type: ignore[attr-defined]
        self.join(timeout=10)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = _Server(tmp_path / "data", sock)
    server.start()
    server.ready.wait(timeout=30)
    if server.error is not None:
        raise server.error
    try:
        # localhost: a secure context for the browser, so it keeps our Secure cookies.
        yield f"http://localhost:{port}"
    finally:
        server.stop()
        sock.close()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_home_page_in_dutch_and_english(site: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="nl-NL", viewport={"width": 1200, "height": 900})
            page = context.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))

            page.goto(site + "/")
            assert page.locator("html").get_attribute("lang") == "nl"
            heading = page.get_by_role("heading", level=1)
            expect(heading).to_have_text("Vind een loopbaancoach, met behoud van je privacy")
            expect(page.get_by_role("heading", name="Onze privacybelofte")).to_be_visible()
            header = page.locator(".site-header")
            assert header.evaluate("e => getComputedStyle(e).backgroundColor") == BRAND_BLUE
            assert not context.cookies(), "an anonymous visit must not set a cookie"
            page.screenshot(path=str(SCREENSHOTS / "home-nl.png"), full_page=True)

            page.get_by_role("button", name="English").click()
            page.wait_for_load_state()
            expect(page.locator("html")).to_have_attribute("lang", "en")
            expect(page.get_by_role("heading", level=1)).to_have_text(
                "Find a career coach, privately"
            )
            expect(page.get_by_role("heading", name="Our privacy promise")).to_be_visible()
            assert [c["name"] for c in context.cookies()] == ["lang"]
            page.screenshot(path=str(SCREENSHOTS / "home-en.png"), full_page=True)

            # The choice sticks on the next page, then switch back.
            page.get_by_role("link", name="Coach login").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
            page.get_by_role("button", name="Nederlands").click()
            expect(page.locator("html")).to_have_attribute("lang", "nl")
            expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen")
            page.screenshot(path=str(SCREENSHOTS / "login-nl.png"), full_page=True)
        finally:
            browser.close()
    assert not problems, f"browser console errors (CSP?): {problems}"
    assert (SCREENSHOTS / "home-nl.png").stat().st_size > 10_000
    assert (SCREENSHOTS / "home-en.png").stat().st_size > 10_000


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")
def test_a_coach_logs_in_and_out_in_the_browser(site: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="nl-NL")
            page = context.new_page()
            page.goto(site + "/login")
            page.get_by_label("E-mailadres").fill(COACH_EMAIL)
            page.get_by_label("Wachtwoord").fill("not the password at all")
            page.get_by_role("button", name="Inloggen").click()
            expect(page.get_by_role("alert")).to_have_text(
                "E-mailadres, wachtwoord of code is onjuist."
            )
            assert not context.cookies()

            page.get_by_label("E-mailadres").fill(COACH_EMAIL)
            page.get_by_label("Wachtwoord").fill(COACH_PASSWORD)
            page.get_by_role("button", name="Inloggen").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Welkom in je coachportaal")
            expect(page.get_by_text("career-change")).to_be_visible()
            [cookie] = context.cookies()
            assert cookie["name"] == "__Host-session"
            assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
            assert cookie["path"] == "/" and cookie["expires"] == -1  # ends with the browser
            page.screenshot(path=str(SCREENSHOTS / "coach-portal-nl.png"), full_page=True)

            page.get_by_role("button", name="Uitloggen").click()
            expect(page.get_by_role("heading", level=1)).to_have_text(
                "Vind een loopbaancoach, met behoud van je privacy"
            )
            assert not context.cookies()
            page.goto(site + "/coach")
            expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen")
        finally:
            browser.close()
