"""The site's requests in flight, so that background work in the same process gives way.

In embedded mode the jobs (broadcasts, e-mails) run on the web server's own event
loop. A burst of submissions leaves a backlog of jobs behind, and every job step
holds the loop for a moment; without a rule, visitors wait behind the backlog.
The rule: before a job starts, its worker thread waits until the site is quiet,
for at most a while, so jobs still make steady progress under constant load and
run at full speed once it is quiet.

Quiet means no request in flight *and* none started for :data:`QUIET_SECONDS`.
Requests in flight alone is not enough: submissions that share a group commit
are all answered at the same moment, so under a steady stream of them nothing is
in flight for an instant after every commit, before the clients' next requests
arrive, and a job started in each of those instants took the loop from them.
"""

from __future__ import annotations

import threading
import time

#: How long no request may have started before the site counts as quiet.
QUIET_SECONDS = 0.02


class Traffic:
    def __init__(self, quiet_seconds: float = QUIET_SECONDS) -> None:
        # Changed on the event loop's thread only; read by worker threads.
        self._in_flight = 0
        self._last_started = 0.0
        self._quiet_seconds = quiet_seconds
        # Set while nothing is in flight. Waiting threads sleep on it, rather than
        # waking every few milliseconds to look: each such wake-up took the GIL from
        # the loop, hundreds of times a second, just when the site was busiest.
        self._idle = threading.Event()
        self._idle.set()

    def started(self) -> None:
        self._in_flight += 1
        self._last_started = time.monotonic()
        if self._in_flight == 1:
            self._idle.clear()

    def finished(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def give_way(self, longest: float) -> float:
        """Block (a worker thread) until the site is quiet, at most ``longest``
        seconds; returns the seconds waited."""
        started = time.monotonic()
        deadline = started + longest
        while True:
            now = time.monotonic()
            if now >= deadline or not self._idle.wait(deadline - now):
                break
            # Idle now; quiet once no request has started for a while.
            calm_at = self._last_started + self._quiet_seconds
            now = time.monotonic()
            if now >= calm_at and self._idle.is_set():
                break
            time.sleep(max(0.0, min(calm_at, deadline) - now))
        return time.monotonic() - started
