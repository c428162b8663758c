"""``coachmatch keys rotate``: a new master key, every data key re-wrapped."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from matching import backup_keys
from matching.config import Settings
from matching.errors import ConfigurationError
from matching.key_rotation import (
    DEFAULT_BATCH_SIZE,
    ENVIRONMENT_KEY_MESSAGE,
    MAX_BATCH_SIZE,
    RotationReport,
    rotate_master_key,
)
from matching.runtime import close_runtime, open_runtime


def register(sub: Any) -> None:
    keys = sub.add_parser("keys", help="manage the master key")
    actions = keys.add_subparsers(dest="keys_command", required=True)
    rotate = actions.add_parser(
        "rotate",
        help="new master key, every data key re-wrapped; run again to finish an interrupted one",
    )
    rotate.add_argument("--json", action="store_true", help="print one JSON object")
    rotate.add_argument(
        "--batch-size",
        type=_batch_size,
        default=DEFAULT_BATCH_SIZE,
        help=f"data keys per transaction (1 to {MAX_BATCH_SIZE}, default {DEFAULT_BATCH_SIZE})",
    )
    rotate.set_defaults(handler=_rotate)


def _batch_size(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number") from None
    if not 0 < value <= MAX_BATCH_SIZE:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_BATCH_SIZE}")
    return value


def _rotate(args: argparse.Namespace, settings: Settings) -> int:
    if settings.master_key_b64:
        raise ConfigurationError(ENVIRONMENT_KEY_MESSAGE)
    report = asyncio.run(_run(settings, args.batch_size))
    if args.json:
        print(json.dumps(report.as_dict(), sort_keys=True))
    else:
        action = "finished the interrupted rotation" if report.resumed else "rotated"
        print(
            f"coachmatch: {action} master key {report.old_kek_id} -> {report.new_kek_id}: "
            f"re-wrapped {report.rewrapped_keys} data keys and {report.rewrapped_secrets} "
            f"vault secrets and {report.rewrapped_backup_keys} backup keys in "
            f"{report.duration_seconds:.2f} s"
        )
    return 0


async def _run(settings: Settings, batch_size: int) -> RotationReport:
    runtime = await open_runtime(settings)
    try:
        return await rotate_master_key(
            runtime.vault.keyring,
            batch_size=batch_size,
            backup_keys_folder=backup_keys.folder(settings),
        )
    finally:
        await close_runtime(runtime)
