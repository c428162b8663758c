"""``coachmatch run`` and ``coachmatch migrate``."""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import logging
import socket
from typing import Any

from matching.config import Settings
from matching.errors import ConfigurationError
from matching.runtime import close_runtime, open_runtime

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    run = sub.add_parser("run", help="migrate, then serve the site with embedded workers")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.set_defaults(handler=_run, log_level=logging.INFO)

    migrate = sub.add_parser("migrate", help="bring the schema up to date")
    migrate.set_defaults(handler=_migrate)


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    async def main() -> None:
        runtime = await open_runtime(settings)
        await close_runtime(runtime)

    asyncio.run(main())
    print("coachmatch: the schema is up to date")
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    sock = bind_socket(args.host, args.port)
    asyncio.run(serve(settings, sock))
    return 0


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind before anything else starts, so a busy port is a clear one-line error."""
    if not 0 < port < 65536:
        raise ConfigurationError(f"--port must be between 1 and 65535, not {port}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio switches Nagle's algorithm off only for sockets
    # that say they are TCP; otherwise every response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigurationError(f"port {port} on {host} is already in use") from None
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


#: Allocations between two young-generation collections (Python's default: 700).
YOUNG_COLLECTION_THRESHOLD = 10_000


async def settle_heap() -> None:
    """Exempt what start-up loaded from the garbage collector, and collect less often.

    The site's heap is mostly modules, routes and tables that live as long as the
    process; a full collection walked all of them (60 to 70 ms on a small VM), and every
    request in flight waited that long. ``gc.freeze`` leaves them out of later sweeps.

    A request's garbage is freed by reference counting as it ends; the collector is
    only for cycles. At Python's default a young collection ran every few hundred
    allocations, several times within one submitted request, each walking every young
    object of all requests in flight: a third of the CPU of a burst of submissions.
    Only garbage in reference cycles waits longer to be freed.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, older, oldest)


async def serve(settings: Settings, sock: socket.socket) -> None:
    """Open the runtime, attach the workers, and serve until interrupted."""
    import uvicorn

    from web.app import create_app
    from workers.lifecycle import attach_workers

    runtime = await open_runtime(settings)
    workers = attach_workers(runtime)

    async def warm_up() -> None:
        # Load the anonymiser before the first visitor asks for a preview (about 0.5 s;
        # the first start of an installation also builds its lookup cache).
        # If it cannot load, the site still serves: previews answer 503 and requests
        # are held back, not broadcast unanonymised.
        try:
            await runtime.scrubber.warm_up()
        except Exception as exc:
            log.warning("the anonymiser did not load (%s)", type(exc).__name__)

    app = create_app(
        runtime, on_startup=(warm_up, workers.start, settle_heap), on_shutdown=(workers.stop,)
    )
    config = uvicorn.Config(
        app,
        log_level="info",
        access_log=False,  # access logs would hold IP addresses and private-link paths
        server_header=False,
        proxy_headers=False,
        lifespan="on",
    )
    host, port = sock.getsockname()[:2]
    log.info("Coachmatch serves on http://%s:%s", host, port)
    try:
        await uvicorn.Server(config).serve(sockets=[sock])
    finally:
        await close_runtime(runtime)
