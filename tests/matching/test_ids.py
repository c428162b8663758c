"""New row ids are UUIDv7: version and variant right, the time in front, never repeated,
and ordered by time both as UUIDs (PostgreSQL) and as text (how SQLite stores them)."""

from __future__ import annotations

import time
import uuid

from matching.ids import new_id


def test_an_id_is_a_version_7_uuid_with_its_creation_time_in_front() -> None:
    before = time.time_ns() // 1_000_000
    made = new_id()
    after = time.time_ns() // 1_000_000
    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert before <= made.int >> 80 <= after
    assert uuid.UUID(str(made)) == made


def test_ids_are_never_repeated() -> None:
    ids = [new_id() for _ in range(50_000)]
    assert len(set(ids)) == len(ids)


def test_ids_of_later_milliseconds_sort_after_as_uuids_and_as_text() -> None:
    earlier = [new_id() for _ in range(100)]
    time.sleep(0.002)
    later = [new_id() for _ in range(100)]
    assert max(earlier) < min(later)
    assert max(map(str, earlier)) < min(map(str, later))


def test_the_random_part_differs_within_one_millisecond() -> None:
    ids = [new_id() for _ in range(1_000)]
    same_ms = [i for i in ids if i.int >> 80 == ids[0].int >> 80]
    assert len({i.int & ((1 << 80) - 1) for i in same_ms}) == len(same_ms)
