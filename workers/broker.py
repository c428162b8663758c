"""The dramatiq broker, chosen by ``COACHMATCH_BROKER_URL``.

- empty: embedded mode, a :class:`~dramatiq.brokers.stub.StubBroker` (an in-memory
  queue) consumed by a worker inside the same process. Losing that memory in a
  crash loses nothing: every job is in the outbox, and the process re-sends the
  pending ones when it starts again.
- ``redis://``: :class:`~dramatiq.brokers.redis.RedisBroker`, keys under the
  namespace ``COACHMATCH_JOB_QUEUE``.
- ``amqp://``: :class:`~dramatiq.brokers.rabbitmq.RabbitmqBroker` with publisher
  confirms, so a job counts as sent only once RabbitMQ has it.

Actors are bound to this broker explicitly (:func:`workers.actors.declare_actors`
passes ``broker=``) rather than through dramatiq's global broker: a module of
decorated functions would bind to whatever broker existed at import time, and
dramatiq's fallback is a RabbitMQ broker on localhost. The global is still set
(:func:`install`) so that nothing can silently fall back to that default.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import dramatiq
from dramatiq.broker import Broker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AgeLimit, Middleware, Retries, TimeLimit

from matching.config import Settings
from matching.errors import ConfigurationError

#: Messages older than this are dropped unprocessed; the sweeper re-sends their jobs.
MAX_MESSAGE_AGE_MS = 24 * 3600 * 1000
#: Hard limit per run (a probe may work 60 s; a mail waits on SMTP timeouts).
TIME_LIMIT_MS = 120_000
MAX_RETRIES = 5
MIN_BACKOFF_MS = 1_000
MAX_BACKOFF_MS = 300_000


def mode_of(settings: Settings) -> str:
    """``embedded``, ``redis`` or ``amqp``: what the heartbeat and logs call this set-up."""
    if not settings.broker_url:
        return "embedded"
    scheme = urlsplit(settings.broker_url).scheme
    if scheme in {"redis", "rediss"}:
        return "redis"
    if scheme in {"amqp", "amqps"}:
        return "amqp"
    raise ConfigurationError("COACHMATCH_BROKER_URL must start with redis:// or amqp://")


def middleware() -> list[Middleware]:
    """Retries with backoff; age and time limits. Results, callbacks and pipelines are off."""
    return [
        AgeLimit(max_age=MAX_MESSAGE_AGE_MS),
        TimeLimit(time_limit=TIME_LIMIT_MS),
        Retries(max_retries=MAX_RETRIES, min_backoff=MIN_BACKOFF_MS, max_backoff=MAX_BACKOFF_MS),
    ]


def build_broker(settings: Settings) -> Broker:
    mode = mode_of(settings)
    if mode == "embedded":
        return StubBroker(middleware=middleware())
    if mode == "redis":
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(
            url=settings.broker_url, namespace=settings.job_queue, middleware=middleware()
        )
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    # pika logs every socket event at INFO; its warnings and errors are enough.
    logging.getLogger("pika").setLevel(logging.WARNING)
    return RabbitmqBroker(url=settings.broker_url, confirm_delivery=True, middleware=middleware())


def check_reachable(broker: Broker, settings: Settings) -> None:
    """Connect once, so an unreachable broker is a one-line error at start-up.

    The message names host and port only: the URL may hold a password.
    """
    parts = urlsplit(settings.broker_url)
    where = f"{parts.hostname}:{parts.port or ''}".rstrip(":")
    pika_log = logging.getLogger("pika")
    level = pika_log.level
    pika_log.setLevel(logging.CRITICAL)  # the one-line error below says it all
    try:
        client = getattr(broker, "client", None)
        if client is not None:  # Redis
            client.ping()
        elif hasattr(broker, "connection"):  # RabbitMQ: opens this thread's connection
            _ = broker.connection
    except Exception as exc:
        raise ConfigurationError(
            f"cannot reach the broker at {where} ({type(exc).__name__})"
        ) from None
    finally:
        pika_log.setLevel(level)


def install(broker: Broker) -> None:
    """Make ``broker`` dramatiq's global broker too (see the module docstring)."""
    dramatiq.set_broker(broker)
