"""The coach's JSON API (``/api/coach/...``): offers, accept, decline, matches, profile, agreement.

A session cookie (``POST /api/auth/login``) authenticates; every call that changes
something also sends the session's token as ``X-CSRF-Token``. Errors are RFC 9457
problem details (:mod:`web.errors`): accepting a request another coach won
first is ``409 already_matched``, without the current agreement ``403``, at
capacity or on a closed request ``409``.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Annotated, Any
from uuid import UUID

from litestar import Request, Response, get, post, put
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK

from matching import coaches, matches, offers
from matching.accounts import CoachProfile
from matching.coaches import AgreementState
from matching.matches import Contact
from matching.offers import MatchDetail, MatchSummary, OfferView
from web.controllers.coach import cv_response
from web.csrf import protect_session
from web.sessions import login_of, require_coach, runtime_of

TAGS = ["coach"]
WRITE_GUARDS = [require_coach, protect_session]


# -- response and request bodies ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class OfferOut:
    """An offered request as coaches see it: anonymised text, generalised attributes."""

    request_id: UUID
    status: str
    offered_at: datetime.datetime
    expires_at: datetime.datetime | None
    topics: list[str]
    province: str | None
    age_band: str | None
    field_of_work: str | None
    employment: str | None
    language: str
    summary: str
    decline_reason: str | None

    @classmethod
    def of(cls, view: OfferView) -> OfferOut:
        return cls(
            request_id=view.request_id,
            status=view.status,
            offered_at=view.offered_at,
            expires_at=view.expires_at,
            topics=list(view.topics),
            province=view.province,
            age_band=view.age_band,
            field_of_work=view.field_of_work,
            employment=view.employment,
            language=view.language,
            summary=view.summary,
            decline_reason=view.decline_reason,
        )


@dataclasses.dataclass(frozen=True)
class FeedOut:
    """A page of open offers, newest first; pass ``next_before`` as ``before`` for the next."""

    requests: list[OfferOut]
    next_before: str | None


@dataclasses.dataclass(frozen=True)
class ContactOut:
    """The candidate's contact details: only ever for the coach who accepted first."""

    request_id: UUID
    name: str
    email: str
    phone: str | None
    motivation: str
    details: dict[str, str]
    cv: bool
    matched_at: datetime.datetime
    closed: bool

    @classmethod
    def of(cls, contact: Contact) -> ContactOut:
        return cls(
            request_id=contact.request_id,
            name=contact.name,
            email=contact.email,
            phone=contact.phone,
            motivation=contact.motivation,
            details=dict(contact.details),
            cv=contact.cv_filename is not None,
            matched_at=contact.matched_at,
            closed=contact.closed,
        )


@dataclasses.dataclass(frozen=True)
class AcceptOut:
    contact: ContactOut


@dataclasses.dataclass
class DeclineIn:
    """Why (optional): no_capacity, not_my_field, region, language or other."""

    reason: str | None = None


@dataclasses.dataclass(frozen=True)
class DeclineOut:
    request_id: UUID
    status: str
    reason: str | None


@dataclasses.dataclass(frozen=True)
class MatchOut:
    """A request this coach won. ``name`` and ``contact`` only while the match is open."""

    request_id: UUID
    matched_at: datetime.datetime
    closed: bool
    closed_at: datetime.datetime | None
    topics: list[str]
    name: str | None
    contact: ContactOut | None = None

    @classmethod
    def of(cls, summary: MatchSummary, contact: Contact | None = None) -> MatchOut:
        return cls(
            request_id=summary.request_id,
            matched_at=summary.matched_at,
            closed=summary.closed,
            closed_at=summary.closed_at,
            topics=list(summary.topics),
            name=summary.name,
            contact=None if contact is None else ContactOut.of(contact),
        )

    @classmethod
    def detail(cls, detail: MatchDetail) -> MatchOut:
        return cls.of(detail.summary, detail.contact)


@dataclasses.dataclass(frozen=True)
class MatchesOut:
    matches: list[MatchOut]


@dataclasses.dataclass(frozen=True)
class ClosedOut:
    request_id: UUID
    closed: bool


@dataclasses.dataclass
class ProfileIn:
    """Codes from the catalogue; capacity 1 to 50; paused: no new offers while true."""

    topics: list[str]
    regions: list[str]
    languages: list[str]
    capacity: int
    paused: bool = False


@dataclasses.dataclass(frozen=True)
class ProfileOut:
    topics: list[str]
    regions: list[str]
    languages: list[str]
    capacity: int
    paused: bool

    @classmethod
    def of(cls, profile: CoachProfile) -> ProfileOut:
        return cls(
            topics=list(profile.topics),
            regions=list(profile.regions),
            languages=list(profile.languages),
            capacity=profile.capacity,
            paused=profile.paused,
        )


@dataclasses.dataclass
class AgreementIn:
    version: str


@dataclasses.dataclass(frozen=True)
class AgreementOut:
    """The current data-processing agreement (clauses in English) and its acceptance."""

    version: str
    clauses: list[str]
    accepted: bool
    accepted_at: datetime.datetime | None

    @classmethod
    def of(cls, state: AgreementState) -> AgreementOut:
        return cls(
            version=state.version,
            clauses=list(state.clauses),
            accepted=state.accepted,
            accepted_at=state.accepted_at,
        )


# -- offers ------------------------------------------------------------------------------


@get(
    "/api/coach/requests",
    name="api-coach-requests",
    tags=TAGS,
    guards=[require_coach],
    summary="Open anonymised requests offered to this coach, newest first",
)
async def api_requests(
    request: Request[Any, Any, Any],
    limit: Annotated[int, Parameter(ge=1, le=offers.MAX_LIMIT)] = offers.DEFAULT_LIMIT,
    before: Annotated[str | None, Parameter(max_length=60)] = None,
) -> FeedOut:
    login = await login_of(request)
    page = await offers.feed(runtime_of(request), login.principal.id, limit=limit, before=before)
    return FeedOut([OfferOut.of(view) for view in page], page.next_before)


@get(
    "/api/coach/requests/{request_id:uuid}",
    name="api-coach-request",
    tags=TAGS,
    guards=[require_coach],
    summary="One request offered to this coach",
    description="404 when it was not offered to you; 409 `already_matched` when another "
    "coach accepted it first; 409 `not_open` when it expired or was withdrawn.",
)
async def api_request(request: Request[Any, Any, Any], request_id: FromPath[UUID]) -> OfferOut:
    login = await login_of(request)
    return OfferOut.of(await offers.offer(runtime_of(request), login.principal.id, request_id))


@post(
    "/api/coach/requests/{request_id:uuid}/accept",
    name="api-coach-request-accept",
    tags=TAGS,
    guards=WRITE_GUARDS,
    status_code=HTTP_200_OK,
    summary="Accept a request: the first coach gets the contact details",
    description="200 with the contact details for the first coach to accept; 409 "
    "`already_matched` for every later one. 403 without the current data-processing "
    "agreement; 409 when at capacity or the request is no longer open.",
)
async def api_accept(request: Request[Any, Any, Any], request_id: FromPath[UUID]) -> AcceptOut:
    login = await login_of(request)
    contact = await matches.accept(runtime_of(request), login.principal.id, request_id)
    return AcceptOut(ContactOut.of(contact))


@post(
    "/api/coach/requests/{request_id:uuid}/decline",
    name="api-coach-request-decline",
    tags=TAGS,
    guards=WRITE_GUARDS,
    status_code=HTTP_200_OK,
    summary="Decline a request, with an optional reason code",
)
async def api_decline(
    request: Request[Any, Any, Any],
    request_id: FromPath[UUID],
    data: JSONBody[DeclineIn | None] = None,
) -> DeclineOut:
    login = await login_of(request)
    reason = data.reason if data is not None else None
    await offers.decline(login.principal.id, request_id, reason)
    return DeclineOut(request_id, "declined", reason or None)


# -- matches -----------------------------------------------------------------------------


@get(
    "/api/coach/matches",
    name="api-coach-matches",
    tags=TAGS,
    guards=[require_coach],
    summary="The requests this coach won, newest first",
    description="Names are shown for open matches only; each one shown is recorded in the "
    "audit log.",
)
async def api_matches(request: Request[Any, Any, Any]) -> MatchesOut:
    login = await login_of(request)
    found = await offers.my_matches(runtime_of(request), login.principal.id)
    return MatchesOut([MatchOut.of(summary) for summary in found])


@get(
    "/api/coach/matches/{request_id:uuid}",
    name="api-coach-match",
    tags=TAGS,
    guards=[require_coach],
    summary="One match, with the contact details while it is open (audited)",
)
async def api_match(request: Request[Any, Any, Any], request_id: FromPath[UUID]) -> MatchOut:
    login = await login_of(request)
    return MatchOut.detail(await offers.match(runtime_of(request), login.principal.id, request_id))


@get(
    "/api/coach/matches/{request_id:uuid}/cv",
    name="api-coach-match-cv",
    tags=TAGS,
    guards=[require_coach],
    summary="The candidate's CV (PDF or DOCX), for the winning coach only (audited)",
    media_type="application/octet-stream",
)
async def api_match_cv(
    request: Request[Any, Any, Any], request_id: FromPath[UUID]
) -> Response[bytes]:
    login = await login_of(request)
    return cv_response(await offers.cv(runtime_of(request), login.principal.id, request_id))


@post(
    "/api/coach/matches/{request_id:uuid}/close",
    name="api-coach-match-close",
    tags=TAGS,
    guards=WRITE_GUARDS,
    status_code=HTTP_200_OK,
    summary="Close a match: its contact details are no longer shown; capacity is freed",
)
async def api_match_close(request: Request[Any, Any, Any], request_id: FromPath[UUID]) -> ClosedOut:
    login = await login_of(request)
    await offers.close_match(login.principal.id, request_id)
    return ClosedOut(request_id, True)


# -- profile and agreement ---------------------------------------------------------------


@get(
    "/api/coach/profile",
    name="api-coach-profile",
    tags=TAGS,
    guards=[require_coach],
    summary="This coach's matching profile",
)
async def api_profile(request: Request[Any, Any, Any]) -> ProfileOut:
    login = await login_of(request)
    return ProfileOut.of(await coaches.profile(login.principal.id))


@put(
    "/api/coach/profile",
    name="api-coach-profile-update",
    tags=TAGS,
    guards=WRITE_GUARDS,
    summary="Replace the matching profile",
    description="422 when a code is unknown, no topic, region or language is chosen, more "
    "than five topics are, or the capacity is not 1 to 50.",
)
async def api_profile_update(
    request: Request[Any, Any, Any], data: JSONBody[ProfileIn]
) -> ProfileOut:
    login = await login_of(request)
    profile = await coaches.update_profile(
        login.principal.id,
        topics=data.topics,
        regions=data.regions,
        languages=data.languages,
        capacity=data.capacity,
        paused=data.paused,
        actor=login.principal.actor,
    )
    return ProfileOut.of(profile)


@get(
    "/api/coach/agreement",
    name="api-coach-agreement",
    tags=TAGS,
    guards=[require_coach],
    summary="The current data-processing agreement and whether this coach accepted it",
)
async def api_agreement(request: Request[Any, Any, Any]) -> AgreementOut:
    login = await login_of(request)
    return AgreementOut.of(await coaches.agreement_state(login.principal.id))


@post(
    "/api/coach/agreement",
    name="api-coach-agreement-accept",
    tags=TAGS,
    guards=WRITE_GUARDS,
    status_code=HTTP_200_OK,
    summary="Accept the current data-processing agreement (send its version)",
)
async def api_agreement_accept(
    request: Request[Any, Any, Any], data: JSONBody[AgreementIn]
) -> AgreementOut:
    login = await login_of(request)
    state = await coaches.accept_agreement(
        login.principal.id, data.version, actor=login.principal.actor
    )
    return AgreementOut.of(state)


ROUTES: tuple[Any, ...] = (
    api_requests,
    api_request,
    api_accept,
    api_decline,
    api_matches,
    api_match,
    api_match_cv,
    api_match_close,
    api_profile,
    api_profile_update,
    api_agreement,
    api_agreement_accept,
)
