"""The home page in a real browser, in Dutch and in English (switched through the page).

Debian's chromium, driven by Playwright, against a real uvicorn server on a free
loopback port (the harness is in ``support.py`` and ``conftest.py``).
Screenshots go to ``test-output/screenshots/`` (git-ignored).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

from tests.browser.support import BROWSER_TEST, Account, SiteServer, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

pytestmark = BROWSER_TEST

BRAND_BLUE = "rgb(29, 78, 137)"  # --brand in site.css: proves the stylesheet loaded
COACH_EMAIL = "browser.coach@example.org"


@pytest.fixture
def coach(site: SiteServer) -> Account:
    return site.create_coach(email=COACH_EMAIL, name="Browser Coach")


def test_home_page_in_dutch_and_english(
    page: Page, context: BrowserContext, console_errors: list[str]
) -> None:
    from playwright.sync_api import expect

    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "nl"
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("Vind een loopbaancoach, met behoud van je privacy")
    expect(page.get_by_role("heading", name="Onze privacybelofte")).to_be_visible()
    header = page.locator(".site-header")
    assert header.evaluate("e => getComputedStyle(e).backgroundColor") == BRAND_BLUE
    assert not context.cookies(), "an anonymous visit must not set a cookie"
    home_nl = screenshot(page, "home-nl")

    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Find a career coach, privately")
    expect(page.get_by_role("heading", name="Our privacy promise")).to_be_visible()
    assert [c["name"] for c in context.cookies()] == ["lang"]
    home_en = screenshot(page, "home-en")

    # The choice sticks on the next page, then switch back.
    page.get_by_role("link", name="Coach login").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    page.get_by_role("button", name="Nederlands").click()
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen")
    screenshot(page, "login-nl")

    assert not console_errors, f"browser console errors (CSP?): {console_errors}"
    assert home_nl.stat().st_size > 10_000
    assert home_en.stat().st_size > 10_000


def test_a_coach_logs_in_and_out_in_the_browser(
    page: Page, context: BrowserContext, coach: Account
) -> None:
    from playwright.sync_api import expect

    page.goto("/login")
    page.get_by_label("E-mailadres").fill(COACH_EMAIL)
    page.get_by_label("Wachtwoord").fill("not the password at all")
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("alert")).to_have_text("E-mailadres, wachtwoord of code is onjuist.")
    assert not context.cookies()

    page.get_by_label("E-mailadres").fill(COACH_EMAIL)
    page.get_by_label("Wachtwoord").fill("a browser password")
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Welkom in je coachportaal")
    # The coach's topic, as its code or its label.
    expect(page.get_by_text(re.compile("carri[eè]reswitch", re.IGNORECASE))).to_be_visible()
    [cookie] = context.cookies()
    assert cookie["name"] == "__Host-session"
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert cookie["path"] == "/" and cookie["expires"] == -1  # ends with the browser
    screenshot(page, "coach-portal-nl")

    page.get_by_role("button", name="Uitloggen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Vind een loopbaancoach, met behoud van je privacy"
    )
    assert not context.cookies()
    page.goto("/coach")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen")
