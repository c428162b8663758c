"""How busy the site is, so that background work in the same process gives way.

In embedded mode the jobs (broadcasts, e-mails) run on the web server's own event
loop. A burst of submissions leaves a backlog of jobs behind, and every job step
holds the loop for a moment; without a rule, visitors wait behind the backlog.
The rule: before a job starts, its worker thread waits while the site is busy,
for at most a while, so jobs still make steady progress under constant load and
run at full speed otherwise.

Busy means: requests were in flight for more than :data:`BUSY_SHARE` of the
recent past (a moving average over about :data:`RECENT_SECONDS`). "Nothing in
flight right now" is not enough: submissions that share a group commit are all
answered at the same instant, so under a steady stream of them nothing is in
flight for a moment after every commit, and a job started in each such moment
took the loop from the next wave. A site with spare time, on the other hand,
never holds its jobs back, however many short requests it answers.
"""

from __future__ import annotations

import math
import threading
import time

#: The share of the recent past with requests in flight above which jobs wait.
BUSY_SHARE = 0.8
#: The time constant of that moving average, in seconds.
RECENT_SECONDS = 0.05
_EPSILON = 0.001


class Traffic:
    def __init__(
        self, *, busy_share: float = BUSY_SHARE, recent_seconds: float = RECENT_SECONDS
    ) -> None:
        self._busy_share = busy_share
        self._recent = recent_seconds
        # Changed on the event loop's thread only; read by worker threads.
        self._in_flight = 0
        # (share busy, as of when, in flight since then): one tuple, so a reader in
        # another thread always sees a consistent triple.
        self._state = (0.0, time.monotonic(), False)
        # Set while nothing is in flight: waiting threads sleep on it rather than
        # waking every few milliseconds to look (each wake-up takes the GIL).
        self._idle = threading.Event()
        self._idle.set()

    def started(self) -> None:
        self._in_flight += 1
        if self._in_flight == 1:
            self._turn(busy=True)
            self._idle.clear()

    def finished(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._turn(busy=False)
            self._idle.set()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def busy_share(self, now: float | None = None) -> float:
        """The moving average of the time with requests in flight, between 0 and 1."""
        share, since, busy = self._state
        elapsed = max(0.0, (time.monotonic() if now is None else now) - since)
        target = 1.0 if busy else 0.0
        return target + (share - target) * math.exp(-elapsed / self._recent)

    def give_way(self, longest: float) -> float:
        """Block (a worker thread) while the site is busy, at most ``longest`` seconds;
        returns the seconds waited."""
        started = time.monotonic()
        deadline = started + longest
        while True:
            now = time.monotonic()
            share = self.busy_share(now)
            if share <= self._busy_share or now >= deadline:
                break
            if self._state[2]:  # in flight: sleep until the site is idle
                self._idle.wait(deadline - now)
            else:  # idle: sleep until the average has come down far enough
                calm = self._recent * math.log(share / self._busy_share) + _EPSILON
                time.sleep(min(calm, deadline - now))
        return time.monotonic() - started

    def _turn(self, *, busy: bool) -> None:
        now = time.monotonic()
        self._state = (self.busy_share(now), now, busy)
