"""A coach's own settings: the matching profile, the processing agreement, the portal's overview.

The profile (topics, regions, languages, capacity, pause) decides which requests
are offered to the coach (:func:`matching.broadcast.fitting_coaches`); its codes
come from :mod:`matching.catalogue`. Every change is audited. Reading it is
:func:`matching.accounts.coach_profile`.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from matching import accounts, agreement, audit, catalogue, db, offers
from matching.accounts import CoachProfile
from matching.errors import InvalidFields, InvalidInput, NotFound
from matching.offers import FeedPage, OfferView
from matching.runtime import Runtime
from matching.tables import Coach, CoachAgreement

MIN_CAPACITY = 1
MAX_CAPACITY = 50
PROFILE_PURPOSE = "profile_update"


@dataclasses.dataclass(frozen=True)
class AgreementState:
    """The current data-processing agreement and whether (and when) this coach accepted it."""

    version: str
    clauses: tuple[str, ...]  # English msgids
    accepted_at: datetime.datetime | None

    @property
    def accepted(self) -> bool:
        return self.accepted_at is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "clauses": list(self.clauses),
            "accepted": self.accepted,
            "accepted_at": None if self.accepted_at is None else self.accepted_at.isoformat(),
        }


@dataclasses.dataclass(frozen=True)
class Dashboard:
    """What the portal's home page shows."""

    profile: CoachProfile
    agreement_accepted: bool
    active_matches: int
    offers: FeedPage

    @property
    def at_capacity(self) -> bool:
        return self.active_matches >= self.profile.capacity


@dataclasses.dataclass(frozen=True)
class OfferPage:
    """One offered request, and whether this coach could accept it right now."""

    offer: OfferView
    agreement_accepted: bool
    at_capacity: bool


def profile_as_dict(profile: CoachProfile) -> dict[str, Any]:
    return {
        "topics": list(profile.topics),
        "regions": list(profile.regions),
        "languages": list(profile.languages),
        "capacity": profile.capacity,
        "paused": profile.paused,
    }


async def profile(coach_id: UUID) -> CoachProfile:
    return await accounts.coach_profile(coach_id)


async def update_profile(
    coach_id: UUID,
    *,
    topics: Iterable[str],
    regions: Iterable[str],
    languages: Iterable[str],
    capacity: int | str,
    paused: bool,
    actor: str,
) -> CoachProfile:
    """Validate and store the profile; ``InvalidFields`` names every wrong field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    checks: tuple[tuple[str, Any], ...] = (
        ("topics", lambda: catalogue.topics(topics, required=True)),
        ("regions", lambda: _regions(regions)),
        ("languages", lambda: catalogue.languages(languages, required=True)),
        ("capacity", lambda: _capacity(capacity)),
    )
    for field, check in checks:
        try:
            values[field] = check()
        except InvalidInput as exc:
            errors[field] = str(exc)
    if errors:
        raise InvalidFields(errors)
    before = await accounts.coach_profile(coach_id)
    values["paused"] = bool(paused)
    changed = sorted(
        field
        for field, value in values.items()
        if (tuple(value) if isinstance(value, list) else value) != getattr(before, field)
    )
    if not changed:
        return before
    async with db.write_transaction():
        rows = (
            await Coach.update({getattr(Coach, field): values[field] for field in changed})
            .where(Coach.id == coach_id)
            .returning(Coach.subject_id)
        )
        if not rows:
            raise NotFound("no such coach")
        await audit.record(
            actor,
            audit.Action.PROFILE_CHANGED,
            subject_id=rows[0]["subject_id"],
            purpose=PROFILE_PURPOSE,
            details={"coach_id": coach_id, "fields": changed},
        )
    return await accounts.coach_profile(coach_id)


def _regions(values: Iterable[str]) -> list[str]:
    chosen = catalogue.regions(values)
    if not chosen:
        raise InvalidInput("choose at least one region, or online")
    return chosen


def _capacity(value: int | str) -> int:
    message = f"the capacity must be a whole number from {MIN_CAPACITY} to {MAX_CAPACITY}"
    if isinstance(value, bool):
        raise InvalidInput(message)
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit() or len(value) > 3:
            raise InvalidInput(message)
        value = int(value)
    if not MIN_CAPACITY <= value <= MAX_CAPACITY:
        raise InvalidInput(message)
    return value


# -- the data-processing agreement -------------------------------------------------------


async def agreement_state(coach_id: UUID) -> AgreementState:
    rows = (
        await CoachAgreement.select(CoachAgreement.accepted_at)
        .where(
            (CoachAgreement.coach_id == coach_id) & (CoachAgreement.version == agreement.VERSION)
        )
        .order_by(CoachAgreement.accepted_at)
        .limit(1)
    )
    return AgreementState(
        version=agreement.VERSION,
        clauses=tuple(agreement.CLAUSES),
        accepted_at=rows[0]["accepted_at"] if rows else None,
    )


async def accept_agreement(coach_id: UUID, version: str, *, actor: str) -> AgreementState:
    """Accept the agreement in ``version`` (the current one); accepting twice records once."""
    state = await agreement_state(coach_id)
    if state.accepted and version == state.version:
        return state
    await agreement.accept(coach_id, version, actor=actor)
    return await agreement_state(coach_id)


# -- the portal's home page --------------------------------------------------------------


async def dashboard(
    runtime: Runtime,
    coach_id: UUID,
    *,
    before: str | None = None,
    limit: int = offers.DEFAULT_LIMIT,
) -> Dashboard:
    """Profile, agreement status, load and the feed of open offers, for one page."""
    return Dashboard(
        profile=await accounts.coach_profile(coach_id),
        agreement_accepted=await agreement.has_current(coach_id),
        active_matches=await offers.active_match_count(coach_id),
        offers=await offers.feed(runtime, coach_id, limit=limit, before=before),
    )


async def offer_page(runtime: Runtime, coach_id: UUID, request_id: UUID) -> OfferPage:
    """One offer (see :func:`matching.offers.offer`) with what stands in the way of accepting."""
    view = await offers.offer(runtime, coach_id, request_id)
    profile = await accounts.coach_profile(coach_id)
    return OfferPage(
        offer=view,
        agreement_accepted=await agreement.has_current(coach_id),
        at_capacity=await offers.active_match_count(coach_id) >= profile.capacity,
    )
