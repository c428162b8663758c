"""axe-core (WCAG 2.1 A and AA) on every page there is, in Dutch and in English.

Each page fails on a serious or critical violation and leaves a full-page
screenshot in ``test-output/screenshots/a11y-*.png``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.browser.support import (
    BROWSER_TEST,
    SCREENSHOTS,
    SiteServer,
    assert_accessible,
    log_in,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = BROWSER_TEST


def test_the_public_pages_are_accessible(page: Page, console_errors: list[str]) -> None:
    page.goto("/")
    assert_accessible(page, "a11y-home-nl")
    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert_accessible(page, "a11y-home-en")

    page.goto("/login")
    assert_accessible(page, "a11y-login-en")
    page.get_by_role("button", name="Nederlands").click()
    page.wait_for_load_state()
    assert_accessible(page, "a11y-login-nl")

    # The login form with its error message.
    page.get_by_label("E-mailadres").fill("nobody@example.org")
    page.get_by_label("Wachtwoord").fill("not the password at all")
    page.get_by_role("button", name="Inloggen").click()
    page.get_by_role("alert").wait_for()
    assert_accessible(page, "a11y-login-error-nl")

    page.goto("/no-such-page")
    assert_accessible(page, "a11y-not-found-nl")
    assert not console_errors, f"browser console errors (CSP?): {console_errors}"


def test_the_coach_portal_is_accessible(
    site: SiteServer, page: Page, console_errors: list[str]
) -> None:
    coach = site.create_coach(email="a11y.coach@example.org", name="Toegankelijke Coach")
    log_in(page, coach)
    assert page.url.endswith("/coach")
    assert_accessible(page, "a11y-coach-home-nl")

    page.goto("/coach/security")
    assert_accessible(page, "a11y-coach-security-nl")
    page.locator("#code").fill("000000")
    page.locator("form[action='/coach/security'] [type=submit]").click()
    page.get_by_role("alert").wait_for()
    assert page.locator("#code").get_attribute("aria-describedby") == "totp-error"
    assert_accessible(page, "a11y-coach-security-error-nl")

    page.locator("#code").fill(coach.fresh_code())
    page.locator("form[action='/coach/security'] [type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#code").count() == 0, "two-step verification should be on"
    assert_accessible(page, "a11y-coach-security-on-nl")
    assert not console_errors, f"browser console errors (CSP?): {console_errors}"


def test_the_admin_portal_is_accessible(
    site: SiteServer, page: Page, console_errors: list[str]
) -> None:
    admin = site.create_admin(email="a11y.admin@example.org")
    log_in(page, admin)
    assert page.url.endswith("/admin")
    assert_accessible(page, "a11y-admin-home-nl")

    page.goto("/admin/mailbox")
    assert_accessible(page, "a11y-admin-mailbox-nl")

    # Out and straight back in: the harness gives a code the site has not seen yet.
    page.locator("form[action='/logout'] [type=submit]").click()
    page.wait_for_load_state()
    log_in(page, admin)
    assert page.url.endswith("/admin")
    assert not console_errors, f"browser console errors (CSP?): {console_errors}"


# -- the harness itself ----------------------------------------------------------------


def test_the_check_fails_on_a_violation_and_names_rule_impact_and_element(page: Page) -> None:
    page.goto("/")
    # DOM edits through the DevTools protocol: the page's CSP does not apply to them.
    page.evaluate(
        """() => document.querySelector('main').insertAdjacentHTML('beforeend',
            '<input id="nameless" type="text"><img class="no-alt" src="/static/favicon.svg">')"""
    )
    with pytest.raises(pytest.fail.Exception) as failed:
        assert_accessible(page, "a11y-harness-self-test")
    message = str(failed.value)
    assert "label (critical)" in message and "#nameless" in message
    assert "image-alt (critical)" in message and "at img" in message
    assert (SCREENSHOTS / "a11y-harness-self-test.png").stat().st_size > 10_000


def test_a_stylesheet_that_fails_to_load_is_a_console_error(
    page: Page, console_errors: list[str]
) -> None:
    page.goto("/no-such-page")  # the page's own 404 is the test's business, not an error
    assert not console_errors
    page.evaluate(
        """() => new Promise(done => {
            const link = document.createElement('link');
            link.rel = 'stylesheet';
            link.href = '/static/css/missing.css';
            link.onerror = done;
            document.head.append(link);
        })"""
    )
    page.wait_for_timeout(200)  # console events arrive after the load error
    assert any("missing.css" in problem for problem in console_errors), console_errors
