"""Data subjects: create, read (decrypted), find by e-mail, mark active.

Name, e-mail and phone are stored only as ciphertexts under the subject's own
data key, bound to ``data_subject.<column>`` of the subject's row. The e-mail is
findable through its blind index only.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any
from uuid import UUID

from matching import bulk, db
from matching.errors import InvalidInput, NotFound
from matching.ids import new_opaque_id
from matching.tables import Subject
from matching.vault import NewKey, SubjectKeyring, Vault

KINDS = frozenset({"candidate", "coach", "admin"})
TABLE = Subject._meta.tablename
MAX_FIELD_CHARS = 320  # the longest valid e-mail address; names and phones are shorter


@dataclasses.dataclass(frozen=True)
class SubjectRecord:
    """A subject with its personal fields decrypted. Personal fields stay out of ``repr``."""

    id: UUID
    kind: str
    created_at: datetime.datetime
    last_active_at: datetime.datetime
    name: str = dataclasses.field(repr=False)
    email: str = dataclasses.field(repr=False)
    phone: str | None = dataclasses.field(repr=False, default=None)


async def create_subject(
    vault: Vault, kind: str, *, name: str, email: str, phone: str | None = None
) -> UUID:
    """Create a subject with its data key and encrypted fields, in one write transaction."""
    key, row = new_subject(vault, kind, name=name, email=email, phone=phone)
    try:
        async with db.write_transaction():
            await vault.store_new_keys([key])
            await bulk.insert(Subject, [row])
    except BaseException:
        vault.forget_new_keys([key])
        raise
    return key.subject_id


def new_subject(
    vault: Vault, kind: str, *, name: str, email: str, phone: str | None = None
) -> tuple[NewKey, dict[str, Any]]:
    """A new subject's data key and row, encrypted, not stored yet (a writer stores the
    key with :meth:`~matching.vault.Vault.store_new_keys` in the same transaction)."""
    check_subject(kind, name=name, email=email, phone=phone)
    key = vault.new_key(new_opaque_id())
    return key, subject_row(vault, key, kind, name=name, email=email, phone=phone)


def subject_row(
    vault: Vault,
    key: SubjectKeyring,
    kind: str,
    *,
    name: str,
    email: str,
    phone: str | None = None,
    created_at: datetime.datetime | None = None,
) -> dict[str, Any]:
    """The row of a subject whose data key is ``key``, its fields encrypted under it."""
    subject_id = key.subject_id
    row = {
        "id": subject_id,
        "kind": kind,
        "email_index": vault.email_index(email),
        "name": key.encrypt(TABLE, "name", subject_id, name.strip()),
        "email": key.encrypt(TABLE, "email", subject_id, email.strip()),
        "phone": None if phone is None else key.encrypt(TABLE, "phone", subject_id, phone.strip()),
    }
    if created_at is not None:
        row["created_at"] = row["last_active_at"] = created_at
    return row


def check_subject(kind: str, *, name: str, email: str, phone: str | None) -> None:
    """``InvalidInput`` unless these are fields a subject of ``kind`` can be stored with."""
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(sorted(KINDS))}")
    if not name.strip():
        raise InvalidInput("a name is required")
    local, at, domain = email.strip().rpartition("@")
    if not (local and at and domain) or any(ch.isspace() for ch in email.strip()):
        raise InvalidInput("the e-mail address is not valid")
    for label, value in (("name", name), ("e-mail address", email), ("phone number", phone)):
        if value is not None and len(value) > MAX_FIELD_CHARS:
            raise InvalidInput(f"the {label} is too long")


async def read_subject(vault: Vault, subject_id: UUID) -> SubjectRecord:
    """The subject with decrypted fields; ``NotFound`` or ``SubjectErased`` if gone."""
    rows = await Subject.select().where(Subject.id == subject_id)
    if not rows:
        raise NotFound("no such data subject")
    row = rows[0]
    phone = row["phone"]
    return SubjectRecord(
        id=row["id"],
        kind=row["kind"],
        created_at=row["created_at"],
        last_active_at=row["last_active_at"],
        name=await vault.decrypt_text(subject_id, TABLE, "name", subject_id, row["name"]),
        email=await vault.decrypt_text(subject_id, TABLE, "email", subject_id, row["email"]),
        phone=None
        if phone is None
        else await vault.decrypt_text(subject_id, TABLE, "phone", subject_id, phone),
    )


async def find_all_by_email(vault: Vault, email: str, *, kind: str | None = None) -> list[UUID]:
    """Every subject with this e-mail address (after normalisation), oldest first."""
    query = Subject.select(Subject.id).where(Subject.email_index == vault.email_index(email))
    if kind is not None:
        query = query.where(Subject.kind == kind)
    rows = await query.order_by(Subject.created_at, Subject.id)
    return [row["id"] for row in rows]


async def find_by_email(vault: Vault, email: str, *, kind: str | None = None) -> UUID | None:
    """The oldest subject with this e-mail address, or ``None``."""
    found = await find_all_by_email(vault, email, kind=kind)
    return found[0] if found else None


async def touch(subject_id: UUID) -> None:
    """Record activity now (retention counts inactivity from ``last_active_at``)."""
    await Subject.update({Subject.last_active_at: datetime.datetime.now(datetime.UTC)}).where(
        Subject.id == subject_id
    )
