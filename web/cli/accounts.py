"""``coachmatch coach create`` and ``coachmatch admin create``.

The password is read from the first line of standard input (``--password-stdin``),
never from the command line, where other users could read it in the process list.
The TOTP secret is printed once, to be put into an authenticator app.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any, TextIO
from uuid import UUID

from matching import accounts
from matching.config import Settings
from matching.errors import InvalidInput
from matching.runtime import close_runtime, open_runtime


def register(sub: Any) -> None:
    coach = sub.add_parser("coach", help="manage coach accounts")
    coach_actions = coach.add_subparsers(dest="coach_command", required=True)
    create = coach_actions.add_parser("create", help="create a coach account")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--topics", type=_list, default=[], help="comma-separated topic codes")
    create.add_argument("--regions", type=_list, default=[], help="comma-separated region codes")
    create.add_argument(
        "--languages", type=_list, default=["nl"], help="comma-separated, e.g. nl,en (default nl)"
    )
    create.add_argument(
        "--require-totp",
        action="store_true",
        help="require the TOTP code at every login from the start (otherwise the coach may "
        "switch it on in the portal)",
    )
    _common(create)
    create.set_defaults(handler=_create_coach)

    admin = sub.add_parser("admin", help="manage admin accounts")
    admin_actions = admin.add_subparsers(dest="admin_command", required=True)
    create = admin_actions.add_parser("create", help="create an admin account (TOTP required)")
    create.add_argument("--email", required=True)
    create.add_argument("--name", default=accounts.DEFAULT_ADMIN_NAME)
    _common(create)
    create.set_defaults(handler=_create_admin)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (required)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _list(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def read_password(args: argparse.Namespace, stdin: TextIO) -> str:
    if not args.password_stdin:
        raise InvalidInput("pass the password on standard input with --password-stdin")
    line = stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise InvalidInput("no password on standard input")
    return password


def _create_coach(args: argparse.Namespace, settings: Settings) -> int:
    password = read_password(args, sys.stdin)

    async def run() -> tuple[UUID, str]:
        runtime = await open_runtime(settings)
        try:
            return await accounts.create_coach(
                runtime,
                email=args.email,
                name=args.name,
                password=password,
                topics=args.topics,
                regions=args.regions,
                languages=args.languages,
                require_totp=args.require_totp,
            )
        finally:
            await close_runtime(runtime)

    coach_id, secret = asyncio.run(run())
    _print("coach", coach_id, secret, totp_required=args.require_totp, as_json=args.json)
    return 0


def _create_admin(args: argparse.Namespace, settings: Settings) -> int:
    password = read_password(args, sys.stdin)

    async def run() -> tuple[UUID, str]:
        runtime = await open_runtime(settings)
        try:
            return await accounts.create_admin(
                runtime, email=args.email, password=password, name=args.name
            )
        finally:
            await close_runtime(runtime)

    admin_id, secret = asyncio.run(run())
    _print("admin", admin_id, secret, totp_required=True, as_json=args.json)
    return 0


def _print(kind: str, account_id: UUID, secret: str, *, totp_required: bool, as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                {"id": str(account_id), "totp_secret": secret, "totp_required": totp_required},
                sort_keys=True,
            )
        )
        return
    when = "required at every login" if totp_required else "optional until the coach enables it"
    print(f"coachmatch: created {kind} {account_id}")
    print(f"TOTP secret (add it to an authenticator app; {when}): {secret}")
