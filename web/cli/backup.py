"""``coachmatch backup create | list | prune | restore`` and ``coachmatch restore-drill``."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import sys
from typing import Any

from matching.config import Settings
from matching.errors import InvalidInput
from matching.keyring import load_keyring
from matching.runtime import close_runtime, open_runtime
from workers import backups, restore


def register(sub: Any) -> None:
    backup = sub.add_parser("backup", help="encrypted backups of the database, kept 14 days")
    actions = backup.add_subparsers(dest="backup_command", required=True)
    create = actions.add_parser("create", help="back up the database now")
    listing = actions.add_parser("list", help="the backups there are, oldest first")
    prune = actions.add_parser(
        "prune", help=f"destroy backups older than {backups.KEEP_DAYS} days, and their keys"
    )
    restore = actions.add_parser(
        "restore",
        help="restore a backup: staging, erasure journal replayed, verified, then swapped in",
    )
    restore.add_argument("backup_id", metavar="ID", help="as `backup list` shows it")
    restore.add_argument(
        "--yes", action="store_true", help="confirm: the live database is replaced (stop the site)"
    )
    drill = sub.add_parser(
        "restore-drill",
        help="back up, erase a probe subject, restore into staging, prove it stays erased",
    )
    for parser in (create, listing, prune, restore, drill):
        parser.add_argument("--json", action="store_true", help="JSON output, one object per line")
    create.set_defaults(handler=_create)
    listing.set_defaults(handler=_list)
    prune.set_defaults(handler=_prune)
    restore.set_defaults(handler=_restore)
    drill.set_defaults(handler=_drill)


def _create(args: argparse.Namespace, settings: Settings) -> int:
    manifest = asyncio.run(_run_create(settings))
    if args.json:
        print(json.dumps(manifest.as_dict(), sort_keys=True))
    else:
        print(
            f"coachmatch: backup {manifest.id} created: {manifest.database}, schema "
            f"{manifest.schema_version}, {_size(manifest.sealed_bytes)} "
            f"(from {_size(manifest.plain_bytes)})"
        )
    return 0


async def _run_create(settings: Settings) -> backups.Manifest:
    runtime = await open_runtime(settings)
    try:
        return await backups.create_backup(settings, runtime.vault.keyring)
    finally:
        await close_runtime(runtime)


def _list(args: argparse.Namespace, settings: Settings) -> int:
    now = datetime.datetime.now(datetime.UTC)
    states = backups.list_backups(settings, load_keyring(settings))
    if args.json:
        for state in states:
            print(json.dumps(state.as_dict(now), sort_keys=True))
    elif not states:
        print(f"coachmatch: no backups in {settings.effective_backup_dir}")
    for state in [] if args.json else states:
        m = state.manifest
        print(
            f"{m.id}  {m.created_at:%Y-%m-%d %H:%M} UTC  {m.database:<10}  "
            f"{_size(m.sealed_bytes):>9}  {state.status}"
        )
    return 0 if all(state.ok for state in states) else 1


def _prune(args: argparse.Namespace, settings: Settings) -> int:
    destroyed = backups.prune_backups(settings, keyring=load_keyring(settings))
    asyncio.run(restore.remove_leftovers(settings))  # PostgreSQL: a killed restore's databases
    if args.json:
        print(json.dumps({"destroyed": destroyed, "keep_days": backups.KEEP_DAYS}))
    else:
        print(
            f"coachmatch: destroyed {len(destroyed)} backup(s) older than "
            f"{backups.KEEP_DAYS} days, with their keys"
        )
    return 0


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _restore(args: argparse.Namespace, settings: Settings) -> int:
    if not args.yes:
        raise InvalidInput(
            "restoring replaces the live database: stop the site, then add --yes to confirm"
        )
    report = asyncio.run(_run_restore(settings, args.backup_id, _progress(args)))
    _print_report(args, report, "restored backup")
    return 0


async def _run_restore(
    settings: Settings, backup_id: str, progress: restore.Progress
) -> restore.RestoreReport:
    runtime = await open_runtime(settings)
    try:
        return await restore.restore_backup(
            settings, runtime.vault.keyring, runtime.journal, backup_id, progress=progress
        )
    finally:
        await close_runtime(runtime)


def _drill(args: argparse.Namespace, settings: Settings) -> int:
    report = asyncio.run(_run_drill(settings, _progress(args)))
    _print_report(args, report, "restore drill on backup")
    if not report.probe_erased:
        print("coachmatch: the erased probe came back in the restore", file=sys.stderr)
        return 1
    return 0


async def _run_drill(settings: Settings, progress: restore.Progress) -> restore.RestoreReport:
    runtime = await open_runtime(settings)
    try:
        return await restore.restore_drill(runtime, progress=progress)
    finally:
        await close_runtime(runtime)


def _progress(args: argparse.Namespace) -> restore.Progress:
    """A one-line progress display on stderr (only on a terminal, never with --json)."""
    if args.json or not sys.stderr.isatty():
        return lambda step, fraction: None

    def show(step: str, fraction: float | None) -> None:
        if fraction is None:
            sys.stderr.write(f"\r{step:<10} ...     ")
        else:
            filled = int(fraction * 30)
            sys.stderr.write(f"\r{step:<10} [{'#' * filled:<30}] {fraction:4.0%}")
            if fraction >= 1.0:
                sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def _print_report(args: argparse.Namespace, report: restore.RestoreReport, what: str) -> None:
    if args.json:
        print(json.dumps(report.as_dict(), sort_keys=True))
        return
    steps = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in report.seconds.items())
    steps += f"; {report.total_seconds:.2f} s in all"
    print(
        f"coachmatch: {what} {report.backup_id} ({report.database}): "
        f"{report.subjects_restored} subjects in the backup, {report.erased_by_replay} erased "
        f"again from a journal of {report.journal_entries}, {report.rewrapped_keys} keys "
        f"re-wrapped, {report.audit_entries} audit entries verified"
        + ("" if report.probe_erased is None else f", probe erased: {report.probe_erased}")
        + ("; swapped in" if report.swapped else "; live database untouched")
    )
    print(f"coachmatch: steps: {steps}")
