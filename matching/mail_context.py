"""What a mail template needs besides the recipient's name, looked up by the worker.

Jobs carry ids only; the values are read (and decrypted) when the mail is composed.
The private link is the one exception that cannot be read back from a hash: it is
kept encrypted on the request until its e-mail has been sent, then cleared.
"""

from __future__ import annotations

from uuid import UUID

from matching.config import Settings
from matching.errors import NotFound
from matching.subjects import read_subject
from matching.tables import Coach, ContactRequest
from matching.vault import Vault

REQUESTS = ContactRequest._meta.tablename


async def values(
    vault: Vault, settings: Settings, template: str, subject_id: UUID, request_id: UUID | None
) -> dict[str, str]:
    """Template values; :class:`NotFound` if what the mail is about is gone."""
    if template == "request_received":
        return {"link": await _link(vault, subject_id, _required(request_id))}
    if template == "request_matched":
        return await _coach_contact(vault, _required(request_id))
    if template == "new_offer":
        return {"portal": f"{settings.base_url}/coach"}
    if template == "backup_alert":
        return {"portal": f"{settings.base_url}/admin"}
    if template in {"request_expired", "retention_notice"}:
        return {"site": settings.base_url}
    return {}


async def after_sent(template: str, request_id: UUID | None) -> None:
    """Runs in the transaction that completes the job."""
    if template == "request_received" and request_id is not None:
        await ContactRequest.update({ContactRequest.link_sealed: None}).where(
            ContactRequest.id == request_id
        )


def _required(request_id: UUID | None) -> UUID:
    if request_id is None:
        raise NotFound("the mail job names no request")
    return request_id


async def _link(vault: Vault, subject_id: UUID, request_id: UUID) -> str:
    rows = await ContactRequest.select(ContactRequest.link_sealed).where(
        (ContactRequest.id == request_id) & (ContactRequest.candidate_id == subject_id)
    )
    if not rows or rows[0]["link_sealed"] is None:
        raise NotFound("the private link has been sent already")
    return await vault.decrypt_text(
        subject_id, REQUESTS, "link_sealed", request_id, rows[0]["link_sealed"]
    )


async def _coach_contact(vault: Vault, request_id: UUID) -> dict[str, str]:
    rows = await ContactRequest.select(ContactRequest.matched_coach_id).where(
        ContactRequest.id == request_id
    )
    if not rows or rows[0]["matched_coach_id"] is None:
        raise NotFound("the request has no coach")
    coaches = await Coach.select(Coach.subject_id).where(Coach.id == rows[0]["matched_coach_id"])
    if not coaches:
        raise NotFound("the coach is gone")
    coach = await read_subject(vault, coaches[0]["subject_id"])
    return {"coach_name": " ".join(coach.name.split()), "coach_email": coach.email.strip()}
