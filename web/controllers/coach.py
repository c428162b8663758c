"""The coach portal's pages: offers, accept or decline, my matches, profile, agreement, security.

Every page needs a logged-in coach; every form carries the session's CSRF token
and answers with a 303 redirect. Accepting goes through
:func:`matching.matches.accept`: the winner lands on the match with the contact
details; everyone later gets a kind "already matched" page (409), and a coach
without the agreement, at capacity or too late gets a page that says what to do.
Statuses come from :mod:`web.errors` (the one mapping); these pages only add
the way forward.
"""

from __future__ import annotations

import dataclasses
import datetime
import zoneinfo
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY

from matching import accounts, catalogue, coaches, matches, offers
from matching.errors import (
    InvalidFields,
)
from matching.matches import CvDownload
from web import i18n
from web.csrf import protect_session
from web.i18n import N_
from web.sessions import login_of, require_coach, runtime_of
from web.templating import page

TIME_ZONE = zoneinfo.ZoneInfo("Europe/Amsterdam")

# The agreement's clauses are msgids defined in matching.agreement; listed here so that
# extraction puts them in the catalog (a test checks both lists are the same).
AGREEMENT_CLAUSES = (
    N_(
        "I use a candidate's contact details and other data only to offer and provide "
        "coaching for the request I accepted."
    ),
    N_(
        "I do not pass the data on to anyone else and keep it safe (a locked device, no "
        "shared accounts)."
    ),
    N_(
        "I delete the data as soon as it is no longer needed for the coaching, and at the "
        "latest when the coaching ends."
    ),
    N_("I report a suspected data leak to Coachmatch at once, within 24 hours."),
    N_("I help Coachmatch answer a candidate's request to see, correct or erase their data."),
)

DECLINE_REASONS = {
    "no_capacity": N_("I have no room for a new candidate now"),
    "not_my_field": N_("The question is outside my expertise"),
    "region": N_("The candidate is too far away for me"),
    "language": N_("I do not coach in this language"),
    "other": N_("Another reason"),
}

# Labels of the request form's choices and fields (the same msgids as the candidate's form).
EMPLOYMENT = {
    "employed": N_("Employed"),
    "self-employed": N_("Self-employed"),
    "job-seeking": N_("Looking for work"),
    "studying": N_("Studying"),
    "not-working": N_("Not working"),
    "other": N_("Other"),
}

# Optional details a candidate may give (matching.intake), as the winning coach sees them.
DETAIL_FIELDS = {
    "street": N_("Street and house number"),
    "postcode": N_("Postcode"),
    "city": N_("Town or city"),
    "birth_date": N_("Birth date"),
    "age": N_("Age in years"),
    "gender": N_("Gender"),
    "education": N_("Highest education level"),
    "job_title": N_("Job title"),
    "employment": N_("Employment situation"),
    "employer": N_("Employer"),
    "income": N_("Income"),
}
DETAIL_VALUES = {
    "gender": {
        "woman": N_("Woman"),
        "man": N_("Man"),
        "non-binary": N_("Non-binary"),
        "other": N_("Other"),
    },
    "education": {
        "vmbo": N_("VMBO"),
        "havo": N_("HAVO"),
        "vwo": N_("VWO"),
        "mbo": N_("MBO (vocational education)"),
        "hbo": N_("HBO (university of applied sciences)"),
        "wo": N_("WO (university)"),
        "other": N_("Other"),
    },
    "employment": EMPLOYMENT,
    "income": {
        "below-modal": N_("Below the modal income"),
        "around-modal": N_("Around the modal income"),
        "above-modal": N_("Above the modal income"),
    },
}

PROFILE_ERRORS = {
    "topics": N_("Choose one to five topics from the list."),
    "regions": N_("Choose at least one province, or online."),
    "languages": N_("Choose at least one language."),
    "capacity": N_("Capacity must be a whole number from 1 to 50."),
}


@dataclasses.dataclass(frozen=True)
class Labels:
    """Display names of stored codes, in the page's language (templates call these)."""

    lang: str

    def topics(self, codes: Iterable[str]) -> str:
        return ", ".join(catalogue.labels(codes, catalogue.TOPICS, self.lang))

    def regions(self, codes: Iterable[str]) -> str:
        return ", ".join(catalogue.labels(codes, catalogue.REGIONS, self.lang))

    def languages(self, codes: Iterable[str]) -> str:
        return ", ".join(catalogue.labels(codes, catalogue.LANGUAGES, self.lang))

    def field_of_work(self, code: str | None) -> str:
        label = offers.field_of_work_label(code, self.lang) or ""
        return label[:1].upper() + label[1:]

    def employment(self, code: str | None) -> str:
        return i18n.gettext(EMPLOYMENT[code]) if code in EMPLOYMENT else (code or "")

    def reason(self, code: str | None) -> str:
        return i18n.gettext(DECLINE_REASONS[code]) if code in DECLINE_REASONS else ""

    def detail_name(self, field: str) -> str:
        return i18n.gettext(DETAIL_FIELDS[field]) if field in DETAIL_FIELDS else field

    def detail_value(self, field: str, value: str) -> str:
        known = DETAIL_VALUES.get(field, {})
        return i18n.gettext(known[value]) if value in known else value

    def date(self, moment: datetime.datetime | None) -> str:
        if moment is None:
            return ""
        local = moment.astimezone(TIME_ZONE)
        return local.strftime("%Y-%m-%d" if self.lang == "en" else "%d-%m-%Y")

    def clause(self, msgid: str) -> str:
        return i18n.gettext(msgid)


def labels() -> Labels:
    return Labels(i18n.active_language())


def _choices(known: dict[str, catalogue.Entry], lang: str) -> list[tuple[str, str]]:
    return [(code, entry.label(lang)) for code, entry in known.items()]


# -- home: the feed ----------------------------------------------------------------------


@get("/coach", name="coach-home", include_in_schema=False, guards=[require_coach])
async def coach_home(
    request: Request[Any, Any, Any],
    before: FromQuery[str | None] = None,
    done: FromQuery[str | None] = None,
) -> Template:
    login = await login_of(request)
    board = await coaches.dashboard(runtime_of(request), login.principal.id, before=before)
    return await page(
        request, "coach/home.html", board=board, labels=labels(), done=done, before=before
    )


# -- one request: read, accept, decline --------------------------------------------------

REFUSALS = {"refusal_template": "coach/not_accepted.html"}  # see web.errors


@get(
    "/coach/requests/{request_id:uuid}",
    name="coach-request",
    opt=REFUSALS,
    include_in_schema=False,
    guards=[require_coach],
)
async def coach_request(
    request: Request[Any, Any, Any], request_id: FromPath[UUID]
) -> Template | Redirect:
    login = await login_of(request)
    view = await coaches.offer_page(runtime_of(request), login.principal.id, request_id)
    if view.offer.status == "accepted":
        return Redirect(f"/coach/matches/{request_id}", status_code=HTTP_303_SEE_OTHER)
    return await page(
        request,
        "coach/request.html",
        view=view,
        offer=view.offer,
        labels=labels(),
        reasons=[(code, i18n.gettext(text)) for code, text in DECLINE_REASONS.items()],
    )


@post(
    "/coach/requests/{request_id:uuid}/accept",
    name="coach-request-accept",
    opt=REFUSALS,
    include_in_schema=False,
    guards=[require_coach, protect_session],
    status_code=HTTP_303_SEE_OTHER,
)
async def coach_request_accept(
    request: Request[Any, Any, Any], request_id: FromPath[UUID]
) -> Template | Redirect:
    login = await login_of(request)
    await matches.accept(runtime_of(request), login.principal.id, request_id)
    return Redirect(f"/coach/matches/{request_id}", status_code=HTTP_303_SEE_OTHER)


@dataclasses.dataclass
class DeclineForm:
    reason: str = ""
    csrf_token: str = ""


@post(
    "/coach/requests/{request_id:uuid}/decline",
    name="coach-request-decline",
    opt=REFUSALS,
    include_in_schema=False,
    guards=[require_coach, protect_session],
    status_code=HTTP_303_SEE_OTHER,
)
async def coach_request_decline(
    request: Request[Any, Any, Any],
    request_id: FromPath[UUID],
    data: URLEncodedBody[DeclineForm],
) -> Template | Redirect:
    login = await login_of(request)
    await offers.decline(login.principal.id, request_id, data.reason or None)
    return Redirect("/coach?done=declined", status_code=HTTP_303_SEE_OTHER)


# -- my matches --------------------------------------------------------------------------


@get("/coach/matches", name="coach-matches", include_in_schema=False, guards=[require_coach])
async def coach_matches(request: Request[Any, Any, Any]) -> Template:
    login = await login_of(request)
    found = await offers.my_matches(runtime_of(request), login.principal.id)
    return await page(request, "coach/matches.html", matches=found, labels=labels())


@get(
    "/coach/matches/{request_id:uuid}",
    name="coach-match",
    include_in_schema=False,
    guards=[require_coach],
)
async def coach_match(request: Request[Any, Any, Any], request_id: FromPath[UUID]) -> Template:
    login = await login_of(request)
    detail = await offers.match(runtime_of(request), login.principal.id, request_id)
    return await page(
        request,
        "coach/match.html",
        match=detail.summary,
        contact=detail.contact,
        labels=labels(),
    )


@get(
    "/coach/matches/{request_id:uuid}/cv",
    name="coach-match-cv",
    include_in_schema=False,
    guards=[require_coach],
)
async def coach_match_cv(
    request: Request[Any, Any, Any], request_id: FromPath[UUID]
) -> Response[bytes]:
    login = await login_of(request)
    download = await offers.cv(runtime_of(request), login.principal.id, request_id)
    return cv_response(download)


def cv_response(download: CvDownload) -> Response[bytes]:
    """The CV as an attachment: its own media type, never cached, never rendered inline."""
    fallback = "cv.pdf" if download.media_type == "application/pdf" else "cv.docx"
    disposition = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(download.filename, safe='')}"
    )
    return Response(
        content=download.content,
        media_type=download.media_type,
        headers={
            "content-disposition": disposition,
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
    )


@dataclasses.dataclass
class CsrfOnlyForm:
    csrf_token: str = ""


@post(
    "/coach/matches/{request_id:uuid}/close",
    name="coach-match-close",
    include_in_schema=False,
    guards=[require_coach, protect_session],
    status_code=HTTP_303_SEE_OTHER,
)
async def coach_match_close(
    request: Request[Any, Any, Any],
    request_id: FromPath[UUID],
    data: URLEncodedBody[CsrfOnlyForm],
) -> Redirect:
    login = await login_of(request)
    await offers.close_match(login.principal.id, request_id)
    return Redirect(f"/coach/matches/{request_id}", status_code=HTTP_303_SEE_OTHER)


# -- profile -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ProfileValues:
    """What the profile form shows: stored values, or what was just sent."""

    topics: tuple[str, ...]
    regions: tuple[str, ...]
    languages: tuple[str, ...]
    capacity: str
    paused: bool


async def _profile_page(
    request: Request[Any, Any, Any],
    values: ProfileValues,
    *,
    errors: dict[str, str] | None = None,
    saved: bool = False,
) -> Template:
    lang = i18n.active_language()
    return await page(
        request,
        "coach/profile.html",
        status_code=HTTP_422_UNPROCESSABLE_ENTITY if errors else 200,
        values=values,
        errors={field: i18n.gettext(PROFILE_ERRORS[field]) for field in errors or {}},
        saved=saved,
        topic_choices=_choices(dict(catalogue.TOPICS), lang),
        region_choices=_choices(dict(catalogue.REGIONS), lang),
        language_choices=_choices(dict(catalogue.LANGUAGES), lang),
        max_topics=catalogue.MAX_TOPICS,
        min_capacity=coaches.MIN_CAPACITY,
        max_capacity=coaches.MAX_CAPACITY,
    )


@get("/coach/profile", name="coach-profile", include_in_schema=False, guards=[require_coach])
async def coach_profile(
    request: Request[Any, Any, Any], saved: FromQuery[bool] = False
) -> Template:
    login = await login_of(request)
    profile = await coaches.profile(login.principal.id)
    values = ProfileValues(
        profile.topics, profile.regions, profile.languages, str(profile.capacity), profile.paused
    )
    return await _profile_page(request, values, saved=saved)


@post(
    "/coach/profile",
    name="coach-profile-submit",
    include_in_schema=False,
    guards=[require_coach, protect_session],
    status_code=HTTP_303_SEE_OTHER,
)
async def coach_profile_submit(request: Request[Any, Any, Any]) -> Template | Redirect:
    login = await login_of(request)
    form = await request.form()
    values = ProfileValues(
        topics=tuple(str(v) for v in form.getall("topics", [])),
        regions=tuple(str(v) for v in form.getall("regions", [])),
        languages=tuple(str(v) for v in form.getall("languages", [])),
        capacity=str(form.get("capacity") or "")[:10],
        paused=bool(form.get("paused")),
    )
    try:
        await coaches.update_profile(
            login.principal.id,
            topics=values.topics,
            regions=values.regions,
            languages=values.languages,
            capacity=values.capacity,
            paused=values.paused,
            actor=login.principal.actor,
        )
    except InvalidFields as exc:  # the form again, as sent, with a message per field
        errors = {
            field: message for field, message in exc.errors.items() if field in PROFILE_ERRORS
        }
        return await _profile_page(request, values, errors=errors)
    return Redirect("/coach/profile?saved=true", status_code=HTTP_303_SEE_OTHER)


# -- the data-processing agreement -------------------------------------------------------


@get("/coach/agreement", name="coach-agreement", include_in_schema=False, guards=[require_coach])
async def coach_agreement(request: Request[Any, Any, Any]) -> Template:
    login = await login_of(request)
    state = await coaches.agreement_state(login.principal.id)
    return await page(request, "coach/agreement.html", state=state, labels=labels())


@dataclasses.dataclass
class AgreementForm:
    version: str = ""
    agree: str = ""
    csrf_token: str = ""


@post(
    "/coach/agreement",
    name="coach-agreement-submit",
    include_in_schema=False,
    guards=[require_coach, protect_session],
    status_code=HTTP_303_SEE_OTHER,
)
async def coach_agreement_submit(
    request: Request[Any, Any, Any], data: URLEncodedBody[AgreementForm]
) -> Template | Redirect:
    login = await login_of(request)
    if not data.agree:
        state = await coaches.agreement_state(login.principal.id)
        return await page(
            request,
            "coach/agreement.html",
            status_code=HTTP_422_UNPROCESSABLE_ENTITY,
            state=state,
            labels=labels(),
            error=i18n.gettext(N_("Tick the box to show that you accept the agreement.")),
        )
    await coaches.accept_agreement(login.principal.id, data.version, actor=login.principal.actor)
    return Redirect("/coach/agreement", status_code=HTTP_303_SEE_OTHER)


# -- two-step verification ---------------------------------------------------------------


@get("/coach/security", name="coach-security", include_in_schema=False, guards=[require_coach])
async def coach_security(request: Request[Any, Any, Any]) -> Template:
    login = await login_of(request)
    profile = await accounts.coach_profile(login.principal.id)
    secret = None
    if not profile.totp_enabled:
        secret = await accounts.coach_totp_secret(runtime_of(request), login.principal.id)
    return await page(request, "coach/security.html", profile=profile, secret=secret)


@dataclasses.dataclass
class TotpForm:
    code: str = dataclasses.field(default="", repr=False)
    csrf_token: str = ""


@post(
    "/coach/security",
    name="coach-security-submit",
    include_in_schema=False,
    guards=[require_coach, protect_session],
    opt={"form_template": "coach/security.html"},
    status_code=HTTP_303_SEE_OTHER,
)
async def coach_enable_totp(
    request: Request[Any, Any, Any],
    data: URLEncodedBody[TotpForm],
) -> Redirect:
    login = await login_of(request)
    await accounts.enable_coach_totp(runtime_of(request), login.principal.id, data.code)
    return Redirect("/coach/security", status_code=HTTP_303_SEE_OTHER)


ROUTES: tuple[Any, ...] = (
    coach_home,
    coach_request,
    coach_request_accept,
    coach_request_decline,
    coach_matches,
    coach_match,
    coach_match_cv,
    coach_match_close,
    coach_profile,
    coach_profile_submit,
    coach_agreement,
    coach_agreement_submit,
    coach_security,
    coach_enable_totp,
)
