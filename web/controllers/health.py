"""``GET /health``: is the database answering, and is any worker alive?

``GET /api/ping`` answers ``{"ok": true}`` and nothing else: the benchmarks' baseline.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Literal

from litestar import Response, get
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from matching import health

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 5.0
State = Literal["ok", "unavailable", "unknown"]


@dataclasses.dataclass(frozen=True)
class HealthReport:
    """Each part is ``ok`` or ``unavailable`` (``unknown`` when it could not be asked)."""

    status: State
    database: State
    workers: State


@get(
    "/health",
    name="health",
    tags=["system"],
    summary="Health of the site",
    description="200 when the database answers and a worker beat recently; otherwise 503 "
    "with the part that failed.",
    responses={
        HTTP_503_SERVICE_UNAVAILABLE: ResponseSpec(
            data_container=HealthReport, description="The database or the workers are down"
        )
    },
)
async def health_check() -> Response[HealthReport]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            alive = await health.workers_alive()
    except Exception as exc:  # any failure to ask is "the database is unavailable"
        log.warning("health: database check failed (%s)", type(exc).__name__)
        report = HealthReport("unavailable", "unavailable", "unknown")
        return Response(report, status_code=HTTP_503_SERVICE_UNAVAILABLE)
    if alive == 0:
        report = HealthReport("unavailable", "ok", "unavailable")
        return Response(report, status_code=HTTP_503_SERVICE_UNAVAILABLE)
    return Response(HealthReport("ok", "ok", "ok"), status_code=HTTP_200_OK)


@get(
    "/api/ping",
    name="ping",
    tags=["system"],
    summary="A trivial JSON answer",
    description='Always `{"ok": true}`; touches no database. The benchmarks compare the '
    "other endpoints with it.",
)
async def ping() -> dict[str, bool]:
    return {"ok": True}
