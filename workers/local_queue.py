"""Which jobs wait in this process's own memory queue (embedded workers).

The sweeper sends a job again when its lease ran out: its message, or the worker
that took it, may have been lost. With embedded workers the queue is this
process's memory, and a burst of submissions leaves jobs waiting there for longer
than the lease (``COACHMATCH_JOB_LEASE_SECONDS``); sending those again only queued
each once more behind itself: a thousand duplicates every sweep, each one a
transaction to find its job done. :class:`LocalQueue`, a middleware of the embedded
broker, counts the messages of each job that were queued and not yet taken by a
worker; the relay then renews such a job's lease instead of sending it again.

A message waiting for a retry's delay is not counted until it is back in the
queue. If the process dies, its queue dies with it: the next process's first
sweep sends everything (``resend_on_start`` in :mod:`workers.host`).
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any
from uuid import UUID

from dramatiq.broker import Broker, MessageProxy
from dramatiq.common import q_name
from dramatiq.message import Message
from dramatiq.middleware import Middleware


class LocalQueue(Middleware):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: Counter[str] = Counter()

    def holds(self, job_id: UUID) -> bool:
        """Whether a message of this job waits in the queue, not taken by a worker yet."""
        with self._lock:
            return str(job_id) in self._waiting

    def after_enqueue(self, broker: Broker, message: Message[Any], delay: int | None) -> None:
        key = _job_key(message)
        if key is None or delay is not None or q_name(message.queue_name) != message.queue_name:
            return  # a delayed message is counted when it comes back to the queue
        with self._lock:
            self._waiting[key] += 1

    def before_process_message(self, broker: Broker, message: MessageProxy) -> None:
        key = _job_key(message)
        if key is None:
            return
        with self._lock:
            if self._waiting[key] > 1:
                self._waiting[key] -= 1
            else:
                self._waiting.pop(key, None)


def _job_key(message: Message[Any] | MessageProxy) -> str | None:
    """The job id a message carries (its only argument), if it carries one."""
    args = message.args
    return str(args[0]) if args else None
