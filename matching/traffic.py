"""The site's requests in flight, so that background work in the same process gives way.

In embedded mode the jobs (broadcasts, e-mails) run on the web server's own event
loop. A burst of submissions leaves a backlog of jobs behind, and every job step
holds the loop for a moment; without a rule, visitors wait behind the backlog.
The rule: before a job starts, its worker thread waits while the site is
answering requests, for at most a short while, so jobs still make steady
progress under constant load and run at full speed once it is quiet.
"""

from __future__ import annotations

import time

#: How often a waiting worker looks again.
LOOK_AGAIN_SECONDS = 0.002


class Traffic:
    def __init__(self) -> None:
        # Changed on the event loop's thread only; read by worker threads.
        self._in_flight = 0

    def started(self) -> None:
        self._in_flight += 1

    def finished(self) -> None:
        self._in_flight -= 1

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def give_way(self, longest: float) -> float:
        """Block (a worker thread) while requests are in flight, at most ``longest``
        seconds; returns the seconds waited."""
        started = time.monotonic()
        while self._in_flight > 0:
            waited = time.monotonic() - started
            if waited >= longest:
                return waited
            time.sleep(LOOK_AGAIN_SECONDS)
        return time.monotonic() - started
