"""``python -m workers.embedded_process``: embedded workers in a process of their own.

Reads the same ``COACHMATCH_*`` environment as the CLI and runs the embedded
worker (in-memory queue, sweeper, heartbeat) until SIGTERM. ``coachmatch run``
hosts the same workers inside the web server; this entry point exists so that
tests (the ``kill -9`` test) and diagnostics can run them without a web server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from matching.config import Settings
from matching.errors import DomainError
from workers.embedded import EMBEDDED_THREADS
from workers.external import serve


def main() -> int:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        settings = Settings.from_environ(os.environ)
        asyncio.run(serve(settings, threads=EMBEDDED_THREADS, embedded=True))
    except DomainError as exc:
        print(f"coachmatch: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
