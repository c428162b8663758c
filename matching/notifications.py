"""E-mail notifications: queued with ids only, composed by the worker from the vault.

A service calls :func:`queue_mail` with a subject id and a template name inside
its transaction; the job row and the queue message hold nothing else. The worker
decrypts the recipient's name and address (:func:`compose`), hands the message to
a mailer, and then :func:`record_sent` completes the job and writes the
decryption to the audit log in one transaction.

Delivery is at least once (a crash between sending and completing sends again),
so the ``Message-ID`` is derived from the job id: a re-sent copy is recognisably
the same message, and the dev mailbox overwrites its file.

Texts are Dutch first, then English, until subjects carry a language preference.
"""

from __future__ import annotations

import dataclasses
import email.utils
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any
from uuid import UUID

from matching import audit, mail_context, outbox
from matching.config import Settings
from matching.errors import InvalidInput, NotFound
from matching.subjects import read_subject
from matching.vault import Vault

SEND_MAIL_ACTOR = "send_mail"
SYSTEM_ACTOR = "system"
AUDIT_PURPOSE = "notification"
DEFAULT_MAIL_DOMAIN = "coachmatch.localhost"


@dataclasses.dataclass(frozen=True)
class MailTemplate:
    """Subject and body; ``{name}`` is the recipient's name, filled in by the worker."""

    subject: str
    body: str


TEMPLATES: Mapping[str, MailTemplate] = {
    "test_message": MailTemplate(
        subject="Coachmatch: testbericht / test message",
        body=(
            "Beste {name},\n\n"
            "Dit is een testbericht van Coachmatch. Je hoeft niets te doen.\n\n"
            "-- English --\n\n"
            "Dear {name},\n\n"
            "This is a test message from Coachmatch. No action is needed.\n"
        ),
    ),
    "request_received": MailTemplate(
        subject="Coachmatch: je aanvraag is ontvangen / your request was received",
        body=(
            "Beste {name},\n\n"
            "We hebben je aanvraag ontvangen en bieden hem geanonimiseerd aan coaches aan\n"
            "die bij je onderwerpen passen. Via deze persoonlijke link zie je de status,\n"
            "kun je de aanvraag intrekken of al je gegevens laten wissen:\n\n"
            "{link}\n\n"
            "Deel deze link met niemand: wie hem heeft, kan je aanvraag inzien.\n\n"
            "-- English --\n\n"
            "Dear {name},\n\n"
            "We have received your request and offer it, anonymised, to coaches whose\n"
            "topics fit. This private link shows its status and lets you withdraw it or\n"
            "have all your data erased:\n\n"
            "{link}\n\n"
            "Do not share this link: whoever has it can see your request.\n"
        ),
    ),
    "request_matched": MailTemplate(
        subject="Coachmatch: een coach heeft je aanvraag geaccepteerd / a coach accepted",
        body=(
            "Beste {name},\n\n"
            "Coach {coach_name} heeft je aanvraag geaccepteerd en heeft je contactgegevens\n"
            "ontvangen. Je kunt de coach ook zelf bereiken: {coach_email}\n\n"
            "-- English --\n\n"
            "Dear {name},\n\n"
            "Coach {coach_name} has accepted your request and received your contact\n"
            "details. You can also reach the coach yourself: {coach_email}\n"
        ),
    ),
    "request_expired": MailTemplate(
        subject="Coachmatch: je aanvraag is verlopen / your request has expired",
        body=(
            "Beste {name},\n\n"
            "Geen coach heeft op tijd op je aanvraag gereageerd. Via de persoonlijke link\n"
            "uit onze eerste e-mail kun je hem opnieuw versturen of intrekken.\n\n"
            "-- English --\n\n"
            "Dear {name},\n\n"
            "No coach answered your request in time. With the private link from our first\n"
            "e-mail you can send it again or withdraw it.\n"
        ),
    ),
    "retention_notice": MailTemplate(
        subject="Coachmatch: we wissen binnenkort je gegevens / we will soon erase your data",
        body=(
            "Beste {name},\n\n"
            "Je bent bijna twee jaar niet actief geweest bij Coachmatch. Zoals onze\n"
            "privacyverklaring belooft, wissen we daarom over ongeveer een maand al je\n"
            "gegevens. Wil je ze houden? Open dan de persoonlijke link uit onze eerdere\n"
            "e-mail, of log in als je coach bent: daarmee begint de termijn opnieuw.\n"
            "Je hoeft niets te doen als je het goed vindt dat we alles wissen.\n\n"
            "{site}\n\n"
            "-- English --\n\n"
            "Dear {name},\n\n"
            "You have not been active at Coachmatch for almost two years. As our privacy\n"
            "statement promises, we will therefore erase all your data in about a month.\n"
            "Want to keep it? Open the private link from our earlier e-mail, or log in if\n"
            "you are a coach: that starts the period again. If you are happy for us to\n"
            "erase everything, you need not do anything.\n"
        ),
    ),
    "backup_alert": MailTemplate(
        subject="Coachmatch: probleem met de back-ups / a problem with the backups",
        body=(
            "Beste {name},\n\n"
            "De dagelijkse back-up van Coachmatch is mislukt of te laat. Zonder back-up\n"
            "kunnen we gegevens niet terugzetten na een storing. Kijk op het\n"
            "beheerdashboard wat er aan de hand is; je krijgt dit bericht elke dag zolang\n"
            "het probleem duurt.\n\n"
            "{portal}\n\n"
            "-- English --\n\n"
            "Dear {name},\n\n"
            "The daily Coachmatch backup failed or is overdue. Without a backup we cannot\n"
            "restore data after an outage. See the admin dashboard for what is wrong; you\n"
            "get this message every day while the problem lasts.\n"
        ),
    ),
    "new_offer": MailTemplate(
        subject="Coachmatch: een nieuwe aanvraag voor je / a new request for you",
        body=(
            "Beste {name},\n\n"
            "Er staat een nieuwe geanonimiseerde aanvraag voor je klaar die bij je profiel\n"
            "past. Bekijk hem in het coachportaal: {portal}\n\n"
            "-- English --\n\n"
            "Dear {name},\n\n"
            "A new anonymised request that fits your profile is waiting for you in the\n"
            "coach portal: {portal}\n"
        ),
    ),
}


@dataclasses.dataclass(frozen=True)
class OutgoingMail:
    job_id: UUID
    subject_id: UUID
    template: str
    message: EmailMessage = dataclasses.field(repr=False)
    request_id: UUID | None = None


async def queue_mail(subject_id: UUID, template: str, *, request_id: UUID | None = None) -> UUID:
    """Record a mail job in the caller's transaction; only ids and the template name."""
    (job_id,) = await outbox.enqueue_rows([mail_job(subject_id, template, request_id=request_id)])
    return job_id


def mail_job(subject_id: UUID, template: str, *, request_id: UUID | None = None) -> dict[str, Any]:
    """The outbox row of a mail job (see :func:`matching.outbox.job_row`)."""
    if template not in TEMPLATES:
        raise InvalidInput("unknown mail template")
    about = {} if request_id is None else {"request_id": request_id}
    return outbox.job_row(SEND_MAIL_ACTOR, subject_id=subject_id, template=template, **about)


async def compose(
    vault: Vault, settings: Settings, job_id: UUID, args: Mapping[str, object]
) -> OutgoingMail | None:
    """Build the message for a mail job; ``None`` if the recipient no longer exists."""
    subject_id, template, request_id = _parse_args(args)
    try:
        recipient = await read_subject(vault, subject_id)
        extra = await mail_context.values(vault, settings, template, subject_id, request_id)
    except NotFound:  # includes SubjectErased: nobody (or nothing) left to write about
        return None
    text = TEMPLATES[template]
    name = _one_line(recipient.name)
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = email.utils.formataddr((name, recipient.email.strip()))
    message["Subject"] = text.subject
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = message_id(job_id, settings.mail_from)
    message["Content-Language"] = "nl, en"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text.body.format(**extra, name=name))
    return OutgoingMail(
        job_id=job_id,
        subject_id=subject_id,
        template=template,
        message=message,
        request_id=request_id,
    )


def message_id(job_id: UUID, mail_from: str) -> str:
    """The same ``Message-ID`` for every delivery of one job."""
    address = email.utils.parseaddr(mail_from)[1]
    domain = address.rpartition("@")[2] or DEFAULT_MAIL_DOMAIN
    return f"<{job_id}@{domain}>"


async def record_sent(mail: OutgoingMail) -> bool:
    """Complete the job and audit the decryption it needed, in one transaction."""
    async with outbox.completing(mail.job_id) as won:
        if won:
            await mail_context.after_sent(mail.template, mail.request_id)
            await audit.record(
                SYSTEM_ACTOR,
                audit.Action.DATA_DECRYPTED,
                subject_id=mail.subject_id,
                purpose=AUDIT_PURPOSE,
                details={
                    "job_id": mail.job_id,
                    "template": mail.template,
                    "fields": ["name", "email"],
                },
            )
    return won


async def skip(job_id: UUID) -> bool:
    """Complete a mail job whose recipient is gone, without an effect."""
    async with outbox.completing(job_id) as won:
        return won


def _parse_args(args: Mapping[str, object]) -> tuple[UUID, str, UUID | None]:
    template = args.get("template")
    if not isinstance(template, str) or template not in TEMPLATES:
        raise InvalidInput("unknown mail template")
    try:
        subject_id = UUID(str(args.get("subject_id")))
        request = args.get("request_id")
        return subject_id, template, None if request is None else UUID(str(request))
    except ValueError:
        raise InvalidInput("a mail job needs a subject id") from None


def _one_line(value: str) -> str:
    return " ".join(value.split())
