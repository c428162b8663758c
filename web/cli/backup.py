"""``coachmatch backup create | list | prune``: encrypted backups, kept 14 days."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
from typing import Any

from matching.config import Settings
from matching.keyring import load_keyring
from matching.runtime import close_runtime, open_runtime
from workers import backups


def register(sub: Any) -> None:
    backup = sub.add_parser("backup", help="encrypted backups of the database, kept 14 days")
    actions = backup.add_subparsers(dest="backup_command", required=True)
    create = actions.add_parser("create", help="back up the database now")
    listing = actions.add_parser("list", help="the backups there are, oldest first")
    prune = actions.add_parser(
        "prune", help=f"destroy backups older than {backups.KEEP_DAYS} days, and their keys"
    )
    for parser in (create, listing, prune):
        parser.add_argument("--json", action="store_true", help="JSON output, one object per line")
    create.set_defaults(handler=_create)
    listing.set_defaults(handler=_list)
    prune.set_defaults(handler=_prune)


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
    destroyed = backups.prune_backups(settings)
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
