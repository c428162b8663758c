"""Run the async services from dramatiq's worker threads on the process's one event loop.

Dramatiq actors are plain functions run in worker threads; the domain services are
piccolo coroutines. Each process has exactly one loop for them, because a
PostgreSQL connection pool belongs to the loop that created it: the web server's
own loop in embedded mode, the worker command's loop in ``coachmatch worker``.
A worker thread submits a coroutine to that loop and blocks until it finishes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_TIMEOUT_SECONDS = 90.0


class AsyncBridge:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = DEFAULT_TIMEOUT_SECONDS) -> T:
        """Run ``coro`` on the loop and wait for its result, at most ``timeout`` seconds.

        If the wait ends early (timeout, or dramatiq interrupting the thread at its
        time limit), the coroutine is cancelled, which rolls back its transaction.
        """
        if self._on_loop_thread():
            coro.close()
            raise RuntimeError("AsyncBridge.run() called on the loop's own thread")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except BaseException:
            future.cancel()
            raise

    def _on_loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False
