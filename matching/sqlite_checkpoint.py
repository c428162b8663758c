"""WAL checkpoints in a thread of their own, so the event loop never waits for one.

In WAL mode SQLite appends every commit to the ``-wal`` file and, by default, the
commit that takes the file past 1,000 pages also copies it back into the database
and waits for the disk (``fsync``). With statements on the event loop's thread
(:mod:`matching.sqlite_pool`) that commit held the whole site for tens of
milliseconds, a few times a minute under load. The pooled connections therefore
switch automatic checkpoints off, and a :class:`Checkpointer` runs a ``PASSIVE``
checkpoint every second on its own connection: it copies what no reader still
needs, never blocks readers or the writer, and releases the GIL while it works.

Connections outside a pool (the command line, tests) keep SQLite's automatic
checkpoints; the last connection to close checkpoints as well.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 1.0
#: A checkpoint never busy-waits: when SQLite is busy it is simply tried next time.
_CHECKPOINT = "PRAGMA wal_checkpoint(PASSIVE)"


class Checkpointer:
    """Checkpoints one database file every ``interval`` seconds until :meth:`stop`."""

    def __init__(self, database: str, interval: float = INTERVAL_SECONDS) -> None:
        self._database = database
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="coachmatch-sqlite-checkpoint", daemon=True
        )
        self.checkpoints = 0  # completed runs: tests and diagnostics read it

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current run, then checkpoint once more (the WAL stays small)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        try:
            connection = sqlite3.connect(self._database, timeout=0, check_same_thread=False)
        except sqlite3.Error as exc:
            log.warning(
                "WAL checkpoints are off: cannot open the database (%s)", type(exc).__name__
            )
            return
        try:
            while not self._stopping.wait(self._interval):
                self._checkpoint(connection)
            self._checkpoint(connection)
        finally:
            connection.close()

    def _checkpoint(self, connection: sqlite3.Connection) -> None:
        try:
            connection.execute(_CHECKPOINT).fetchall()
        except sqlite3.Error as exc:  # busy, or the disk: the next run tries again
            log.debug("WAL checkpoint skipped (%s)", type(exc).__name__)
            return
        self.checkpoints += 1
