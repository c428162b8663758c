"""The admin portal and its development mailbox."""

from __future__ import annotations

import datetime
import uuid
from email.message import EmailMessage

from matching import mailbox, retention
from matching.runtime import Runtime
from tests.web.support import Account, Client, log_in
from workers import restore


async def _log_in_admin(client: Client, admin: Account) -> None:
    response = await log_in(client, admin, totp=admin.code())
    assert response.status_code == 303


async def test_the_admin_dashboard_lists_its_sections(client: Client, admin: Account) -> None:
    await _log_in_admin(client, admin)
    page = await client.get("/admin")
    assert page.status_code == 200
    assert "Beheerportaal" in page.text
    assert 'href="/admin/mailbox"' in page.text  # no SMTP server configured in tests
    assert 'href="/schema"' in page.text


async def test_the_dev_mailbox_shows_sent_mail(
    client: Client, admin: Account, runtime: Runtime
) -> None:
    message = EmailMessage()
    message["Subject"] = "Je aanvraag is ontvangen"
    message["From"] = "no-reply@coachmatch.localhost"
    message["To"] = "kandidaat@example.org"
    message.set_content("Dank je wel voor je aanvraag.")
    job_id = uuid.uuid4()
    mailbox.store(runtime.settings.mailbox_dir, job_id, message)

    await _log_in_admin(client, admin)
    listing = await client.get("/admin/mailbox")
    assert listing.status_code == 200
    assert "Je aanvraag is ontvangen" in listing.text
    assert f'href="/admin/mailbox/{job_id}.eml"' in listing.text
    shown = await client.get(f"/admin/mailbox/{job_id}.eml")
    assert shown.status_code == 200
    assert "Dank je wel voor je aanvraag." in shown.text
    assert shown.headers["cache-control"] == "no-store"


async def test_the_mailbox_refuses_odd_names(client: Client, admin: Account) -> None:
    await _log_in_admin(client, admin)
    assert (await client.get("/admin/mailbox/..%2F..%2Fmaster.key")).status_code in (404, 422)
    assert (await client.get("/admin/mailbox/notes.txt")).status_code == 422
    missing = await client.get(f"/admin/mailbox/{uuid.uuid4()}.eml")
    assert missing.status_code == 404


async def test_the_mailbox_is_for_admins_only(client: Client, coach: Account) -> None:
    assert (await client.get("/admin/mailbox")).status_code == 303  # to the login page
    await log_in(client, coach)
    assert (await client.get("/admin/mailbox")).status_code == 403


async def test_the_dashboard_shows_backups_drills_and_retention(
    client: Client, admin: Account, runtime: Runtime
) -> None:
    await _log_in_admin(client, admin)
    before = await client.get("/admin")
    assert "Back-ups en bewaartermijnen" in before.text
    assert 'role="alert"' in before.text  # no backup yet: overdue
    assert "Er is nog geen back-up gemaakt." in before.text

    await restore.restore_drill(runtime)  # makes a backup too
    await retention.run(runtime, datetime.datetime.now(datetime.UTC).date())
    after = await client.get("/admin")
    assert "Laatste back-up:" in after.text and 'role="alert"' not in after.text
    assert "De gewiste proefpersoon bleef gewist." in after.text
    assert "Laatste bewaartermijncontrole:" in after.text
