"""Intake: check a candidate's request, show what coaches will see, and store it.

:func:`validate` turns the raw form into an :class:`Intake` or raises
:class:`~matching.errors.InvalidFields` (every wrong field at once, so a form can
show them all and keep what was entered). :func:`preview` returns exactly what
coaches will see. :func:`submit` stores the request in one transaction, as one
sealed row of the intake inbox (everything the candidate sent, encrypted under
their own new data key) with the key and a filing job; :mod:`matching.filing` then
files it into the tables, laid out by :func:`filed_rows`: the candidate as a data
subject, every personal value encrypted under their key, the consents with the
privacy statement's version, the request with its generalised attributes, and two
jobs (broadcast, and the e-mail with the private link). Special data (employment,
employer, income) is used for matching (the kind of employment is shown; the
employer is scrubbed from the text) and the broadcast deletes it, unless the
candidate asked us to keep it.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import re
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import phonenumbers
from piccolo.table import Table

from anonymiser.generalise import GeneralisedProfile, Province, WorkField, generalise_profile
from anonymiser.text import AnonymiserError
from matching import catalogue, consent, cv, outbox, schedule
from matching.accounts import check_email
from matching.errors import AnonymisationFailed, ConsentMissing, InvalidFields, InvalidInput
from matching.group_commit import WriteUnit
from matching.ids import new_id, new_opaque_id
from matching.notifications import mail_job
from matching.runtime import Runtime
from matching.scrubbing import KnownValues, ScrubberUnavailable
from matching.subjects import check_subject, subject_row
from matching.tables import (
    CandidateDetail,
    CandidateFile,
    Consent,
    ContactRequest,
    Subject,
    WaitingIntake,
)
from matching.vault import NewKey, SubjectKeyring, Vault

BROADCAST_ACTOR = "broadcast_request"
FILE_ACTOR = schedule.FILE_INTAKE_ACTOR
TOKEN_BYTES = 32  # 256 bits
MIN_MOTIVATION_CHARS = 20
MAX_MOTIVATION_CHARS = 5000
MAX_NAME_CHARS = 200
MAX_SHORT_CHARS = 200
REQUESTS = ContactRequest._meta.tablename
DETAILS = CandidateDetail._meta.tablename
FILES = CandidateFile._meta.tablename
INBOX = WaitingIntake._meta.tablename

GENDERS = ("woman", "man", "non-binary", "other")
EDUCATION_LEVELS = ("vmbo", "havo", "vwo", "mbo", "hbo", "wo", "other")
EMPLOYMENT = ("employed", "self-employed", "job-seeking", "studying", "not-working", "other")
INCOME_BANDS = ("below-modal", "around-modal", "above-modal")

# Which consent enables which optional field.
FIELD_CONSENT: Mapping[str, str] = {
    "phone": consent.PHONE,
    "street": consent.ADDRESS,
    "postcode": consent.ADDRESS,
    "city": consent.ADDRESS,
    "birth_date": consent.AGE,
    "age": consent.AGE,
    "gender": consent.GENDER,
    "education": consent.EDUCATION,
    "job_title": consent.JOB_TITLE,
    "cv": consent.CV,
    "employment": consent.SPECIAL,
    "employer": consent.SPECIAL,
    "income": consent.SPECIAL,
}
SPECIAL_FIELDS = frozenset({"employment", "employer", "income"})
_POSTCODE = re.compile(r"\s*([1-9][0-9]{3})\s?([A-Za-z]{2})\s*")


@dataclasses.dataclass(frozen=True)
class IntakeForm:
    """The request form as submitted: strings as typed, nothing checked yet."""

    name: str = dataclasses.field(default="", repr=False)
    email: str = dataclasses.field(default="", repr=False)
    motivation: str = dataclasses.field(default="", repr=False)
    topics: Sequence[str] = ()
    consents: Sequence[str] = ()
    language: str = "nl"
    phone: str = dataclasses.field(default="", repr=False)
    street: str = dataclasses.field(default="", repr=False)
    postcode: str = dataclasses.field(default="", repr=False)
    city: str = dataclasses.field(default="", repr=False)
    birth_date: str = dataclasses.field(default="", repr=False)  # YYYY-MM-DD
    age: str = dataclasses.field(default="", repr=False)
    gender: str = dataclasses.field(default="", repr=False)
    education: str = dataclasses.field(default="", repr=False)
    job_title: str = dataclasses.field(default="", repr=False)
    employment: str = dataclasses.field(default="", repr=False)
    employer: str = dataclasses.field(default="", repr=False)
    income: str = dataclasses.field(default="", repr=False)
    # The preview text as the candidate edited it (anonymised again before use).
    edited_text: str = dataclasses.field(default="", repr=False)
    cv_filename: str = dataclasses.field(default="", repr=False)
    cv_content: bytes = dataclasses.field(default=b"", repr=False)


@dataclasses.dataclass(frozen=True)
class Intake:
    """A checked request. Optional values are ``None`` when not given."""

    name: str = dataclasses.field(repr=False)
    email: str = dataclasses.field(repr=False)
    motivation: str = dataclasses.field(repr=False)
    topics: tuple[str, ...]
    consents: frozenset[str]
    language: str
    details: Mapping[str, str] = dataclasses.field(repr=False)  # optional field -> value
    edited_text: str | None = dataclasses.field(repr=False)
    cv: cv.CvFile | None
    profile: GeneralisedProfile
    employment: str | None

    @property
    def phone(self) -> str | None:
        return self.details.get("phone")

    def known_values(self) -> KnownValues:
        terms = [("email", self.email)]
        for field, kind in (
            ("phone_as_typed", "phone"),
            ("street", "address"),
            ("postcode", "postcode"),
            ("city", "city"),
            ("employer", "employer"),
            ("job_title", "job_title"),
        ):
            value = self.details.get(field)
            if value:
                terms.append((kind, value))
        return KnownValues(name=self.name, terms=tuple(terms))


@dataclasses.dataclass(frozen=True)
class Preview:
    """Exactly what coaches see: the anonymised text and the generalised attributes."""

    anonymised_text: str
    topics: tuple[str, ...]
    language: str
    province: str | None
    age_band: str | None
    field_of_work: str | None
    employment: str | None


@dataclasses.dataclass(frozen=True)
class Submitted:
    request_id: UUID
    token: str = dataclasses.field(repr=False)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# -- checking --------------------------------------------------------------------------


def validate(form: IntakeForm, *, cv_max_bytes: int, today: datetime.date) -> Intake:
    errors: dict[str, str] = {}
    checker = _Checker(form, errors)
    try:
        consents = consent.check(form.consents)
    except ConsentMissing as exc:
        errors["consents"] = str(exc)
        consents = frozenset(str(c) for c in form.consents) & consent.PURPOSES.keys()
    except InvalidInput as exc:
        errors["consents"] = str(exc)
        consents = frozenset()
    name = checker.text("name", form.name, MAX_NAME_CHARS, required=True)
    email = checker.run("email", check_email, form.email)
    motivation = checker.motivation()
    topics = checker.run("topics", lambda t: catalogue.topics(t, required=True), form.topics)
    language = checker.run("language", catalogue.language, form.language or "nl")
    details = checker.details(consents)
    edited = unicodedata.normalize("NFC", form.edited_text).strip() or None
    if edited is not None and len(edited) > MAX_MOTIVATION_CHARS * 2:
        errors["edited_text"] = "the text is too long"
    upload = checker.cv(consents, cv_max_bytes)
    profile = checker.profile(details, today)
    if errors:
        raise InvalidFields(errors)
    return Intake(
        name=name or "",
        email=email or "",
        motivation=motivation or "",
        topics=tuple(topics or ()),
        consents=consents,
        language=language or "nl",
        details=details,
        edited_text=edited,
        cv=upload,
        profile=profile or GeneralisedProfile(),
        employment=details.get("employment"),
    )


class _Checker:
    def __init__(self, form: IntakeForm, errors: dict[str, str]) -> None:
        self.form = form
        self.errors = errors

    def run(self, field: str, check, value):  # type: ignore[no-untyped-def]
        try:
            return check(value)
        except InvalidInput as exc:
            self.errors[field] = str(exc)
            return None

    def text(self, field: str, value: str, limit: int, *, required: bool = False) -> str | None:
        clean = _one_line(value)
        if not clean:
            if required:
                self.errors[field] = "this field is required"
            return None
        if len(clean) > limit or not _printable(clean):
            self.errors[field] = f"use at most {limit} ordinary characters"
            return None
        return clean

    def motivation(self) -> str | None:
        text = unicodedata.normalize("NFC", self.form.motivation).strip()
        if not text.replace("\n", "").replace("\t", "").isprintable():
            text = "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())
        if len(text) < MIN_MOTIVATION_CHARS:
            self.errors["motivation"] = (
                f"tell us a little more: at least {MIN_MOTIVATION_CHARS} characters"
            )
            return None
        if len(text) > MAX_MOTIVATION_CHARS:
            self.errors["motivation"] = f"use at most {MAX_MOTIVATION_CHARS} characters"
            return None
        return text

    def details(self, consents: frozenset[str]) -> dict[str, str]:
        form, details = self.form, {}
        for field, purpose in FIELD_CONSENT.items():
            if field == "cv":
                continue
            raw = _one_line(getattr(form, field))
            if not raw:
                continue
            if purpose not in consents:
                self.errors[field] = "tick the consent for this field, or leave it empty"
                continue
            value = self._detail(field, raw)
            if value is not None:
                details[field] = value
        if "phone" in details:
            details["phone_as_typed"] = _one_line(form.phone)
        return details

    def _detail(self, field: str, raw: str) -> str | None:
        choices = {
            "gender": GENDERS,
            "education": EDUCATION_LEVELS,
            "employment": EMPLOYMENT,
            "income": INCOME_BANDS,
        }
        if field in choices:
            if raw not in choices[field]:
                self.errors[field] = "choose one of the options"
                return None
            return raw
        if field == "phone":
            return self.run(field, _phone, raw)
        if field == "postcode":
            return self.run(field, _postcode, raw)
        if field == "birth_date":
            return self.run(field, _date, raw)
        if field == "age":
            return self.run(field, _age, raw)
        return self.text(field, raw, MAX_SHORT_CHARS)

    def cv(self, consents: frozenset[str], max_bytes: int) -> cv.CvFile | None:
        if not self.form.cv_content:
            return None
        if consent.CV not in consents:
            self.errors["cv"] = "tick the consent for this field, or leave it empty"
            return None
        result: cv.CvFile | None = self.run(
            "cv",
            lambda c: cv.check(self.form.cv_filename, c, max_bytes=max_bytes),
            self.form.cv_content,
        )
        return result

    def profile(
        self, details: Mapping[str, str], today: datetime.date
    ) -> GeneralisedProfile | None:
        birth = details.get("birth_date")
        age = details.get("age")
        try:
            return generalise_profile(
                age=int(age) if age else None,
                birth_date=datetime.date.fromisoformat(birth) if birth else None,
                city=details.get("city"),
                postcode=details.get("postcode"),
                job_title=details.get("job_title"),
                today=today,
            )
        except ValueError:
            self.errors["birth_date" if birth else "age"] = "you must be at least 16 years old"
            return None


def _one_line(value: str) -> str:
    return " ".join(unicodedata.normalize("NFC", str(value)).split())


def _printable(value: str) -> bool:
    return value.isprintable()


def _phone(raw: str) -> str:
    try:
        number = phonenumbers.parse(raw, "NL")
    except phonenumbers.NumberParseException:
        raise InvalidInput("this is not a phone number we can call") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("this is not a phone number we can call")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _postcode(raw: str) -> str:
    match = _POSTCODE.fullmatch(raw)
    if match is None:
        raise InvalidInput("a Dutch postcode looks like 1234 AB")
    return f"{match.group(1)} {match.group(2).upper()}"


def _date(raw: str) -> str:
    try:
        return datetime.date.fromisoformat(raw.strip()).isoformat()
    except ValueError:
        raise InvalidInput("write the date as YYYY-MM-DD") from None


def _age(raw: str) -> str:
    if not raw.strip().isdigit():
        raise InvalidInput("write your age in years")
    return str(int(raw.strip()))


# -- preview and submit ----------------------------------------------------------------


async def preview(runtime: Runtime, intake: Intake) -> Preview:
    """What coaches will see (the edited text, if any, anonymised again)."""
    text = await _anonymise(runtime, intake.edited_text or intake.motivation, intake.known_values())
    return _preview(intake, text)


def _preview(intake: Intake, text: str) -> Preview:
    profile = intake.profile
    return Preview(
        anonymised_text=text,
        topics=intake.topics,
        language=intake.language,
        province=profile.province.value if profile.province else None,
        age_band=profile.age_band,
        field_of_work=profile.field_of_work.value if profile.field_of_work else None,
        employment=intake.employment,
    )


async def _anonymise(runtime: Runtime, text: str, known: KnownValues) -> str:
    try:
        return await runtime.scrubber.scrub_async(text, known)
    except (AnonymiserError, ScrubberUnavailable):
        raise AnonymisationFailed(
            "we could not prepare your text for coaches; please try again later"
        ) from None


async def submit(runtime: Runtime, intake: Intake, *, now: datetime.datetime) -> Submitted:
    """Store the request, sealed, and queue its filing, atomically.

    What is stored now is one row of the intake inbox (everything the candidate sent,
    encrypted under their new data key) and the key; :mod:`matching.filing` files it
    into the tables (its job runs right after, or a reader of the private link does it
    first). The row goes to the group commit, which stores it together with other
    requests sent at the same moment.
    """
    check_subject("candidate", name=intake.name, email=intake.email, phone=intake.phone)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    request_id = new_opaque_id()
    key = runtime.vault.new_key(new_opaque_id())
    try:  # until the unit is handed in, its key is ours to drop
        link = f"{runtime.settings.base_url}/s/{token}"
        unit = WriteUnit(
            rows=[(WaitingIntake, [_waiting_row(key, request_id, intake, token, link, now)])],
            keys=[key],
            # One filing job per shared transaction is enough (the group commit merges them).
            jobs=[outbox.job_row(FILE_ACTOR)],
        )
    except BaseException:
        runtime.vault.forget_new_keys([key])  # no key of a subject that was never stored
        raise
    await runtime.group_commit.write(unit)
    return Submitted(request_id=request_id, token=token)


def _waiting_row(  # noqa: PLR0917 (the parts of one submission)
    key: NewKey, request_id: UUID, intake: Intake, token: str, link: str, now: datetime.datetime
) -> dict[str, Any]:
    row_id = new_id()
    upload, cv, cv_content = intake.cv, None, None
    if upload is not None:  # sealed as its candidate_file row will hold it
        cv_id = new_id()
        cv = {
            "id": str(cv_id),
            "media_type": upload.media_type,
            "size": upload.size,
            "filename": upload.filename,
        }
        cv_content = key.encrypt(FILES, "content", cv_id, upload.content)
    payload = {
        "name": intake.name,
        "email": intake.email,
        "motivation": intake.motivation,
        "topics": list(intake.topics),
        "consents": sorted(intake.consents),
        # The version the candidate consented under, whenever the request is filed.
        "statement_version": consent.PRIVACY_STATEMENT_VERSION,
        "language": intake.language,
        "details": dict(intake.details),
        "edited_text": intake.edited_text,
        "employment": intake.employment,
        "age_band": intake.profile.age_band,
        "province": intake.profile.province.value if intake.profile.province else None,
        "field_of_work": intake.profile.field_of_work.value
        if intake.profile.field_of_work
        else None,
        "link": link,
        "cv": cv,
    }
    sealed = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return {
        "id": row_id,
        "subject_id": key.subject_id,
        "request_id": request_id,
        "token_hash": hash_token(token),
        "sealed": key.encrypt(INBOX, "sealed", row_id, sealed),
        "cv_content": cv_content,
        "received_at": now,
    }


@dataclasses.dataclass(frozen=True)
class Received:
    """A submission as the inbox holds it, opened: what :func:`filed_rows` files."""

    request_id: UUID
    token_hash: str
    received_at: datetime.datetime
    statement_version: str
    link: str = dataclasses.field(repr=False)
    intake: Intake = dataclasses.field(repr=False)
    cv: CvMeta | None
    cv_content: bytes | None = dataclasses.field(repr=False)  # encrypted as filed


@dataclasses.dataclass(frozen=True)
class CvMeta:
    id: UUID
    media_type: str
    size: int
    filename: str = dataclasses.field(repr=False)


def received(row: Mapping[str, Any], sealed: str) -> Received:
    """A waiting row (``sealed`` decrypted) as :func:`_waiting_row` wrote it."""
    payload = json.loads(sealed)
    cv_meta = payload["cv"]
    profile = GeneralisedProfile(
        age_band=payload["age_band"],
        province=Province(payload["province"]) if payload["province"] else None,
        field_of_work=WorkField(payload["field_of_work"]) if payload["field_of_work"] else None,
    )
    return Received(
        request_id=row["request_id"],
        token_hash=row["token_hash"],
        received_at=row["received_at"],
        statement_version=payload["statement_version"],
        link=payload["link"],
        intake=Intake(
            name=payload["name"],
            email=payload["email"],
            motivation=payload["motivation"],
            topics=tuple(payload["topics"]),
            consents=frozenset(payload["consents"]),
            language=payload["language"],
            details=payload["details"],
            edited_text=payload["edited_text"],
            cv=None,  # filed as it was sealed, see ``cv_content``
            profile=profile,
            employment=payload["employment"],
        ),
        cv=None
        if cv_meta is None
        else CvMeta(
            UUID(cv_meta["id"]), cv_meta["media_type"], cv_meta["size"], cv_meta["filename"]
        ),
        cv_content=None if row["cv_content"] is None else bytes(row["cv_content"]),
    )


def filed_rows(
    vault: Vault, key: SubjectKeyring, sent: Received
) -> list[tuple[type[Table], list[dict[str, Any]]]]:
    """The rows a received request is filed as: the candidate, their consents, the
    request (status ``pending``: its broadcast comes next), details and CV."""
    intake, now = sent.intake, sent.received_at
    subject = subject_row(
        vault,
        key,
        "candidate",
        name=intake.name,
        email=intake.email,
        phone=intake.phone,
        created_at=now,
    )
    return [
        (Subject, [subject]),
        (
            Consent,
            consent.rows(
                key.subject_id, intake.consents, now, statement_version=sent.statement_version
            ),
        ),
        (ContactRequest, [_request_row(key, sent)]),
        (CandidateDetail, _detail_rows(key, sent.request_id, intake)),
        (CandidateFile, _cv_rows(key, sent)),
    ]


def filed_jobs(subject_id: UUID, request_id: UUID) -> list[dict[str, Any]]:
    """The jobs of a filed request: its broadcast, and the e-mail with the private link."""
    return [
        outbox.job_row(BROADCAST_ACTOR, request_id=request_id),
        mail_job(subject_id, "request_received", request_id=request_id),
    ]


def _request_row(key: SubjectKeyring, sent: Received) -> dict[str, Any]:
    intake, request_id = sent.intake, sent.request_id
    profile = intake.profile
    return {
        "id": request_id,
        "candidate_id": key.subject_id,
        "status": "pending",
        "language": intake.language,
        "topics": list(intake.topics),
        "province": profile.province.value if profile.province else None,
        "age_band": profile.age_band,
        "field_of_work": profile.field_of_work.value if profile.field_of_work else None,
        "employment": intake.employment,
        "motivation": key.encrypt(REQUESTS, "motivation", request_id, intake.motivation),
        "draft": None
        if intake.edited_text is None
        else key.encrypt(REQUESTS, "draft", request_id, intake.edited_text),
        "token_hash": sent.token_hash,
        "link_sealed": key.encrypt(REQUESTS, "link_sealed", request_id, sent.link),
        "created_at": sent.received_at,
    }


def _detail_rows(key: SubjectKeyring, request_id: UUID, intake: Intake) -> list[dict[str, Any]]:
    rows = []
    for field, value in sorted(intake.details.items()):
        if field in ("phone", "phone_as_typed"):
            continue  # the phone number lives with the contact details
        row_id = new_id()
        rows.append(
            {
                "id": row_id,
                "subject_id": key.subject_id,
                "request_id": request_id,
                "field": field,
                "value": key.encrypt(DETAILS, "value", row_id, value),
                # the broadcast deletes special data unless the candidate keeps it
                "special": field in SPECIAL_FIELDS,
            }
        )
    return rows


def _cv_rows(key: SubjectKeyring, sent: Received) -> list[dict[str, Any]]:
    cv = sent.cv
    if cv is None or sent.cv_content is None:
        return []
    return [
        {
            "id": cv.id,
            "subject_id": key.subject_id,
            "request_id": sent.request_id,
            "media_type": cv.media_type,
            "size": cv.size,
            "filename": key.encrypt(FILES, "filename", cv.id, cv.filename),
            "content": sent.cv_content,
            "created_at": sent.received_at,
        }
    ]
