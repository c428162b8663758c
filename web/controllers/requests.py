"""The candidate's pages: the request form, the preview, sending, and the status page.

The form asks the minimum (name, e-mail, motivation, topics, language and the
consent to share contact details with the one coach who accepts); every other
field sits behind its own consent tick that says what it is for. It works
without JavaScript: every field is always visible, and the server refuses a
value whose consent is missing with a message at that field. On any error the
form comes back with everything that was entered and an error summary that
links to each field.

The preview shows exactly what coaches will see (the anonymised text, editable,
and the generalised attributes); every entered value rides along in hidden
fields. Sending stores the request and sets the candidate's cookie, so the
confirmation page can lead to the status page.

The private link ``/s/{token}`` moves the token into the ``__Host-candidate``
cookie at once and redirects to ``/my-request``, so the token leaves the
address bar (and the browser history of later pages); the site sends no
Referer anywhere. Paths are never logged.
"""

from __future__ import annotations

import dataclasses
import hmac
import urllib.parse
from collections.abc import Mapping
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import CacheControlHeader, UploadFile
from litestar.params import FromPath
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from matching import candidates, catalogue, consent, intake
from matching.errors import AnonymisationFailed, InvalidFields
from web import i18n
from web.candidate_link import (
    CANDIDATE_COOKIE,
    candidate_cookie,
    cleared_candidate_cookie,
    token_of,
)
from web.controllers import coach
from web.csrf import FORM_FIELD, check_origin, form_tokens, protect_anonymous
from web.errors import TOO_LARGE_OPT
from web.i18n import N_
from web.sessions import current_login, runtime_of
from web.templating import page

NO_STORE = CacheControlHeader(no_store=True)
MIB = 1024 * 1024

# -- what the form asks, and why -------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Field:
    name: str
    label: str  # msgid
    why: str  # msgid: why we ask
    kind: str = "text"  # text | email | tel | date | number | select | textarea
    autocomplete: str = "off"
    choices: tuple[tuple[str, str], ...] = ()  # (code, msgid)


@dataclasses.dataclass(frozen=True)
class Section:
    """An optional part of the form, enabled by one consent."""

    consent: str
    legend: str  # msgid
    intro: str | None  # msgid
    fields: tuple[Field, ...]


GENDER_LABELS: Mapping[str, str] = {
    "woman": N_("Woman"),
    "man": N_("Man"),
    "non-binary": N_("Non-binary"),
    "other": N_("Other"),
}
EDUCATION_LABELS: Mapping[str, str] = {
    "vmbo": N_("VMBO"),
    "havo": N_("HAVO"),
    "vwo": N_("VWO"),
    "mbo": N_("MBO (vocational education)"),
    "hbo": N_("HBO (university of applied sciences)"),
    "wo": N_("WO (university)"),
    "other": N_("Other"),
}
EMPLOYMENT_LABELS: Mapping[str, str] = {
    "employed": N_("Employed"),
    "self-employed": N_("Self-employed"),
    "job-seeking": N_("Looking for work"),
    "studying": N_("Studying"),
    "not-working": N_("Not working"),
    "other": N_("Other"),
}
INCOME_LABELS: Mapping[str, str] = {
    "below-modal": N_("Below the modal income"),
    "around-modal": N_("Around the modal income"),
    "above-modal": N_("Above the modal income"),
}

# The consent texts live in matching.consent (English); listed here for the catalog.
CONSENT_TEXTS = (
    N_(
        "Share my name, e-mail address and phone number (if given) with the one coach "
        "who accepts my request, so that this coach can contact me."
    ),
    N_("Use my phone number so that the coach who accepts can call me."),
    N_(
        "Use my address to offer my request to coaches in my province (coaches see only "
        "the province) and share it with the coach who accepts."
    ),
    N_("Use my birth date or age to show coaches my age band (never the exact date)."),
    N_("Share my gender with the coach who accepts, because it matters to me."),
    N_("Share my education level with the coach who accepts."),
    N_(
        "Use my job title to show coaches my field of work (not the title itself) and "
        "share it with the coach who accepts."
    ),
    N_("Store my CV encrypted and show it only to the coach who accepts."),
    N_(
        "Use my employment situation, employer and income for matching: coaches see only "
        "the kind of employment; everything else is deleted right after matching."
    ),
    N_(
        "Keep my employment situation, employer and income after matching, because my "
        "coaching needs them (for example a return-to-work plan), and share them with "
        "the coach who accepts."
    ),
)

# Messages of matching.intake, catalogue, consent and cv a candidate may read.
FIELD_MESSAGES = (
    N_("this field is required"),
    N_("use at most 200 ordinary characters"),
    N_("the e-mail address is not valid"),
    N_("tell us a little more: at least 20 characters"),
    N_("use at most 5000 characters"),
    N_("unknown topic: choose from the list"),
    N_("choose at least one topic"),
    N_("choose at most 5 topics"),
    N_("unknown language: choose from the list"),
    N_("unknown consent purpose"),
    N_("we need your consent to share your contact details with the coach who accepts"),
    N_("keeping employment data needs the consent to use it first"),
    N_("the text is too long"),
    N_("tick the consent for this field, or leave it empty"),
    N_("choose one of the options"),
    N_("this is not a phone number we can call"),
    N_("a Dutch postcode looks like 1234 AB"),
    N_("write the date as YYYY-MM-DD"),
    N_("write your age in years"),
    N_("you must be at least 16 years old"),
    N_("the CV file is empty"),
    N_("the CV is larger than 5 MB"),
    N_("the CV must be a PDF or Word (.docx) file"),
)
_KEEP_MESSAGE = "keeping employment data needs the consent to use it first"

NAME = Field(
    "name",
    N_("Your name"),
    N_("So that the coach who accepts knows who you are. Other coaches never see it."),
    autocomplete="name",
)
EMAIL = Field(
    "email",
    N_("Your e-mail address"),
    N_(
        "We send you a private link to follow your request, and the coach who accepts "
        "uses it to contact you."
    ),
    kind="email",
    autocomplete="email",
)
MOTIVATION = Field(
    "motivation",
    N_("What would you like help with?"),
    N_(
        "Coaches decide from this text whether they can help you. Before any coach reads "
        "it, we remove your name and other details that identify you; you see the result "
        "before you send it."
    ),
    kind="textarea",
)
TOPICS_WHY = N_("Only coaches who work on these topics receive your request. Choose 1 to 5.")
LANGUAGE_WHY = N_("Only coaches who coach in this language receive your request.")
CONTACT_WHY = N_("Without this consent we cannot put you in touch with a coach.")

SECTIONS: tuple[Section, ...] = (
    Section(
        consent.PHONE,
        N_("Phone number (optional)"),
        None,
        (
            Field(
                "phone",
                N_("Phone number"),
                N_("Some people prefer a phone call. Leave it empty if e-mail is fine."),
                kind="tel",
                autocomplete="tel",
            ),
        ),
    ),
    Section(
        consent.ADDRESS,
        N_("Address (optional)"),
        None,
        (
            Field(
                "street",
                N_("Street and house number"),
                N_("Only for the coach who accepts, for example to meet you nearby."),
                autocomplete="address-line1",
            ),
            Field(
                "postcode",
                N_("Postcode"),
                N_("Coaches see only your province, so that a coach near you can respond."),
                autocomplete="postal-code",
            ),
            Field(
                "city",
                N_("Town or city"),
                N_("Coaches see only your province, so that a coach near you can respond."),
                autocomplete="address-level2",
            ),
        ),
    ),
    Section(
        consent.AGE,
        N_("Age (optional)"),
        N_("Give your birth date or your age; one of them is enough."),
        (
            Field(
                "birth_date",
                N_("Birth date"),
                N_("Coaches see only an age band such as 35-44, never the date."),
                kind="date",
                autocomplete="bday",
            ),
            Field(
                "age",
                N_("Age in years"),
                N_("Coaches see only an age band such as 35-44."),
                kind="number",
            ),
        ),
    ),
    Section(
        consent.GENDER,
        N_("Gender (optional)"),
        None,
        (
            Field(
                "gender",
                N_("Gender"),
                N_("Only if it matters to you; only the coach who accepts sees it."),
                kind="select",
                choices=tuple(GENDER_LABELS.items()),
            ),
        ),
    ),
    Section(
        consent.EDUCATION,
        N_("Education (optional)"),
        None,
        (
            Field(
                "education",
                N_("Highest education level"),
                N_("Helps the coach who accepts to prepare; other coaches do not see it."),
                kind="select",
                choices=tuple(EDUCATION_LABELS.items()),
            ),
        ),
    ),
    Section(
        consent.JOB_TITLE,
        N_("Job title (optional)"),
        None,
        (
            Field(
                "job_title",
                N_("Job title"),
                N_("Coaches see only your field of work, such as ICT or healthcare."),
                autocomplete="organization-title",
            ),
        ),
    ),
    Section(
        consent.CV,
        N_("CV (optional)"),
        N_(
            "If you tick this, you can attach your CV (PDF or Word) on the next page, "
            "after you have seen what coaches will see."
        ),
        (),
    ),
    Section(
        consent.SPECIAL,
        N_("Work and income (optional, special personal data)"),
        N_(
            "Your employment situation, employer and income help us to find a coach who "
            "fits. Coaches see only the kind of employment. We use these details for "
            "matching and then delete them at once, unless you tick below that we should "
            "keep them."
        ),
        (
            Field(
                "employment",
                N_("Employment situation"),
                N_("Coaches see this, so that they know your situation."),
                kind="select",
                choices=tuple(EMPLOYMENT_LABELS.items()),
            ),
            Field(
                "employer",
                N_("Employer"),
                N_("Used only to remove your employer's name from your text; then deleted."),
                autocomplete="organization",
            ),
            Field(
                "income",
                N_("Income"),
                N_("Used only for matching; then deleted."),
                kind="select",
                choices=tuple(INCOME_LABELS.items()),
            ),
        ),
    ),
)
OPTIONAL_FIELDS = tuple(f.name for s in SECTIONS for f in s.fields)
TEXT_FIELDS = ("name", "email", "motivation", "language", *OPTIONAL_FIELDS)


# -- the values of a form --------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FormValues:
    """What the candidate entered, as text, kept across every page of the flow."""

    text: Mapping[str, str] = dataclasses.field(default_factory=dict, repr=False)
    topics: tuple[str, ...] = ()
    consents: frozenset[str] = frozenset()
    edited_text: str = dataclasses.field(default="", repr=False)

    @classmethod
    def from_form(cls, form: Any) -> FormValues:
        def one(name: str) -> str:
            value = form.get(name)
            return value if isinstance(value, str) else ""

        def many(name: str) -> tuple[str, ...]:
            return tuple(v for v in form.getall(name, []) if isinstance(v, str))

        return cls(
            text={name: one(name) for name in TEXT_FIELDS},
            topics=many("topics"),
            consents=frozenset(many("consents")),
            edited_text=one("edited_text"),
        )

    def get(self, name: str) -> str:
        return self.text.get(name, "")

    def intake_form(
        self, *, cv_filename: str = "", cv_content: bytes = b"", edited: bool = True
    ) -> intake.IntakeForm:
        return intake.IntakeForm(
            **{name: self.get(name) for name in TEXT_FIELDS if name != "language"},
            language=self.get("language") or "nl",
            topics=self.topics,
            consents=tuple(sorted(self.consents)),
            edited_text=self.edited_text if edited else "",
            cv_filename=cv_filename,
            cv_content=cv_content,
        )


def translated(errors: Mapping[str, str]) -> dict[str, str]:
    return {field: i18n.gettext(message) for field, message in errors.items()}


def _anchor(field: str, message: str) -> str:
    if field == "topics":
        return f"topic-{next(iter(catalogue.TOPICS))}"
    if field == "language":
        return "language-nl"
    if field == "consents":
        return "consent-special" if message == _KEEP_MESSAGE else "consent-contact_share"
    return f"field-{field}"


_ORDER = ("consents", "name", "email", "motivation", "topics", "language", *OPTIONAL_FIELDS)


def _summary(errors: Mapping[str, str]) -> list[tuple[str, str]]:
    """(anchor, translated message) in the order the fields appear."""
    order = {name: i for i, name in enumerate(_ORDER)}
    fields = sorted(errors, key=lambda f: order.get(f, len(order)))
    return [(_anchor(f, errors[f]), i18n.gettext(errors[f])) for f in fields]


# -- rendering -------------------------------------------------------------------------


def _form_context(values: FormValues, errors: Mapping[str, str]) -> dict[str, Any]:
    lang = i18n.active_language()
    return {
        "values": values,
        "errors": translated(errors),
        "error_items": _summary(errors),
        "consent_error_at": "special"
        if errors.get("consents") == _KEEP_MESSAGE
        else "contact_share",
        "fields": {"name": NAME, "email": EMAIL, "motivation": MOTIVATION},
        "why": {"topics": TOPICS_WHY, "language": LANGUAGE_WHY, "contact": CONTACT_WHY},
        "sections": SECTIONS,
        "purposes": consent.PURPOSES,
        "t": i18n.gettext,
        "topic_choices": [(code, e.label(lang)) for code, e in catalogue.TOPICS.items()],
        "language_choices": [(code, e.label(lang)) for code, e in catalogue.LANGUAGES.items()],
    }


async def _form_page(
    request: Request[Any, Any, Any],
    values: FormValues,
    errors: Mapping[str, str] | None = None,
    *,
    status_code: int = 200,
    notice: str | None = None,
) -> Template:
    context = _form_context(values, errors or {})
    response = await page(
        request,
        "request/form.html",
        status_code=status_code,
        notice=i18n.gettext(notice) if notice else None,
        **context,
    )
    return response


async def _preview_page(
    request: Request[Any, Any, Any],
    values: FormValues,
    shown: intake.Preview,
    errors: Mapping[str, str] | None = None,
    *,
    status_code: int = 200,
    notice: str | None = None,
    text: str | None = None,
) -> Template:
    settings = runtime_of(request).settings
    errors = errors or {}
    hidden: list[tuple[str, str]] = [(name, values.get(name)) for name in TEXT_FIELDS]
    hidden += [("topics", code) for code in values.topics]
    hidden += [("consents", code) for code in sorted(values.consents)]
    return await page(
        request,
        "request/preview.html",
        status_code=status_code,
        hidden=[(name, value) for name, value in hidden if value],
        text=shown.anonymised_text if text is None else text,
        shown=shown,
        labels=coach.labels(),
        cv_allowed=consent.CV in values.consents or "cv" in errors,
        cv_max_mb=max(1, settings.cv_max_bytes // MIB),
        errors=translated(errors),
        error_items=_summary(errors),
        notice=i18n.gettext(notice) if notice else None,
    )


async def _form_token_ok(request: Request[Any, Any, Any], form: Any) -> bool:
    """The anonymous form token (or a logged-in visitor's session token) is valid."""
    check_origin(request)  # a foreign site: refused outright (403)
    token = form.get(FORM_FIELD)
    if not isinstance(token, str) or not token:
        return False
    login = await current_login(request)
    if login is not None and hmac.compare_digest(token.encode(), login.session.csrf_token.encode()):
        return True
    return form_tokens(request).valid(token)


EXPIRED_NOTICE = N_(
    "This page had been open for a long time, so for your safety we did not send it yet. "
    "Everything you entered is still here: check it and press the button again."
)
ANONYMISER_NOTICE = N_(
    "We could not prepare your text for coaches just now. Nothing was sent and everything "
    "you entered is still here. Please try again in a few minutes."
)
CV_AGAIN = N_(
    "Choose the file again: for your safety, browsers do not keep a chosen file when a page "
    "comes back."
)


# -- the form, the preview, sending ----------------------------------------------------


@get("/request", name="request-form", include_in_schema=False)
async def request_form(request: Request[Any, Any, Any]) -> Template:
    return await _form_page(request, FormValues())


@post("/request/preview", name="request-preview", include_in_schema=False, status_code=200)
async def request_preview(request: Request[Any, Any, Any]) -> Template:
    form = await request.form()
    values = FormValues.from_form(form)
    if not await _form_token_ok(request, form):
        return await _form_page(request, values, status_code=403, notice=EXPIRED_NOTICE)
    try:
        shown = await candidates.preview(runtime_of(request), values.intake_form(edited=False))
    except InvalidFields as exc:
        return await _form_page(request, values, exc.errors, status_code=422)
    except AnonymisationFailed:
        return await _form_page(request, values, status_code=503, notice=ANONYMISER_NOTICE)
    return await _preview_page(request, values, shown)


@post(
    "/request",
    name="request-submit",
    include_in_schema=False,
    status_code=HTTP_303_SEE_OTHER,
    opt={
        TOO_LARGE_OPT: N_(
            "The file you chose is too large. Use your browser's back button to return to "
            "your request, where what you entered is kept, and choose a smaller CV (PDF or "
            "Word) or send it without one."
        )
    },
)
async def request_submit(request: Request[Any, Any, Any]) -> Response[Any]:
    form = await request.form()
    values = FormValues.from_form(form)
    if form.get("action") == "edit":
        return await _form_page(request, values)
    runtime = runtime_of(request)
    upload = form.get("cv")
    cv_filename, cv_content = "", b""
    if isinstance(upload, UploadFile):
        cv_content = await upload.read()
        cv_filename = upload.filename or ""
    if not await _form_token_ok(request, form):
        return await _preview_again(request, values, {}, status_code=403, notice=EXPIRED_NOTICE)
    try:
        submitted = await candidates.send(
            runtime, values.intake_form(cv_filename=cv_filename, cv_content=cv_content)
        )
    except InvalidFields as exc:
        if set(exc.errors) <= {"cv", "edited_text"}:
            return await _preview_again(request, values, exc.errors, status_code=422)
        return await _form_page(request, values, exc.errors, status_code=422)
    return Redirect(
        "/request/sent", status_code=HTTP_303_SEE_OTHER, cookies=[candidate_cookie(submitted.token)]
    )


async def _preview_again(
    request: Request[Any, Any, Any],
    values: FormValues,
    errors: Mapping[str, str],
    *,
    status_code: int,
    notice: str | None = None,
) -> Template:
    """The preview once more, with what the candidate edited and the messages."""
    edited_ok = "edited_text" not in errors
    try:
        shown = await candidates.preview(runtime_of(request), values.intake_form(edited=edited_ok))
    except InvalidFields as exc:
        return await _form_page(request, values, exc.errors, status_code=422)
    except AnonymisationFailed:
        return await _form_page(request, values, status_code=503, notice=ANONYMISER_NOTICE)
    if "cv" in errors:
        errors = {**errors, "cv": f"{i18n.gettext(errors['cv'])} {i18n.gettext(CV_AGAIN)}"}
    return await _preview_page(
        request,
        values,
        shown,
        errors,
        status_code=status_code,
        notice=notice,
        text=None if edited_ok else values.edited_text,
    )


@get("/request/sent", name="request-sent", include_in_schema=False, cache_control=NO_STORE)
async def request_sent(request: Request[Any, Any, Any]) -> Template:
    return await page(
        request, "request/sent.html", has_link=bool(request.cookies.get(CANDIDATE_COOKIE))
    )


# -- the private link and the status page ----------------------------------------------


@get("/s/{token:str}", name="private-link", include_in_schema=False, cache_control=NO_STORE)
async def private_link(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[Any]:
    await candidates.authenticate(runtime_of(request), token)  # UnknownLink: a friendly page
    return Redirect(
        "/my-request", status_code=HTTP_303_SEE_OTHER, cookies=[candidate_cookie(token)]
    )


@get("/my-request", name="my-request", include_in_schema=False, cache_control=NO_STORE)
async def my_request(request: Request[Any, Any, Any]) -> Template:
    shown = await candidates.status(runtime_of(request), token_of(request))
    return await page(
        request,
        "request/status.html",
        shown=shown,
        labels=coach.labels(),
    )


@post(
    "/my-request/withdraw",
    name="my-request-withdraw",
    include_in_schema=False,
    guards=[protect_anonymous],
    status_code=HTTP_303_SEE_OTHER,
)
async def my_request_withdraw(request: Request[Any, Any, Any]) -> Response[Any]:
    await candidates.withdraw(runtime_of(request), token_of(request))
    return Redirect("/my-request", status_code=HTTP_303_SEE_OTHER)


@post(
    "/my-request/resend",
    name="my-request-resend",
    include_in_schema=False,
    guards=[protect_anonymous],
    status_code=HTTP_303_SEE_OTHER,
)
async def my_request_resend(request: Request[Any, Any, Any]) -> Response[Any]:
    await candidates.resend(runtime_of(request), token_of(request))
    return Redirect("/my-request", status_code=HTTP_303_SEE_OTHER)


@get("/my-request/erase", name="my-request-erase", include_in_schema=False, cache_control=NO_STORE)
async def my_request_erase_page(request: Request[Any, Any, Any]) -> Template:
    token_of(request)
    return await page(request, "request/erase.html")


@post(
    "/my-request/erase",
    name="my-request-erase-submit",
    include_in_schema=False,
    guards=[protect_anonymous],
    status_code=HTTP_303_SEE_OTHER,
)
async def my_request_erase(request: Request[Any, Any, Any]) -> Response[Any]:
    await candidates.erase(runtime_of(request), token_of(request))
    return Redirect(
        "/my-request/erased", status_code=HTTP_303_SEE_OTHER, cookies=[cleared_candidate_cookie()]
    )


@get("/my-request/erased", name="my-request-erased", include_in_schema=False)
async def my_request_erased(request: Request[Any, Any, Any]) -> Template:
    return await page(request, "request/erased.html")


@get("/my-request/cv", name="my-request-cv", include_in_schema=False, cache_control=NO_STORE)
async def my_request_cv(request: Request[Any, Any, Any]) -> Response[Any]:
    download = await candidates.candidate_cv(runtime_of(request), token_of(request))
    return file_response(download.content, download.media_type, download.filename)


def file_response(content: bytes, media_type: str, filename: str) -> Response[bytes]:
    """A download; the name in RFC 6266 form (ASCII fallback and UTF-8)."""
    fallback = "".join(
        ch if (ch.isascii() and ch.isalnum()) or ch in "._-" else "_" for ch in filename
    )
    quoted = urllib.parse.quote(filename, safe="")
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quoted}"
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": disposition,
            "Cache-Control": "no-store",
        },
    )


ROUTES: tuple[Any, ...] = (
    request_preview,
    request_sent,
    private_link,
    my_request,
    my_request_withdraw,
    my_request_resend,
    my_request_erase_page,
    my_request_erase,
    my_request_erased,
    my_request_cv,
)
# The route that takes a CV: web.app gives it a body limit from the settings (in a router
# of its own, with the form's GET: one path's handlers must share a router).
UPLOAD_ROUTES: tuple[Any, ...] = (request_form, request_submit)
