"""What ``coachmatch run`` attaches to the web app: workers or a link to the broker.

Embedded mode (no ``COACHMATCH_BROKER_URL``): the web process runs the jobs itself
(:class:`~workers.embedded.EmbeddedWorkers` on the server's loop). External mode:
the web process only sends its committed jobs to the broker
(:class:`~workers.host.BrokerLink`); ``coachmatch worker`` processes run them and
sweep the outbox.

Both have async ``start()`` and ``stop()`` to pass as the app's start-up and
shut-down hooks; ``start()`` runs on the server's loop, which it adopts.
"""

from __future__ import annotations

from matching.runtime import Runtime
from workers.embedded import EmbeddedWorkers
from workers.host import BrokerLink, WorkerHost


def attach_workers(runtime: Runtime) -> WorkerHost | BrokerLink:
    if runtime.settings.embedded_workers:
        return EmbeddedWorkers(runtime)
    return BrokerLink(runtime)
