"""``coachmatch audit verify`` and ``coachmatch journal verify``: check the hash chains.

Both exit 0 when the chain verifies and 1 with one line naming the first bad
entry otherwise. ``audit verify`` also keeps an anchor (the last verified head)
in the data folder, so entries removed from the end are noticed next time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

from matching import audit, db
from matching.config import Settings
from matching.erasure import JournalCheck, verify_journal
from matching.erasure_journal import ErasureJournal
from matching.errors import IntegrityFailure

EXIT_BROKEN = 1


def register(sub: Any) -> None:
    audit_parser = sub.add_parser("audit", help="the audit log")
    audit_actions = audit_parser.add_subparsers(dest="audit_command", required=True)
    verify = audit_actions.add_parser("verify", help="check the audit log's hash chain")
    verify.add_argument("--json", action="store_true", help="print one JSON object")
    verify.add_argument(
        "--reset-anchor",
        action="store_true",
        help="ignore the recorded head (after restoring an older database) and record anew",
    )
    verify.set_defaults(handler=_verify_audit)

    journal_parser = sub.add_parser("journal", help="the erasure journal")
    journal_actions = journal_parser.add_subparsers(dest="journal_command", required=True)
    check = journal_actions.add_parser(
        "verify", help="check the erasure journal's hash chain against the audit log"
    )
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.set_defaults(handler=_verify_journal)


def _verify_audit(args: argparse.Namespace, settings: Settings) -> int:
    report = asyncio.run(_audit_report(settings, reset=args.reset_anchor))
    if args.json:
        print(json.dumps(report.as_dict(), sort_keys=True))
    if not report.ok:
        print(
            f"coachmatch: the audit log is broken at seq {report.first_bad_seq}: {report.problem}",
            file=sys.stderr,
        )
        return EXIT_BROKEN
    if not args.json:
        print(
            f"coachmatch: the audit log verifies: {report.entries} entries, "
            f"head {report.head_hash[:16]}"
        )
    return 0


async def _audit_report(settings: Settings, *, reset: bool) -> audit.ChainReport:
    async with _database(settings):
        return await audit.verify_with_anchor(audit.anchor_path(settings.data_dir), reset=reset)


def _verify_journal(args: argparse.Namespace, settings: Settings) -> int:
    try:
        check = asyncio.run(_journal_check(settings))
    except IntegrityFailure as exc:
        if args.json:
            print(json.dumps({"ok": False, "error": str(exc)}, sort_keys=True))
        print(f"coachmatch: {exc}", file=sys.stderr)
        return EXIT_BROKEN
    if args.json:
        print(json.dumps({"ok": True, **check.as_dict()}, sort_keys=True))
    else:
        print(
            f"coachmatch: the erasure journal verifies: {check.entries} entries, "
            f"{check.audited_erasures} audited erasures found in it"
        )
    return 0


async def _journal_check(settings: Settings) -> JournalCheck:
    async with _database(settings):
        return await verify_journal(ErasureJournal(settings.erasure_journal_path))


@contextlib.asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[None]:
    """The database only: checking the chains needs no master key."""
    engine = db.make_engine(settings.database_url)
    db.bind(engine)
    await db.start(engine)
    try:
        await db.migrate()
        yield
    finally:
        await db.stop(engine)
