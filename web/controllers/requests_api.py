"""The candidate's JSON API: preview, send, status, withdraw, resend, erase, the catalogue.

Sending is anonymous (a JSON body cannot be posted cross-site without a CORS
preflight, which we never grant). Everything after that authenticates with the
private link's token as a bearer token (``Authorization: Bearer <token>``): no
cookie, so no CSRF token either. A missing or unknown token answers 401; a
valid token used on another request's path answers 404. Bad input answers 422
with an ``errors`` member naming every wrong field.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from matching import candidates, catalogue, consent, intake
from matching.errors import InvalidFields
from web import i18n
from web.controllers.requests import (
    EDUCATION_LABELS,
    EMPLOYMENT_LABELS,
    GENDER_LABELS,
    INCOME_LABELS,
    TEXT_FIELDS,
    file_response,
)
from web.csrf import protect_anonymous_api
from web.errors import BearerInvalid
from web.i18n import N_
from web.sessions import runtime_of

TAGS = ["candidate"]
_KNOWN_KEYS = frozenset(
    {*TEXT_FIELDS, "topics", "consents", "anonymised_text", "edited_text", "cv"}
)
SHAPE_MESSAGES = (
    N_("unknown field"),
    N_("write this as text"),
    N_("give a list of codes"),
    N_("give an object of purpose codes and true or false, or a list of purpose codes"),
    N_("give an object with filename and content_base64"),
    N_("the CV is not valid base64"),
)
BODY_DESCRIPTION = (
    "A JSON object: `name`, `email`, `motivation` (text), `topics` (list of topic codes), "
    "`consents` (object `{purpose: true}` or a list of purpose codes; `contact_share` is "
    "required), optional `language` (`nl` or `en`), optional fields `phone`, `street`, "
    "`postcode`, `city`, `birth_date` (YYYY-MM-DD), `age`, `gender`, `education`, "
    "`job_title`, `employment`, `employer`, `income` (each needs its consent, see "
    "`GET /api/catalogue`), `anonymised_text` (the preview as the candidate edited it; "
    "anonymised again before any coach sees it) and `cv` "
    '(`{"filename", "content_base64"}`, PDF or DOCX).'
)


# -- bodies and answers ----------------------------------------------------------------


def intake_form(data: Mapping[str, Any]) -> intake.IntakeForm:
    """The JSON body as an :class:`~matching.intake.IntakeForm`; shape errors per field."""
    errors: dict[str, str] = {}
    for key in data:
        if key not in _KNOWN_KEYS:
            errors[str(key)[:40]] = "unknown field"
    text: dict[str, str] = {}
    for name in TEXT_FIELDS:
        value = data.get(name)
        if value is None:
            continue
        if name == "age" and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str):
            text[name] = value
        else:
            errors[name] = "write this as text"
    topics = _codes(data.get("topics"), "topics", errors)
    consents = _consents(data.get("consents"), errors)
    edited = data.get("anonymised_text", data.get("edited_text"))
    if edited is not None and not isinstance(edited, str):
        errors["anonymised_text"] = "write this as text"
        edited = None
    cv_filename, cv_content = _cv(data.get("cv"), errors)
    if errors:
        raise InvalidFields(errors)
    language = text.pop("language", "") or "nl"
    return intake.IntakeForm(
        **text,
        language=language,
        topics=topics,
        consents=consents,
        edited_text=edited or "",
        cv_filename=cv_filename,
        cv_content=cv_content,
    )


def _codes(value: object, field: str, errors: dict[str, str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors[field] = "give a list of codes"
        return ()
    return tuple(value)


def _consents(value: object, errors: dict[str, str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, dict) and all(isinstance(v, bool) for v in value.values()):
        return tuple(str(k) for k, given in value.items() if given)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    errors["consents"] = (
        "give an object of purpose codes and true or false, or a list of purpose codes"
    )
    return ()


def _cv(value: object, errors: dict[str, str]) -> tuple[str, bytes]:
    if value is None:
        return "", b""
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("filename", ""), str)
        or not isinstance(value.get("content_base64"), str)
    ):
        errors["cv"] = "give an object with filename and content_base64"
        return "", b""
    try:
        content = base64.b64decode(value["content_base64"], validate=True)
    except (binascii.Error, ValueError):
        errors["cv"] = "the CV is not valid base64"
        return "", b""
    return str(value.get("filename") or ""), content


@dataclasses.dataclass(frozen=True)
class CreatedResponse:
    request_id: UUID
    candidate_token: str = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True)
class CoachContact:
    name: str
    email: str


@dataclasses.dataclass(frozen=True)
class StatusResponse:
    """`status` is waiting, matched, expired or withdrawn; `summary` is the text coaches
    see (null while it is being prepared); `coach` is set once a coach accepted."""

    request_id: UUID
    status: str
    created_at: datetime.datetime
    expires_at: datetime.datetime | None
    matched_at: datetime.datetime | None
    ended_at: datetime.datetime | None
    language: str
    topics: list[str]
    province: str | None
    age_band: str | None
    field_of_work: str | None
    employment: str | None
    summary: str | None
    coach: CoachContact | None
    has_cv: bool
    can_withdraw: bool
    can_resend: bool


def _status_response(shown: candidates.RequestStatus) -> StatusResponse:
    return StatusResponse(
        request_id=shown.request_id,
        status=shown.status,
        created_at=shown.created_at,
        expires_at=shown.expires_at,
        matched_at=shown.matched_at,
        ended_at=shown.ended_at,
        language=shown.language,
        topics=list(shown.topics),
        province=shown.province,
        age_band=shown.age_band,
        field_of_work=shown.field_of_work,
        employment=shown.employment,
        summary=shown.summary,
        coach=None
        if shown.coach is None
        else CoachContact(name=shown.coach.name, email=shown.coach.email),
        has_cv=shown.has_cv,
        can_withdraw=shown.can_withdraw,
        can_resend=shown.can_resend,
    )


def bearer_token(request: Request[Any, Any, Any]) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise BearerInvalid()
    return token.strip()


# -- sending ---------------------------------------------------------------------------


@post(
    "/api/requests/preview",
    name="api-request-preview",
    tags=TAGS,
    guards=[protect_anonymous_api],
    status_code=HTTP_200_OK,
    summary="What coaches would see: the anonymised text and the generalised attributes",
    description=BODY_DESCRIPTION + " Nothing is stored.",
)
async def api_preview_request(
    request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]
) -> intake.Preview:
    """Exactly what coaches will see (codes; labels in `GET /api/catalogue`)."""
    return await candidates.preview(runtime_of(request), intake_form(data))


@post(
    "/api/requests",
    name="api-request-create",
    tags=TAGS,
    guards=[protect_anonymous_api],
    status_code=HTTP_201_CREATED,
    summary="Send a contact request",
    description=BODY_DESCRIPTION
    + " Answers 201 with the request's id and the candidate's token (also e-mailed as a "
    "private link); send the token as `Authorization: Bearer <token>` to follow the request.",
)
async def api_create_request(
    request: Request[Any, Any, Any], data: JSONBody[dict[str, Any]]
) -> Response[CreatedResponse]:
    submitted = await candidates.send(runtime_of(request), intake_form(data))
    return Response(
        CreatedResponse(request_id=submitted.request_id, candidate_token=submitted.token),
        status_code=HTTP_201_CREATED,
    )


# -- following the request (bearer) ----------------------------------------------------


@get(
    "/api/requests/{request_id:uuid}",
    name="api-request-status",
    tags=TAGS,
    summary="The status of a request (candidate's bearer token)",
)
async def api_request_status(
    request: Request[Any, Any, Any], request_id: FromPath[UUID]
) -> StatusResponse:
    token = bearer_token(request)
    shown = await candidates.status(runtime_of(request), token, request_id=request_id)
    return _status_response(shown)


@post(
    "/api/requests/{request_id:uuid}/withdraw",
    name="api-request-withdraw",
    tags=TAGS,
    status_code=HTTP_200_OK,
    summary="Withdraw a request before a coach accepts it (409 after)",
)
async def api_request_withdraw(
    request: Request[Any, Any, Any], request_id: FromPath[UUID]
) -> StatusResponse:
    token = bearer_token(request)
    shown = await candidates.withdraw(runtime_of(request), token, request_id=request_id)
    return _status_response(shown)


@post(
    "/api/requests/{request_id:uuid}/resend",
    name="api-request-resend",
    tags=TAGS,
    status_code=HTTP_200_OK,
    summary="Send an expired request again (409 if it is withdrawn or matched)",
)
async def api_request_resend(
    request: Request[Any, Any, Any], request_id: FromPath[UUID]
) -> StatusResponse:
    token = bearer_token(request)
    shown = await candidates.resend(runtime_of(request), token, request_id=request_id)
    return _status_response(shown)


@get(
    "/api/requests/{request_id:uuid}/cv",
    name="api-request-cv",
    tags=TAGS,
    summary="The candidate's own CV (404 if none was sent)",
)
async def api_request_cv(
    request: Request[Any, Any, Any], request_id: FromPath[UUID]
) -> Response[bytes]:
    token = bearer_token(request)
    download = await candidates.candidate_cv(runtime_of(request), token, request_id=request_id)
    return file_response(download.content, download.media_type, download.filename)


@dataclasses.dataclass(frozen=True)
class ErasedResponse:
    erased: bool


@post(
    "/api/me/erase",
    name="api-me-erase",
    tags=TAGS,
    status_code=HTTP_200_OK,
    summary="Erase the candidate and everything held about them",
    description="Through the erasure service: the candidate's data key is destroyed and "
    "their rows deleted. Afterwards the token no longer works (401).",
)
async def api_me_erase(request: Request[Any, Any, Any]) -> ErasedResponse:
    token = bearer_token(request)
    await candidates.erase(runtime_of(request), token)
    return ErasedResponse(erased=True)


# -- the catalogue ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Label:
    code: str
    nl: str
    en: str


@dataclasses.dataclass(frozen=True)
class PurposeLabel:
    code: str
    required: bool
    nl: str
    en: str
    fields: list[str]


@dataclasses.dataclass(frozen=True)
class CatalogueResponse:
    privacy_statement_version: str
    topics: list[Label]
    regions: list[Label]
    languages: list[Label]
    consents: list[PurposeLabel]
    choices: dict[str, list[Label]]


def _both(msgid: str) -> tuple[str, str]:
    books = i18n.catalogs()
    return books["nl"].gettext(msgid), books["en"].gettext(msgid)


def _entries(entries: Mapping[str, catalogue.Entry]) -> list[Label]:
    return [Label(e.code, e.nl, e.en) for e in entries.values()]


def _choices(labels: Mapping[str, str]) -> list[Label]:
    return [Label(code, *_both(msgid)) for code, msgid in labels.items()]


@get(
    "/api/catalogue",
    name="api-catalogue",
    tags=TAGS,
    summary="Topics, regions, languages, consent purposes and choices, in Dutch and English",
)
async def api_catalogue() -> CatalogueResponse:
    fields: dict[str, list[str]] = {}
    for field, purpose in intake.FIELD_CONSENT.items():
        fields.setdefault(purpose, []).append(field)
    return CatalogueResponse(
        privacy_statement_version=consent.PRIVACY_STATEMENT_VERSION,
        topics=_entries(catalogue.TOPICS),
        regions=_entries(catalogue.REGIONS),
        languages=_entries(catalogue.LANGUAGES),
        consents=[
            PurposeLabel(p.code, p.required, *_both(p.text), fields=fields.get(p.code, []))
            for p in consent.PURPOSES.values()
        ],
        choices={
            "gender": _choices(GENDER_LABELS),
            "education": _choices(EDUCATION_LABELS),
            "employment": _choices(EMPLOYMENT_LABELS),
            "income": _choices(INCOME_LABELS),
        },
    )


ROUTES: tuple[Any, ...] = (
    api_request_status,
    api_request_withdraw,
    api_request_resend,
    api_request_cv,
    api_me_erase,
    api_catalogue,
)
# Routes that take a CV (base64): web.app gives them a body limit from the settings.
UPLOAD_ROUTES: tuple[Any, ...] = (api_preview_request, api_create_request)
