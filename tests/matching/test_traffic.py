"""Background jobs give way while the site is busy, but never for longer than asked,
and not at all when the site has time to spare."""

from __future__ import annotations

import threading
import time

from matching.traffic import Traffic


def _in_flight_for(traffic: Traffic, seconds: float) -> None:
    traffic.started()
    time.sleep(seconds)
    traffic.finished()


def test_no_wait_when_the_site_is_quiet() -> None:
    assert Traffic().give_way(1.0) < 0.05


def test_a_job_waits_for_a_busy_spell_to_end_then_starts() -> None:
    traffic = Traffic()
    traffic.started()
    time.sleep(0.2)  # busy for a while
    threading.Timer(0.1, traffic.finished).start()
    waited = traffic.give_way(2.0)
    assert 0.1 <= waited < 0.6
    assert traffic.in_flight == 0


def test_under_constant_load_a_job_waits_at_most_its_limit() -> None:
    traffic = Traffic()
    traffic.started()
    time.sleep(0.2)
    started = time.monotonic()
    waited = traffic.give_way(0.1)
    assert waited >= 0.1 and time.monotonic() - started < 0.6


def _give_way_under(busy_seconds: float, idle_seconds: float, longest: float) -> float:
    """How long a job waits while a thread keeps the site busy in that rhythm."""
    traffic = Traffic()
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            _in_flight_for(traffic, busy_seconds)
            time.sleep(idle_seconds)

    thread = threading.Thread(target=load)
    thread.start()
    try:
        time.sleep(0.1)
        return traffic.give_way(longest)
    finally:
        stop.set()
        thread.join()


def test_an_instant_with_nothing_in_flight_is_not_quiet() -> None:
    # Submissions sharing a commit are answered together: between two waves of them
    # nothing is in flight for a moment, yet the site is as busy as it gets.
    assert _give_way_under(busy_seconds=0.05, idle_seconds=0.0005, longest=0.3) >= 0.29


def test_a_site_with_time_to_spare_does_not_hold_jobs_back() -> None:
    # A short request every 20 ms.
    assert _give_way_under(busy_seconds=0.001, idle_seconds=0.02, longest=1.0) < 0.2


def test_the_busy_share_rises_and_falls() -> None:
    traffic = Traffic(recent_seconds=0.05)
    assert traffic.busy_share() < 0.01
    traffic.started()
    time.sleep(0.15)
    assert traffic.busy_share() > 0.9
    traffic.finished()
    time.sleep(0.15)
    assert traffic.busy_share() < 0.1
