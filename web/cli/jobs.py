"""``coachmatch worker`` and ``coachmatch jobs probe|status``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any
from uuid import UUID

from matching import diagnostics, health, outbox
from matching.config import Settings
from matching.runtime import Runtime, close_runtime, open_runtime
from workers.external import DEFAULT_THREADS, NO_BROKER, run_worker
from workers.host import BrokerLink

EXIT_USAGE = 2
DEFAULT_WAIT_SECONDS = 60.0
POLL_SECONDS = 0.2


def register(sub: Any) -> None:
    worker = sub.add_parser("worker", help="a worker process for an external broker")
    worker.add_argument(
        "--threads",
        type=_positive_int,
        default=DEFAULT_THREADS,
        help=f"worker threads (default {DEFAULT_THREADS})",
    )
    worker.set_defaults(handler=_worker)

    jobs = sub.add_parser("jobs", help="inspect and test the job pipeline")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True, parser_class=type(jobs))
    probe = jobs_sub.add_parser("probe", help="send a diagnostic job through the outbox")
    probe.add_argument(
        "--work-seconds",
        type=int,
        default=0,
        help=f"how long the job works (0-{diagnostics.MAX_WORK_SECONDS})",
    )
    probe.add_argument("--no-wait", action="store_true", help="do not wait for the job")
    probe.add_argument(
        "--timeout", type=float, default=None, help="seconds to wait (default: work seconds + 60)"
    )
    probe.add_argument("--json", action="store_true", help="print one JSON object")
    probe.set_defaults(handler=_probe)

    status = jobs_sub.add_parser("status", help="count pending, done and failed jobs")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(handler=_status)


def _positive_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.broker_url:
        print(f"coachmatch: {NO_BROKER}", file=sys.stderr)
        return EXIT_USAGE
    return run_worker(settings, threads=args.threads)


def _probe(args: argparse.Namespace, settings: Settings) -> int:
    work = diagnostics.check_work_seconds(args.work_seconds)
    timeout = args.timeout if args.timeout is not None else work + DEFAULT_WAIT_SECONDS
    return asyncio.run(
        _probe_main(settings, work, wait=not args.no_wait, wait_seconds=timeout, as_json=args.json)
    )


async def _probe_main(
    settings: Settings, work: int, *, wait: bool, wait_seconds: float, as_json: bool
) -> int:
    runtime = await open_runtime(settings)
    link = BrokerLink(runtime) if settings.broker_url else None
    try:
        if link is not None:
            await link.start()
        async with outbox.unit_of_work(runtime):
            job_id = await diagnostics.enqueue_probe(work)
        waited = wait and await health.workers_alive() > 0
        if wait and not waited:
            _note(settings)
        done = waited and await _wait_done(job_id, wait_seconds)
        _print(
            {"job_id": str(job_id), "done": done},
            as_json,
            f"probe job {job_id}: {'done' if done else 'queued'}",
        )
        return 1 if waited and not done else 0
    finally:
        if link is not None:
            await link.stop()
        await close_runtime(runtime)


def _note(settings: Settings) -> None:
    where = "`coachmatch run`" if settings.embedded_workers else "a `coachmatch worker`"
    print(
        f"coachmatch: no worker is running; the job waits in the outbox for {where}",
        file=sys.stderr,
    )


async def _wait_done(job_id: UUID, wait_seconds: float) -> bool:
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if await outbox.is_done(job_id):
            return True
        await asyncio.sleep(POLL_SECONDS)
    return await outbox.is_done(job_id)


def _status(args: argparse.Namespace, settings: Settings) -> int:
    async def main() -> dict[str, int]:
        runtime: Runtime = await open_runtime(settings)
        try:
            counts = (await outbox.counts()).as_dict()
            counts["workers_alive"] = await health.workers_alive()
            return counts
        finally:
            await close_runtime(runtime)

    counts = asyncio.run(main())
    _print(counts, args.json, "  ".join(f"{key}: {value}" for key, value in counts.items()))
    return 0


def _print(payload: dict[str, Any], as_json: bool, text: str) -> None:
    print(json.dumps(payload, sort_keys=True) if as_json else text)
