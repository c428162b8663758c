"""Every error becomes an HTTP answer here, and only here.

Domain errors (:mod:`matching.errors`), the web's own (login required, CSRF,
foreign host) and Litestar's HTTP exceptions map to a status and a short code.
API paths (``/api/...``) get RFC 9457 problem details
(``application/problem+json`` with ``type``, ``title``, ``status``, ``detail``
and our ``code``); browser pages get a friendly page in the visitor's language.
A handler whose ``opt`` names a ``form_template`` gets its form back with the
message instead (the login form shows "incorrect" without leaving the page).

Anything unexpected is a 500 that says nothing about the cause: no stack trace,
no exception text (it might quote data), only a log line with the exception
type and the route's pattern, never its actual path (private links carry tokens).
"""

from __future__ import annotations

import dataclasses
import logging
import traceback
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER

from matching import errors as domain
from web import i18n
from web.candidate_link import CANDIDATE_COOKIE, cleared_candidate_cookie
from web.csrf import CsrfFailed
from web.i18n import N_
from web.security import ForeignHost
from web.sessions import LoginRequired
from web.templating import error_page, language_of

log = logging.getLogger(__name__)


class BearerInvalid(Exception):
    """A candidate API call without a bearer token, or with one we do not know."""


PROBLEM_JSON = "application/problem+json"
API_PREFIX = "/api/"
RETRY_AFTER_SECONDS = 15 * 60


@dataclasses.dataclass(frozen=True)
class Problem:
    """How one kind of error is answered. ``title`` and ``explanation`` are msgids."""

    status: int
    code: str
    title: str
    explanation: str
    show_message: bool = False  # the exception's own text is safe and useful to show
    headers: dict[str, str] | None = None


# Domain messages a visitor may read on a page (``show_message``): listed here so that
# extraction puts them in the catalog and the page can show them translated.
SHOWN_DOMAIN_MESSAGES = (
    N_("the code is not correct; check the time on your phone and try again"),
    N_("unknown language"),
    N_("this request is no longer open"),
    N_("you have as many active matches as your capacity; close one first"),
    N_("a coach has accepted your request already; it can no longer be withdrawn"),
    N_("only an expired request can be sent again"),
    N_("we could not prepare your text for coaches; please try again later"),
)
# A handler's ``opt`` may name this key with a msgid: shown for 413 instead of the default.
TOO_LARGE_OPT = "too_large_detail"

INTERNAL = Problem(
    500,
    "internal_error",
    N_("Something went wrong"),
    N_("We could not handle your request. Please try again later."),
)
_DOMAIN: tuple[tuple[type[Exception], Problem], ...] = (
    # Most specific first: the first matching class wins.
    (
        CsrfFailed,
        Problem(
            403,
            "csrf_failed",
            N_("This form has expired"),
            N_("Please reload the page and try again."),
        ),
    ),
    (
        LoginRequired,
        Problem(
            401, "login_required", N_("Please log in"), N_("You need to log in to see this page.")
        ),
    ),
    (
        ForeignHost,
        Problem(
            400,
            "invalid_host",
            N_("Unknown address"),
            N_("This site does not answer to this address."),
        ),
    ),
    (
        domain.AuthenticationFailed,
        Problem(
            401,
            "authentication_failed",
            N_("Login failed"),
            N_("E-mail address, password or code is incorrect."),
        ),
    ),
    (
        domain.TooManyAttempts,
        Problem(
            429,
            "too_many_attempts",
            N_("Too many attempts"),
            N_("Too many failed attempts. Please wait 15 minutes and try again."),
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ),
    ),
    (
        BearerInvalid,
        Problem(
            401,
            "invalid_token",
            N_("Unknown link"),
            N_("Send the token of your private link as a bearer token."),
            headers={"WWW-Authenticate": "Bearer"},
        ),
    ),
    (
        domain.RequestAlreadyMatched,
        Problem(
            409,
            "already_matched",
            N_("Already matched"),
            N_("Another coach has accepted this request already."),
        ),
    ),
    (
        domain.NotOpen,
        Problem(
            409,
            "not_open",
            N_("No longer open"),
            N_("This request is no longer open."),
            show_message=True,
        ),
    ),
    (
        domain.AtCapacity,
        Problem(
            409,
            "at_capacity",
            N_("No room for another match"),
            N_("You have as many active matches as your capacity allows."),
            show_message=True,
        ),
    ),
    (
        domain.AgreementMissing,
        Problem(
            403,
            "agreement_missing",
            N_("Agreement needed"),
            N_("Accept the data-processing agreement before accepting requests."),
        ),
    ),
    (
        domain.AnonymisationFailed,
        Problem(
            503,
            "anonymisation_failed",
            N_("Please try again later"),
            N_(
                "We could not prepare your text for coaches just now. Nothing was sent. "
                "Please try again in a few minutes."
            ),
            headers={"Retry-After": "120"},
        ),
    ),
    (
        domain.InvalidFields,
        Problem(
            422,
            "invalid_fields",
            N_("Please check your input"),
            N_("Some of what you entered is not valid."),
            show_message=True,
        ),
    ),
    (
        domain.SubjectErased,
        Problem(404, "not_found", N_("Page not found"), N_("This page does not exist (any more).")),
    ),
    (domain.DecryptionFailed, INTERNAL),
    (domain.IntegrityFailure, INTERNAL),
    (domain.ConfigurationError, INTERNAL),
    (
        domain.NotFound,
        Problem(404, "not_found", N_("Page not found"), N_("This page does not exist (any more).")),
    ),
    (
        domain.PermissionDenied,
        Problem(403, "permission_denied", N_("Not allowed"), N_("Your account may not do this.")),
    ),
    (
        domain.Conflict,
        Problem(
            409,
            "conflict",
            N_("Conflict"),
            N_("This conflicts with the current state."),
            show_message=True,
        ),
    ),
    (
        domain.InvalidInput,
        Problem(
            422,
            "invalid_input",
            N_("Please check your input"),
            N_("Some of what you entered is not valid."),
            show_message=True,
        ),
    ),
    (
        domain.DomainError,
        Problem(
            400,
            "bad_request",
            N_("Request not possible"),
            N_("We could not do what you asked."),
            show_message=True,
        ),
    ),
)
_HTTP: dict[int, Problem] = {
    400: Problem(400, "bad_request", N_("Invalid request"), N_("The request is not valid.")),
    401: Problem(
        401, "login_required", N_("Please log in"), N_("You need to log in to see this page.")
    ),
    403: Problem(403, "permission_denied", N_("Not allowed"), N_("Your account may not do this.")),
    404: Problem(
        404, "not_found", N_("Page not found"), N_("This page does not exist (any more).")
    ),
    405: Problem(
        405,
        "method_not_allowed",
        N_("Method not allowed"),
        N_("This page cannot be used that way."),
    ),
    413: Problem(413, "too_large", N_("Too large"), N_("What you sent is too large.")),
    415: Problem(
        415,
        "unsupported_media_type",
        N_("Unsupported format"),
        N_("What you sent is in a format we do not accept."),
    ),
    429: Problem(
        429,
        "too_many_attempts",
        N_("Too many attempts"),
        N_("Too many failed attempts. Please wait 15 minutes and try again."),
    ),
}


def classify(exc: Exception) -> Problem:
    """The answer for an exception (500 for anything not known to be the caller's fault)."""
    for cls, problem in _DOMAIN:
        if isinstance(exc, cls):
            return problem
    if isinstance(exc, HTTPException):
        found = _HTTP.get(exc.status_code)
        if found is not None:
            return dataclasses.replace(found, headers=_safe_headers(exc) or found.headers)
        if exc.status_code < 500:
            return dataclasses.replace(_HTTP[400], status=exc.status_code)
    return INTERNAL


def _safe_headers(exc: HTTPException) -> dict[str, str] | None:
    # Only headers that describe the method or timing; nothing else leaves the exception.
    allowed = {"allow", "retry-after"}
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() in allowed}
    return headers or None


def is_api(request: Request[Any, Any, Any]) -> bool:
    return str(request.scope.get("path", "")).startswith(API_PREFIX)


def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The one exception handler of the app."""
    if isinstance(exc, domain.UnknownLink) and is_api(request):
        exc = BearerInvalid()  # the bearer token is the private link's token
    problem = classify(exc)
    if problem.status >= 500 and problem is INTERNAL:
        _log_unexpected(request, exc)
    i18n.activate(language_of(request))
    if is_api(request):
        return problem_response(problem, exc)
    if isinstance(exc, LoginRequired):
        return Redirect("/login", status_code=HTTP_303_SEE_OTHER)
    if isinstance(exc, domain.UnknownLink):
        return _unknown_link_page(request)
    return html_response(request, problem, exc)


def _unknown_link_page(request: Request[Any, Any, Any]) -> Response[Any]:
    """A friendly page; a stale link in the browser's cookie is cleared with it."""
    response = error_page(request, "request/unknown.html", status_code=404)
    if CANDIDATE_COOKIE in request.cookies:
        response.set_cookie(cleared_candidate_cookie())
    return response


def _message(problem: Problem, exc: Exception) -> str | None:
    if problem.show_message and isinstance(exc, domain.DomainError) and str(exc):
        return str(exc)
    return None


def problem_response(problem: Problem, exc: Exception) -> Response[Any]:
    body: dict[str, Any] = {
        "type": f"urn:coachmatch:problem:{problem.code}",
        "title": problem.title,
        "status": problem.status,
        "detail": _message(problem, exc) or problem.explanation,
        "code": problem.code,
    }
    if isinstance(exc, domain.InvalidFields):
        body["errors"] = {field: i18n.gettext(text) for field, text in exc.errors.items()}
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list):
        body["invalid_params"] = [
            {"name": str(item.get("key", "")), "reason": str(item.get("message", ""))}
            for item in exc.extra
            if isinstance(item, dict)
        ]
    return Response(
        content=body, status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers
    )


def html_response(
    request: Request[Any, Any, Any], problem: Problem, exc: Exception
) -> Response[Any]:
    message = _message(problem, exc) or _handler_opt(request, TOO_LARGE_OPT, problem.status == 413)
    detail = i18n.gettext(message) if message else i18n.gettext(problem.explanation)
    refusal_template = _refusal_template(request, problem)
    if refusal_template is not None:
        return error_page(
            request,
            refusal_template,
            status_code=problem.status,
            headers=problem.headers,
            kind=problem.code,
        )
    form_template = _form_template(request, problem)
    if form_template is not None:
        return error_page(
            request,
            form_template,
            status_code=problem.status,
            headers=problem.headers,
            error=detail,
        )
    return error_page(
        request,
        "error.html",
        status_code=problem.status,
        headers=problem.headers,
        status=problem.status,
        title=i18n.gettext(problem.title),
        detail=detail,
    )


def _handler_opt(request: Request[Any, Any, Any], key: str, wanted: bool) -> str | None:
    if not wanted:
        return None
    try:
        value = request.route_handler.opt.get(key)
    except Exception:  # no route matched
        return None
    return value if isinstance(value, str) else None


# Refusals of an action that was allowed a moment ago (another coach was first, ...):
# a handler whose ``opt`` names a ``refusal_template`` explains them on a page of its
# own, which shows what happened and what to do next (it gets the problem's code).
REFUSAL_CODES = frozenset({"already_matched", "agreement_missing", "at_capacity", "not_open"})


def _refusal_template(request: Request[Any, Any, Any], problem: Problem) -> str | None:
    if problem.code not in REFUSAL_CODES:
        return None
    try:
        template = request.route_handler.opt.get("refusal_template")
    except Exception:  # no route matched
        return None
    return template if isinstance(template, str) else None


def _form_template(request: Request[Any, Any, Any], problem: Problem) -> str | None:
    """The form to show again with the message, for errors the visitor can correct."""
    if problem.status >= 500 or problem.status in (404, 405):
        return None
    try:
        handler = request.route_handler
    except Exception:  # no route matched (404): there is no form
        return None
    template = handler.opt.get("form_template") if request.method == "POST" else None
    return template if isinstance(template, str) else None


def _log_unexpected(request: Request[Any, Any, Any], exc: Exception) -> None:
    try:
        where = request.route_handler.handler_name
    except Exception:
        where = "?"
    # Frames only: the exception's text might quote a value from a request or a row.
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("unexpected %s in %s %s\n%s", type(exc).__name__, request.method, where, frames)


def exception_handlers() -> dict[type[Exception] | int, Any]:
    return {Exception: handle, HTTPException: handle}
