"""The candidate's JSON API (INTERFACE.md): preview, send, status, withdraw, resend, erase.

Real app and database; problem JSON for every error, 422 with an ``errors`` member
per field, 401 without or with an unknown bearer token, 404 for another request's.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import io
import zipfile
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from anonymiser.text import AnonymiserError
from matching import accounts, agreement, candidates, catalogue, consent, intake, matches
from matching.config import Settings
from matching.runtime import Runtime
from matching.scrubbing import KnownValues, Scrubber
from matching.tables import ContactRequest
from tests.matching.request_jobs import run_broadcasts
from tests.web.support import PASSWORD, form_token

CV_MAX_BYTES = 64 * 1024
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


@pytest.fixture
def web_settings(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings, allowed_hosts=("testserver.local",), cv_max_bytes=CV_MAX_BYTES
    )


def body(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "Fenna de Wit",
        "email": "fenna.dewit@example.org",
        "motivation": "Ik ben Fenna de Wit uit Zwolle en ik wil een carrièreswitch maken.",
        "topics": ["carriereswitch"],
        "consents": {"contact_share": True, "address": True, "phone": False},
        "city": "Zwolle",
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def cv(content: bytes, filename: str = "cv.pdf") -> dict[str, str]:
    return {"filename": filename, "content_base64": base64.b64encode(content).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status and problem["code"] == code
    assert problem["type"] == f"urn:coachmatch:problem:{code}"
    return problem


async def create(client: httpx.AsyncClient, **overrides: Any) -> tuple[UUID, str]:
    response = await client.post("/api/requests", json=body(**overrides))
    assert response.status_code == 201, response.text
    created = response.json()
    return UUID(created["request_id"]), created["candidate_token"]


async def test_the_catalogue_lists_every_choice_in_both_languages(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/catalogue")
    assert response.status_code == 200
    data = response.json()
    assert [t["code"] for t in data["topics"]] == list(catalogue.TOPICS)
    assert {r["code"] for r in data["regions"]} == set(catalogue.REGIONS)
    assert {lang["code"] for lang in data["languages"]} == {"nl", "en"}
    purposes = {p["code"]: p for p in data["consents"]}
    assert set(purposes) == set(consent.PURPOSES)
    contact = purposes["contact_share"]
    assert contact["required"] and contact["en"].startswith("Share my name")
    assert contact["nl"].startswith("Deel mijn naam")
    assert "phone" in purposes["phone"]["fields"]
    assert {c["code"] for c in data["choices"]["employment"]} == set(intake.EMPLOYMENT)
    assert data["privacy_statement_version"] == consent.PRIVACY_STATEMENT_VERSION


async def test_preview_shows_what_coaches_see_and_stores_nothing(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/requests/preview",
        json=body(job_title="verpleegkundige", consents=["contact_share", "address", "job_title"]),
    )
    assert response.status_code == 200, response.text
    shown = response.json()
    assert "Fenna" not in shown["anonymised_text"] and "Zwolle" not in shown["anonymised_text"]
    assert shown["province"] == "overijssel" and shown["field_of_work"] == "zorg"
    assert shown["topics"] == ["carriereswitch"] and shown["language"] == "nl"
    assert await ContactRequest.count() == 0


async def test_bad_input_names_every_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/requests",
        json=body(
            email="no address",
            topics=["astrology"],
            consents={"address": True},
            phone="0612345678",
            shoe_size="44",
        ),
        headers={"accept-language": "nl"},
    )
    problem = assert_problem(response, 422, "invalid_fields")
    assert set(problem["errors"]) == {"shoe_size"}  # shape first: nothing else is checked yet
    response = await client.post(
        "/api/requests",
        json=body(
            email="no address", topics=["astrology"], consents={"address": True}, phone="0612345678"
        ),
        headers={"accept-language": "nl"},
    )
    errors = assert_problem(response, 422, "invalid_fields")["errors"]
    assert set(errors) == {"email", "topics", "consents", "phone"}
    assert errors["email"] == "het e-mailadres is niet geldig"
    english = await client.post(
        "/api/requests/preview",
        json=body(topics="stress", consents="all", age=True),
        headers={"accept-language": "en"},
    )
    errors = assert_problem(english, 422, "invalid_fields")["errors"]
    assert errors == {
        "topics": "give a list of codes",
        "consents": "give an object of purpose codes and true or false, or a list of purpose codes",
        "age": "write this as text",
    }
    not_json = await client.post(
        "/api/requests",
        content=b"name=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert not_json.status_code == 403
    assert await ContactRequest.count() == 0


@pytest.mark.parametrize(
    ("upload", "field_message"),
    [
        (cv(PNG), "the CV must be a PDF or Word (.docx) file"),  # a PNG renamed .pdf
        (cv(b"PK\x03\x04" + b"\x00" * 100, "cv.docx"), "the CV must be a PDF or Word (.docx) file"),
        (cv(PDF + b"%" * CV_MAX_BYTES), "the CV is larger than"),
        ({"filename": "cv.pdf", "content_base64": "not base64!"}, "the CV is not valid base64"),
        ({"filename": "cv.pdf"}, "give an object with filename and content_base64"),
    ],
)
async def test_a_bad_cv_is_refused(
    client: httpx.AsyncClient, upload: dict[str, str], field_message: str
) -> None:
    consents = ["contact_share", "address", "cv"]
    response = await client.post(
        "/api/requests",
        json=body(consents=consents, cv=upload),
        headers={"accept-language": "en"},
    )
    errors = assert_problem(response, 422, "invalid_fields")["errors"]
    assert list(errors) == ["cv"] and errors["cv"].startswith(field_message)


async def test_a_zip_that_is_no_docx_and_a_huge_body(client: httpx.AsyncClient) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("notes.txt", "just a zip")
    consents = ["contact_share", "address", "cv"]
    response = await client.post(
        "/api/requests", json=body(consents=consents, cv=cv(archive.getvalue(), "cv.docx"))
    )
    assert assert_problem(response, 422, "invalid_fields")["errors"].keys() == {"cv"}
    huge = await client.post(
        "/api/requests", json=body(consents=consents, cv=cv(PDF + b"%" * (CV_MAX_BYTES * 8)))
    )
    assert_problem(huge, 413, "too_large")


async def test_follow_withdraw_and_erase_with_the_token(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    request_id, token = await create(
        client, consents=["contact_share", "address", "cv"], cv=cv(PDF, "Mijn cv.pdf")
    )
    other_id, other_token = await create(client, email="someone@example.org")
    assert len(token) >= 43 and token != other_token

    status = await client.get(f"/api/requests/{request_id}", headers=bearer(token))
    assert status.status_code == 200, status.text
    shown = status.json()
    assert shown["status"] == "waiting" and shown["coach"] is None and shown["has_cv"]
    assert shown["can_withdraw"] and not shown["can_resend"]
    assert status.headers["cache-control"] == "no-store"
    download = await client.get(f"/api/requests/{request_id}/cv", headers=bearer(token))
    assert download.status_code == 200 and download.content == PDF

    assert_problem(await client.get(f"/api/requests/{request_id}"), 401, "invalid_token")
    wrong = await client.get(f"/api/requests/{request_id}", headers=bearer("x" * 43))
    assert_problem(wrong, 401, "invalid_token")
    assert wrong.headers["www-authenticate"] == "Bearer"
    foreign = await client.get(f"/api/requests/{other_id}", headers=bearer(token))
    assert_problem(foreign, 404, "not_found")
    assert_problem(
        await client.post(f"/api/requests/{other_id}/withdraw", headers=bearer(token)),
        404,
        "not_found",
    )
    assert_problem(
        await client.get(f"/api/requests/{uuid4()}", headers=bearer(token)), 404, "not_found"
    )

    withdrawn = await client.post(f"/api/requests/{request_id}/withdraw", headers=bearer(token))
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    resend = await client.post(f"/api/requests/{request_id}/resend", headers=bearer(token))
    assert_problem(resend, 409, "not_open")

    erased = await client.post("/api/me/erase", headers=bearer(token))
    assert erased.status_code == 200 and erased.json() == {"erased": True}
    assert_problem(
        await client.get(f"/api/requests/{request_id}", headers=bearer(token)),
        401,
        "invalid_token",
    )
    assert_problem(await client.post("/api/me/erase", headers=bearer(token)), 401, "invalid_token")
    still = await client.get(f"/api/requests/{other_id}", headers=bearer(other_token))
    assert still.status_code == 200


async def test_matched_expired_and_sent_again(client: httpx.AsyncClient, runtime: Runtime) -> None:
    coach_id, _ = await accounts.create_coach(
        runtime,
        email="kim.coach@example.org",
        name="Kim Jansen",
        password=PASSWORD,
        topics=["carriereswitch"],
        regions=["overijssel"],
        languages=["nl"],
    )
    await agreement.accept(coach_id, agreement.VERSION, actor=f"coach:{coach_id}")
    first_id, first = await create(client)
    second_id, second = await create(client, email="tweede@example.org")
    await run_broadcasts(runtime)

    await matches.accept(runtime, coach_id, first_id)
    matched = (await client.get(f"/api/requests/{first_id}", headers=bearer(first))).json()
    assert matched["status"] == "matched"
    assert matched["coach"] == {"name": "Kim Jansen", "email": "kim.coach@example.org"}
    assert matched["summary"] and "Fenna" not in matched["summary"]
    late = await client.post(f"/api/requests/{first_id}/withdraw", headers=bearer(first))
    assert_problem(late, 409, "not_open")

    again = await client.post(f"/api/requests/{second_id}/resend", headers=bearer(second))
    assert again.status_code == 200 and again.json()["status"] == "waiting"  # open: a no-op
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=15)
    assert await candidates.expire_due(runtime, later) == 1
    expired = (await client.get(f"/api/requests/{second_id}", headers=bearer(second))).json()
    assert expired["status"] == "expired" and expired["can_resend"]
    again = await client.post(f"/api/requests/{second_id}/resend", headers=bearer(second))
    shown = again.json()
    assert shown["status"] == "waiting"
    fresh = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=13)
    assert datetime.datetime.fromisoformat(shown["expires_at"]) > fresh


class BrokenScrubber(Scrubber):
    """An anonymiser that fails on every text (the request must not go out)."""

    async def scrub_async(self, text: str, known: KnownValues) -> str:
        raise AnonymiserError("broken on purpose")


async def test_a_failing_anonymiser_is_a_503_not_a_500(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    runtime.scrubber = BrokenScrubber(runtime.settings.effective_cache_dir)
    response = await client.post("/api/requests/preview", json=body())
    problem = assert_problem(response, 503, "anonymisation_failed")
    assert response.headers["retry-after"] and "Fenna" not in response.text
    assert problem["detail"]
    page = await client.post(
        "/request/preview",
        data={
            "csrf_token": await form_token(client, "/request"),
            **{k: v for k, v in body().items() if k != "consents"},
            "consents": ["contact_share", "address"],
        },
    )
    assert page.status_code == 503 and 'value="Fenna de Wit"' in page.text
    assert "Er is niets verstuurd" in page.text
