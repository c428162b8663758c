"""Canary: every personal value of a candidate stays encrypted everywhere but where it belongs.

A candidate fills every free-text field with a unique canary string and sends a CV
holding one. Two coaches are offered the request; one accepts. None of the
canaries may appear in the database files (SQLite: the file, its WAL and shared
memory; PostgreSQL: a ``pg_dump``), in any log record, in a queue message or an
outbox row, in any e-mail to a coach, or in what the other coach sees. The
winning coach's page shows them all.

Fields that are choices (gender, education, employment kind, income band) hold
codes, not free text; they cannot carry a canary and are not checked here.
"""

from __future__ import annotations

import base64
import json
import logging
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from matching import accounts, agreement, notifications, outbox
from matching.db import sqlite_path
from matching.runtime import Runtime
from matching.tables import OutboxJob
from tests.matching.request_jobs import run_broadcasts
from tests.web.support import PASSWORD, Account, client_for, log_in
from workers.relay import job_message

CANARIES = {
    "name_last": "Canarynaam",
    "email": "canary.mail.7f3k@example.org",
    "phone": "47182953",
    "street": "Canarystraat",
    "postcode": "9744 QX",
    "city": "Canarydorp",
    "birth_date": "1979-04-23",
    "job_title": "Canaryfunctie",
    "employer": "Canarybedrijf",
    "motivation": "Canarymotivatie",
    "cv_content": "CanaryCvInhoud",
    "cv_filename": "canary-cv-bestand",
}
# Words that are no personal data by themselves: coaches may read them in the text.
PLAIN_WORDS = frozenset({"motivation"})

MOTIVATION = (
    "Ik zoek hulp bij een carrièreswitch. Canarymotivatie: ik wil weten wat bij me past. "
    "Mijn naam is Xylo Canarynaam, bel me op 06 4718 2953 of mail "
    "canary.mail.7f3k@example.org. Ik woon aan de Canarystraat 17 in Canarydorp en werk "
    "als Canaryfunctie bij Canarybedrijf."
)


def _pdf(marker: str) -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% "
        + marker.encode()
        + b"\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )


def _body() -> dict[str, Any]:
    return {
        "name": "Xylo Canarynaam",
        "email": CANARIES["email"],
        "motivation": MOTIVATION,
        "topics": ["carriereswitch"],
        "language": "nl",
        "consents": {
            "contact_share": True,
            "phone": True,
            "address": True,
            "age": True,
            "job_title": True,
            "cv": True,
            "special": True,
            "keep_special": True,
        },
        "phone": "06 4718 2953",
        "street": "Canarystraat 17",
        "postcode": CANARIES["postcode"],
        "city": CANARIES["city"],
        "birth_date": CANARIES["birth_date"],
        "job_title": CANARIES["job_title"],
        "employment": "employed",
        "employer": "Canarybedrijf BV",
        "cv": {
            "filename": f"{CANARIES['cv_filename']}.pdf",
            "content_base64": base64.b64encode(_pdf(CANARIES["cv_content"])).decode(),
        },
    }


def _found(blob: bytes | str, *, skip: frozenset[str] = frozenset()) -> list[str]:
    text = blob.decode("utf-8", "replace") if isinstance(blob, bytes) else blob
    lowered = text.lower()
    return sorted(
        key for key, canary in CANARIES.items() if key not in skip and canary.lower() in lowered
    )


async def _coach_client(client: httpx.AsyncClient, account: Account) -> str:
    response = await log_in(client, account)
    assert response.status_code == 303, response.text
    session = (await client.get("/api/auth/session")).json()
    return str(session["csrf_token"])


def _args(row: dict[str, Any]) -> dict[str, Any]:
    args = row["args"]
    return json.loads(args) if isinstance(args, str) else dict(args)


async def _coach_mail(runtime: Runtime, coach_subjects: set[Any]) -> list[str]:
    """Every mail job to a coach, composed exactly as the worker composes it."""
    texts = []
    for row in await OutboxJob.select().where(OutboxJob.actor == notifications.SEND_MAIL_ACTOR):
        mail = await notifications.compose(runtime.vault, runtime.settings, row["id"], _args(row))
        if mail is not None and mail.subject_id in coach_subjects:
            texts.append(mail.message.as_string())
    return texts


async def _online_coach(runtime: Runtime, email: str) -> Account:
    coach_id, secret = await accounts.create_coach(
        runtime,
        email=email,
        name="Canary Test Coach",
        password=PASSWORD,
        topics=["carriereswitch"],
        regions=["online"],
        languages=["nl"],
    )
    return Account("coach", coach_id, email, secret)


def _database_dump(runtime: Runtime) -> bytes:
    url = runtime.settings.database_url
    if runtime.settings.is_sqlite:
        path = sqlite_path(url)
        return b"".join(
            p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()
        )
    done = subprocess.run(
        ["pg_dump", "--data-only", "--inserts", url], capture_output=True, check=True, timeout=120
    )
    return done.stdout


@pytest.mark.slow
async def test_canaries_appear_only_on_the_winning_coach_page(
    runtime: Runtime,
    app: Any,
    client: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    coach = await _online_coach(runtime, "winning.coach@example.org")
    other = await _online_coach(runtime, "other.coach@example.org")
    for account in (coach, other):
        await agreement.accept(account.id, agreement.VERSION, actor=f"coach:{account.id}")  # type: ignore[arg-type]

    submitted = await client.post("/api/requests", json=_body())
    assert submitted.status_code == 201, submitted.text
    request_id = submitted.json()["request_id"]
    await run_broadcasts(runtime)

    async with client_for(app) as winner, client_for(app) as loser:
        winner_csrf = await _coach_client(winner, coach)
        loser_csrf = await _coach_client(loser, other)
        feed = await loser.get("/api/coach/requests")
        assert feed.status_code == 200
        assert _found(feed.text, skip=PLAIN_WORDS) == []
        accepted = await winner.post(
            f"/api/coach/requests/{request_id}/accept", headers={"x-csrf-token": winner_csrf}
        )
        assert accepted.status_code == 200, accepted.text
        late = await loser.post(
            f"/api/coach/requests/{request_id}/accept", headers={"x-csrf-token": loser_csrf}
        )
        assert late.status_code == 409
        assert _found(late.text) == []

        page = await winner.get(f"/coach/matches/{request_id}")
        assert page.status_code == 200
        shown = set(_found(page.text))
        assert shown >= set(CANARIES) - {"cv_content", "phone", "postcode"}
        cv = await winner.get(f"/coach/matches/{request_id}/cv")
        assert cv.status_code == 200 and CANARIES["cv_content"].encode() in cv.content
        assert _found((await loser.get(f"/coach/matches/{request_id}")).text) == []

    coach_subjects = {
        row["subject_id"] for row in await accounts.Coach.select(accounts.Coach.subject_id)
    }
    coach_mails = await _coach_mail(runtime, coach_subjects)
    assert len(coach_mails) >= 2  # each coach was told of the offer
    for text in coach_mails:
        assert _found(text) == [], "a coach's e-mail holds a canary"
    for job in await OutboxJob.select():
        message = job_message(runtime.settings.job_queue, outbox._job(job))
        assert _found(message.encode()) == []
        assert _found(json.dumps(job["args"], default=str)) == []
    dump = _database_dump(runtime)
    assert b"carriereswitch" in dump  # the dump is real: it holds the request's topic
    assert _found(dump) == []
    logged = "\n".join(
        f"{r.getMessage()} {r.args!r} {getattr(r, 'exc_text', '')}" for r in caplog.records
    )
    assert "/api/coach/requests" in logged  # records were captured
    assert _found(logged) == []
