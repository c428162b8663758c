"""Factories for the coach-side tests: coaches and open requests, cheaply but for real.

``accounts.create_coach`` hashes a password with argon2id (about 0.1 s of CPU):
fine for two coaches, too slow for two hundred. :func:`quick_coaches` makes the
same rows (a data subject with its key, encrypted name, e-mail and TOTP secret,
a coach row) sharing one real argon2 hash, and opens sessions directly.

:func:`open_request` stores what intake plus broadcast would have stored for a
request (encrypted motivation and anonymised summary, optional details and CV)
and offers it to the given coaches, without running the anonymiser.
"""

from __future__ import annotations

import dataclasses
import datetime
import secrets
import uuid
from collections.abc import Mapping, Sequence
from uuid import UUID

from matching import agreement, credentials, db, intake, sessions, subjects
from matching.runtime import Runtime
from matching.tables import (
    CandidateDetail,
    CandidateFile,
    Coach,
    ContactRequest,
    Offer,
)

PASSWORD = "correct horse battery staple"
SUMMARY = "Ik werk al tien jaar in de zorg en wil graag iets anders. Waar begin ik?"
MOTIVATION = "Ik ben Fenna de Wit uit Zwolle. Ik werk al tien jaar in de zorg en wil iets anders."
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
_hash_cache: dict[str, str] = {}


def password_hash() -> str:
    """One real argon2id hash of :data:`PASSWORD`, computed once per test run."""
    if PASSWORD not in _hash_cache:
        _hash_cache[PASSWORD] = credentials.hash_password(PASSWORD)
    return _hash_cache[PASSWORD]


@dataclasses.dataclass(frozen=True)
class CoachSession:
    id: UUID
    email: str
    session_id: str = dataclasses.field(repr=False)
    csrf_token: str = dataclasses.field(repr=False)

    @property
    def headers(self) -> dict[str, str]:
        """What a logged-in browser or API client sends."""
        return {"cookie": f"__Host-session={self.session_id}", "x-csrf-token": self.csrf_token}


async def quick_coaches(
    runtime: Runtime,
    count: int,
    *,
    topics: Sequence[str] = ("carriereswitch", "stress"),
    regions: Sequence[str] = ("online",),
    languages: Sequence[str] = ("nl", "en"),
    capacity: int = 5,
    sign: bool = True,
    prefix: str = "coach",
) -> list[CoachSession]:
    """``count`` coaches with real rows, the agreement (when ``sign``) and a session each."""
    vault, hashed = runtime.vault, password_hash()
    made: list[tuple[UUID, str]] = []
    async with db.write_transaction():
        for number in range(count):
            email = f"{prefix}{number}-{uuid.uuid4().hex[:8]}@example.org"
            subject_id = await subjects.create_subject(
                vault, "coach", name=f"Coach {number}", email=email
            )
            coach_id = uuid.uuid4()
            secret = await vault.encrypt(
                subject_id, "coach", "totp_secret", coach_id, credentials.new_totp_secret()
            )
            await Coach.insert(
                Coach(
                    id=coach_id,
                    subject_id=subject_id,
                    email_index=vault.email_index(email),
                    password_hash=hashed,
                    totp_secret=secret,
                    topics=list(topics),
                    regions=list(regions),
                    languages=list(languages),
                    capacity=capacity,
                )
            )
            if sign:
                await agreement.accept(coach_id, agreement.VERSION, actor=f"coach:{coach_id}")
            made.append((coach_id, email))
    result = []
    for coach_id, email in made:
        session_id, info = await sessions.open_session(
            "coach", coach_id, lifetime=datetime.timedelta(hours=1)
        )
        result.append(CoachSession(coach_id, email, session_id, info.csrf_token))
    return result


async def open_request(
    runtime: Runtime,
    coach_ids: Sequence[UUID],
    *,
    name: str = "Fenna de Wit",
    email: str | None = None,
    phone: str | None = "+31612345678",
    summary: str = SUMMARY,
    motivation: str = MOTIVATION,
    topics: Sequence[str] = ("carriereswitch",),
    province: str | None = "overijssel",
    age_band: str | None = "35-44",
    field_of_work: str | None = "zorg",
    employment: str | None = "employed",
    language: str = "nl",
    details: Mapping[str, str] | None = None,
    cv: bytes | None = None,
    offered_at: datetime.datetime | None = None,
) -> UUID:
    """An open request of a new candidate, offered to ``coach_ids``."""
    vault = runtime.vault
    request_id = uuid.uuid4()
    now = offered_at or datetime.datetime.now(datetime.UTC)
    email = email or f"candidate-{request_id.hex[:8]}@example.org"
    async with db.write_transaction():
        subject_id = await subjects.create_subject(
            vault, "candidate", name=name, email=email, phone=phone
        )

        async def seal(table: str, column: str, row_id: UUID, value: str | bytes) -> bytes:
            return await vault.encrypt(subject_id, table, column, row_id, value)

        await ContactRequest.insert(
            ContactRequest(
                id=request_id,
                candidate_id=subject_id,
                status="open",
                language=language,
                topics=list(topics),
                province=province,
                age_band=age_band,
                field_of_work=field_of_work,
                employment=employment,
                motivation=await seal("contact_request", "motivation", request_id, motivation),
                summary=await seal("contact_request", "summary", request_id, summary),
                token_hash=intake.hash_token(secrets.token_urlsafe(32)),
                created_at=now,
                broadcast_at=now,
                expires_at=now + datetime.timedelta(days=14),
            )
        )
        for field, value in (details or {}).items():
            row_id = uuid.uuid4()
            await CandidateDetail.insert(
                CandidateDetail(
                    id=row_id,
                    subject_id=subject_id,
                    request_id=request_id,
                    field=field,
                    value=await seal("candidate_detail", "value", row_id, value),
                )
            )
        if cv is not None:
            file_id = uuid.uuid4()
            await CandidateFile.insert(
                CandidateFile(
                    id=file_id,
                    subject_id=subject_id,
                    request_id=request_id,
                    media_type="application/pdf",
                    size=len(cv),
                    filename=await seal("candidate_file", "filename", file_id, "CV Fenna.pdf"),
                    content=await seal("candidate_file", "content", file_id, cv),
                    created_at=now,
                )
            )
        if coach_ids:
            await Offer.insert(
                *(
                    Offer(request_id=request_id, coach_id=c, status="offered", offered_at=now)
                    for c in coach_ids
                )
            )
    return request_id
