"""``coachmatch retention run | hold | holds``: erase what we may no longer keep."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import uuid
from typing import Any

from matching import retention
from matching.config import Settings
from matching.runtime import close_runtime, open_runtime

ACTOR = "cli"


def register(sub: Any) -> None:
    parser = sub.add_parser("retention", help="retention: erase what we may no longer keep")
    actions = parser.add_subparsers(dest="retention_command", required=True)
    run = actions.add_parser(
        "run", help="apply every retention rule (inactive for 2 years, sessions, ...)"
    )
    run.add_argument(
        "--as-of", type=_date, default=None, help="the day to apply the rules for (YYYY-MM-DD)"
    )
    run.add_argument("--dry-run", action="store_true", help="only count, by rule, what would go")
    hold = actions.add_parser(
        "hold", help="record a legal obligation to keep a subject's data until a date"
    )
    hold.add_argument("subject_id", type=_uuid, help="the data subject's id")
    hold.add_argument("--reason", required=True, help="a code, e.g. tax_records")
    hold.add_argument("--until", type=_date, required=True, help="end date (YYYY-MM-DD)")
    holds = actions.add_parser("holds", help="the legal holds in force")
    for each in (run, hold, holds):
        each.add_argument("--json", action="store_true", help="JSON output, one object per line")
    run.set_defaults(handler=_run)
    hold.set_defaults(handler=_hold)
    holds.set_defaults(handler=_holds)


def _date(raw: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a date as YYYY-MM-DD") from None


def _uuid(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a subject id (a UUID)") from None


def _today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


def _run(args: argparse.Namespace, settings: Settings) -> int:
    as_of = args.as_of or _today()

    async def work(runtime: Any) -> retention.RetentionReport:
        return await retention.run(runtime, as_of, dry_run=args.dry_run)

    report = asyncio.run(_with_runtime(settings, work))
    if args.json:
        print(json.dumps(report.as_dict(), sort_keys=True))
        return 0
    verb = "would go" if report.dry_run else "done"
    print(f"coachmatch: retention for {report.as_of} ({verb}), in {report.seconds:.2f} s")
    for rule, count in report.counts.items():
        print(f"  {rule:<20} {count}")
    print(f"  legal holds in force: {report.legal_holds_active}; due but held: {report.held_back}")
    return 0


def _hold(args: argparse.Namespace, settings: Settings) -> int:
    async def work(runtime: Any) -> retention.Hold:
        return await retention.add_hold(
            args.subject_id, reason=args.reason, until=args.until, actor=ACTOR, today=_today()
        )

    hold = asyncio.run(_with_runtime(settings, work))
    if args.json:
        print(json.dumps(hold.as_dict(), sort_keys=True))
    else:
        print(f"coachmatch: legal hold {hold.id} until {hold.until} ({hold.reason})")
    return 0


def _holds(args: argparse.Namespace, settings: Settings) -> int:
    async def work(runtime: Any) -> list[retention.Hold]:
        return await retention.holds(_today())

    found = asyncio.run(_with_runtime(settings, work))
    for hold in found:
        if args.json:
            print(json.dumps(hold.as_dict(), sort_keys=True))
        else:
            print(f"{hold.subject_id}  until {hold.until}  {hold.reason}")
    if not found and not args.json:
        print("coachmatch: no legal holds in force")
    return 0


async def _with_runtime(settings: Settings, work: Any) -> Any:
    runtime = await open_runtime(settings)
    try:
        return await work(runtime)
    finally:
        await close_runtime(runtime)
