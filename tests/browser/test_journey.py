"""The main journey in a real browser, in Dutch: from a candidate's question to a match.

A candidate fills the request form (once with mistakes), previews and edits the
anonymised text, sends it and follows the private link from the e-mail; two
coaches log in (password and TOTP), accept the data-processing agreement and see
the anonymised offer in their feed; coach A accepts and sees the contact
details, coach B is too late and sees the friendly "already matched" page (409);
the candidate's status page shows coach A. Everything goes through the real
pages of one site with its embedded workers (broadcast, mail), one browser
context per person.

Every page of the journey passes axe-core (WCAG 2.1 A and AA, no serious or
critical violation) and leaves a screenshot ``test-output/screenshots/journey-*.png``.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import pytest

from tests.browser.support import (
    BROWSER_TEST,
    Account,
    NewContext,
    SiteServer,
    assert_accessible,
    log_in,
    wait_for_mail,
)

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

pytestmark = BROWSER_TEST

NAME = "Sanne Verhoeven"
EMAIL = "sanne.verhoeven@example.org"
PHONE = "06-12345678"
MOTIVATION = (
    f"Ik ben {NAME} uit Zwolle en je kunt me bellen op {PHONE}. Ik werk al tien jaar "
    "als verpleegkundige en wil graag hulp bij een carrièreswitch naar de ICT."
)
ADDED = "Gesprekken in de avond passen mij het best."
TOPIC = "carriereswitch"
WAIT_SECONDS = 30.0  # the embedded workers: broadcast, mail


def reload_until(page: Page, locator: Locator, *, timeout: float = WAIT_SECONDS) -> None:
    """Reload the page until ``locator`` is on it (work done by the site's workers)."""
    deadline = time.monotonic() + timeout
    while locator.count() == 0:
        if time.monotonic() > deadline:
            pytest.fail(f"{locator} did not appear on {page.url} within {timeout} s")
        page.wait_for_timeout(200)
        page.reload()


def coach_accepts_agreement(page: Page, coach: Account, shot: str | None) -> None:
    """Log in with password and TOTP, then accept the agreement through its page."""
    from playwright.sync_api import expect

    log_in(page, coach)
    expect(page).to_have_url(re.compile(r"/coach$"))
    page.get_by_role("link", name="De overeenkomst lezen").first.click()
    expect(page).to_have_url(re.compile(r"/coach/agreement$"))
    if shot:
        assert_accessible(page, shot)
    page.get_by_label("Ik heb de overeenkomst gelezen en ga ermee akkoord").check()
    page.get_by_role("button", name="Verwerkersovereenkomst accepteren").click()
    expect(page.get_by_role("status")).to_contain_text("Je hebt deze versie geaccepteerd")


def test_a_candidate_is_matched_with_the_first_coach_who_accepts(
    site: SiteServer, new_context: NewContext, console_errors: list[str]
) -> None:
    from playwright.sync_api import expect

    coach_a = site.create_coach(
        email="anna.coach@example.org",
        name="Anna de Coach",
        topics=(TOPIC,),
        regions=("online",),
        languages=("nl", "en"),
        require_totp=True,
    )
    coach_b = site.create_coach(
        email="bram.coach@example.org",
        name="Bram de Coach",
        topics=(TOPIC,),
        regions=("online",),
        languages=("nl", "en"),
        require_totp=True,
    )
    candidate = new_context().new_page()

    # 1. Home page, the call to action, the form.
    candidate.goto("/")
    assert_accessible(candidate, "journey-01-home")
    candidate.get_by_role("link", name="Vraag een coach aan").click()
    expect(candidate).to_have_url(re.compile(r"/request$"))
    expect(candidate.get_by_role("heading", level=1)).to_have_text("Vraag een coach aan")
    assert_accessible(candidate, "journey-02-form")

    # The form with mistakes: an invalid e-mail address and no contact consent.
    candidate.get_by_label("Je naam").fill(NAME)
    candidate.get_by_label("Je e-mailadres").fill("sanne.verhoeven@")
    candidate.get_by_label("Waarbij wil je hulp?").fill(MOTIVATION)
    candidate.locator(f"#topic-{TOPIC}").check()
    candidate.locator("#consent-address").check()
    candidate.locator("#field-city").fill("Zwolle")
    candidate.locator("#consent-phone").check()
    candidate.locator("#field-phone").fill(PHONE)
    with candidate.expect_response(re.compile(r"/request/preview$")) as answer:
        candidate.get_by_role("button", name="Laat zien wat coaches te zien krijgen").click()
    assert answer.value.status == 422
    summary = candidate.locator("#error-summary")
    expect(summary).to_contain_text("Controleer wat je hebt ingevuld")
    expect(summary).to_contain_text("het e-mailadres is niet geldig")
    expect(summary).to_contain_text("we hebben je toestemming nodig")
    expect(candidate.get_by_label("Je e-mailadres")).to_have_attribute("aria-invalid", "true")
    # Nothing entered is lost.
    expect(candidate.get_by_label("Je naam")).to_have_value(NAME)
    expect(candidate.get_by_label("Je e-mailadres")).to_have_value("sanne.verhoeven@")
    expect(candidate.get_by_label("Waarbij wil je hulp?")).to_have_value(MOTIVATION)
    expect(candidate.locator(f"#topic-{TOPIC}")).to_be_checked()
    expect(candidate.locator("#consent-address")).to_be_checked()
    expect(candidate.locator("#consent-phone")).to_be_checked()
    expect(candidate.locator("#field-city")).to_have_value("Zwolle")
    expect(candidate.locator("#field-phone")).to_have_value(PHONE)
    assert_accessible(candidate, "journey-03-form-errors")

    # Corrected: the preview shows what coaches will see.
    candidate.get_by_label("Je e-mailadres").fill(EMAIL)
    candidate.locator("#consent-contact_share").check()
    candidate.get_by_role("button", name="Laat zien wat coaches te zien krijgen").click()
    expect(candidate.get_by_role("heading", level=1)).to_have_text("Wat coaches te zien krijgen")
    text = candidate.get_by_label("De tekst die coaches lezen")
    anonymised = text.input_value()
    assert "carrièreswitch" in anonymised, anonymised
    for personal in ("Sanne", "Verhoeven", "12345678", PHONE):
        assert personal not in anonymised, f"{personal!r} in the preview: {anonymised!r}"
    attributes = candidate.locator(".offer-attributes")
    expect(attributes).to_contain_text("Provincie")
    expect(attributes).to_contain_text("Overijssel")
    expect(attributes).to_contain_text("Carrièreswitch")
    assert_accessible(candidate, "journey-04-preview")

    text.fill(f"{anonymised} {ADDED}")
    candidate.get_by_role("button", name="Verstuur mijn aanvraag").click()
    expect(candidate).to_have_url(re.compile(r"/request/sent$"))
    expect(candidate.get_by_role("heading", level=1)).to_have_text("Je aanvraag is verstuurd")
    assert_accessible(candidate, "journey-05-sent")

    # 2. The private link from the e-mail: to the status page, the token out of sight.
    mail = wait_for_mail(site, to=EMAIL)
    found = re.search(r"/s/([A-Za-z0-9_-]{22,})", mail.body)
    assert found, "no private link in the candidate's mail"
    token = found.group(1)
    candidate.goto(found.group(0))
    expect(candidate).to_have_url(re.compile(r"/my-request$"))
    assert token not in candidate.url
    status = candidate.locator(".status-box")
    expect(status).to_contain_text("Status: wacht op een coach")
    assert_accessible(candidate, "journey-06-status-waiting")

    # 3. Two coaches log in, accept the agreement and find the offer in their feed.
    pages: dict[str, Page] = {}
    for coach, shot in ((coach_a, "journey-07-coach-agreement"), (coach_b, None)):
        page = new_context().new_page()
        coach_accepts_agreement(page, coach, shot)
        page.goto("/coach")
        offer = page.locator(".offer-card").filter(has_text=ADDED)
        reload_until(page, offer)
        expect(offer).to_contain_text("Carrièreswitch")
        for personal in ("Sanne", "Verhoeven", "12345678"):
            expect(offer).not_to_contain_text(personal)
        pages[coach.email] = page
    feed_a, feed_b = pages[coach_a.email], pages[coach_b.email]
    assert_accessible(feed_a, "journey-08-coach-feed")

    # Both open the request.
    for page in (feed_a, feed_b):
        page.get_by_role("link", name=re.compile("De aanvraag lezen en reageren")).first.click()
        expect(page).to_have_url(re.compile(r"/coach/requests/[0-9a-f-]{36}$"))
        body = page.locator(".offer-text")
        expect(body).to_contain_text(ADDED)
        expect(body).not_to_contain_text("Verhoeven")
    assert_accessible(feed_a, "journey-09-request-detail")

    # 4. Coach A accepts first and sees the contact details.
    feed_a.get_by_role("button", name="Deze aanvraag accepteren").click()
    expect(feed_a).to_have_url(re.compile(r"/coach/matches/[0-9a-f-]{36}$"))
    expect(feed_a.get_by_role("heading", level=1)).to_have_text(NAME)
    details = feed_a.locator("dl.profile")
    expect(details).to_contain_text(NAME)
    expect(details).to_contain_text(EMAIL)
    expect(details).to_contain_text("+31612345678")  # the number as the site stores it
    expect(details).to_contain_text("Zwolle")
    assert_accessible(feed_a, "journey-10-match")

    # Coach B is too late: the friendly page, with 409.
    with feed_b.expect_response(re.compile(r"/accept$")) as answer:
        feed_b.get_by_role("button", name="Deze aanvraag accepteren").click()
    assert answer.value.status == 409
    expect(feed_b.get_by_role("heading", level=1)).to_have_text("Al gekoppeld")
    expect(feed_b.locator("main")).not_to_contain_text(NAME)
    assert_accessible(feed_b, "journey-11-already-matched")

    # 5. The candidate's status page names coach A.
    candidate.reload()
    expect(status).to_contain_text("Status: een coach heeft geaccepteerd")
    expect(status).to_contain_text(coach_a.name)
    expect(status).not_to_contain_text(coach_b.name)
    assert_accessible(candidate, "journey-12-status-matched")

    assert not console_errors, f"browser console errors (CSP?): {console_errors}"
