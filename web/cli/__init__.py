"""The ``coachmatch`` command line.

Each sub-command lives in its own module with a ``register(subparsers)`` function.
Handlers get the parsed arguments and the settings read once here; they return
an exit code. Domain errors become one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from importlib import import_module

from matching.config import Settings
from matching.errors import DomainError

COMMAND_MODULES = (
    "web.cli.serve",
    "web.cli.accounts",
    "web.cli.keys",
    "web.cli.backup",
    "web.cli.retention",
    "web.cli.audit",
    "web.cli.jobs",
    "web.cli.anonymise",
)

EXIT_USAGE = 2
EXIT_FAILURE = 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"coachmatch: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="coachmatch", description="Coachmatch: privacy-by-design coach matching")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        # Commands print their own results; logs are for long-running ones and -v.
        level=logging.DEBUG if args.verbose else getattr(args, "log_level", logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        settings = Settings.from_environ(os.environ)
        code: int = args.handler(args, settings)
    except DomainError as exc:
        print(f"coachmatch: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the user gets one line; the trace only with --verbose
        if args.verbose:
            raise
        print(
            f"coachmatch: unexpected error ({type(exc).__name__}); rerun with -v for details",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    return code


if __name__ == "__main__":
    sys.exit(main())
