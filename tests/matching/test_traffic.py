"""Background jobs give way to the site's requests, but never for longer than asked."""

from __future__ import annotations

import threading
import time

from matching.traffic import Traffic


def test_no_wait_when_the_site_is_quiet() -> None:
    assert Traffic().give_way(1.0) < 0.05


def test_a_job_waits_for_requests_in_flight_then_starts() -> None:
    traffic = Traffic()
    traffic.started()
    threading.Timer(0.05, traffic.finished).start()
    waited = traffic.give_way(1.0)
    assert 0.04 <= waited < 0.5
    assert traffic.in_flight == 0


def test_under_constant_load_a_job_waits_at_most_its_limit() -> None:
    traffic = Traffic()
    traffic.started()
    started = time.monotonic()
    waited = traffic.give_way(0.03)
    assert waited >= 0.03 and time.monotonic() - started < 0.5


def test_a_job_waits_until_no_request_has_started_for_a_moment() -> None:
    # Submissions sharing a commit are answered together: an instant with nothing in
    # flight between two waves of them is not quiet yet.
    traffic = Traffic(quiet_seconds=0.1)
    traffic.started()
    traffic.finished()
    waited = traffic.give_way(1.0)
    assert 0.08 <= waited < 0.5


def test_a_request_arriving_in_the_quiet_moment_keeps_the_job_waiting() -> None:
    traffic = Traffic(quiet_seconds=0.05)
    traffic.started()
    traffic.finished()
    threading.Timer(0.03, traffic.started).start()  # busy again before it counts as quiet
    threading.Timer(0.2, traffic.finished).start()
    waited = traffic.give_way(1.0)
    assert 0.2 <= waited < 0.6
