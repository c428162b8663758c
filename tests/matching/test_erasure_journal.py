"""The erasure journal file: chain, tamper and truncation detection, concurrent appends."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import multiprocessing
import os
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.codes import GENESIS_HASH, canonical_json
from matching.erasure_journal import ErasureJournal, ErasureReason, JournalEntry, entry_hash
from matching.errors import IntegrityFailure, InvalidInput, JournalMissing


def _journal(folder: Path, count: int = 0) -> ErasureJournal:
    journal = ErasureJournal(folder / "erasure-journal.log")
    for _ in range(count):
        journal.append(uuid.uuid4(), "retention", "system")
    return journal


def test_append_writes_chained_canonical_lines(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    ids = [uuid.uuid4() for _ in range(3)]
    entries = [journal.append(sid, "candidate_request", f"admin:{uuid.UUID(int=7)}") for sid in ids]
    lines = journal.path.read_bytes().splitlines(keepends=True)
    assert [e.line() for e in entries] == lines
    first = json.loads(lines[0])
    assert set(first) == {"v", "seq", "at", "subject_id", "reason", "actor", "prev", "hash"}
    assert first["v"] == 1 and first["seq"] == 1 and first["prev"] == GENESIS_HASH
    assert first["at"].endswith("+00:00") and "." in first["at"]  # UTC with microseconds
    assert [e.prev for e in entries[1:]] == [e.hash for e in entries[:-1]]
    assert all(entry_hash(e) == e.hash for e in entries)
    assert journal.verify().entries == 3
    assert journal.erased_ids() == set(ids)
    assert [e.seq for e in journal.entries()] == [1, 2, 3]
    assert journal.path.stat().st_mode & 0o777 == 0o600


def test_a_fresh_journal_object_continues_the_chain(tmp_path: Path) -> None:
    _journal(tmp_path, 2)
    again = _journal(tmp_path)
    assert again.append(uuid.uuid4(), "admin", "cli").seq == 3
    assert again.verify().entries == 3


def test_missing_file_is_empty_unless_required(tmp_path: Path) -> None:
    journal = _journal(tmp_path)
    assert journal.verify().entries == 0
    assert journal.erased_ids() == set()
    assert not journal.contains(uuid.uuid4())
    with pytest.raises(JournalMissing, match="missing"):
        journal.verify(require_exists=True)
    journal.path.touch()
    assert journal.verify(require_exists=True).entries == 0


def test_append_once_writes_one_entry_per_subject(tmp_path: Path) -> None:
    journal = _journal(tmp_path, 1)
    sid = uuid.uuid4()
    assert journal.append_once(sid, "retention", "system") == (2, True)
    assert journal.append_once(sid, "candidate_request", "system") == (2, False)
    assert journal.contains(sid)
    # Another process (another object) sees it too.
    assert _journal(tmp_path).append_once(sid, "retention", "system") == (2, False)
    assert journal.verify().entries == 2


@pytest.mark.parametrize(
    ("subject", "reason", "actor"),
    [
        ("not-a-uuid", "retention", "system"),
        (uuid.UUID(int=1), "because she asked", "system"),
        (uuid.UUID(int=1), "retention", "jan@example.org"),
        (uuid.UUID(int=1), "retention", "Jan Jansen"),
    ],
)
def test_bad_input_is_refused_before_writing(
    tmp_path: Path, subject: object, reason: str, actor: str
) -> None:
    journal = _journal(tmp_path)
    with pytest.raises(InvalidInput):
        journal.append(subject, reason, actor)  # type: ignore[arg-type]
    assert not journal.path.exists()


def _edit(path: Path, offset: int, value: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] = value
    path.write_bytes(bytes(data))


def test_an_edited_byte_is_reported_with_its_line(tmp_path: Path) -> None:
    journal = _journal(tmp_path, 5)
    lines = journal.path.read_bytes().splitlines(keepends=True)
    start = sum(len(line) for line in lines[:3])  # line 4
    at = lines[3].index(b'"reason":"retention"') + len(b'"reason":"')
    _edit(journal.path, start + at, ord("R"))
    with pytest.raises(IntegrityFailure, match="line 4"):
        journal.verify()
    with pytest.raises(IntegrityFailure, match="line 4"):
        journal.erased_ids()
    # A broken journal refuses further appends instead of chaining onto damage.
    with pytest.raises(IntegrityFailure, match="line 4"):
        _journal(tmp_path).append(uuid.uuid4(), "retention", "system")


def test_a_rewritten_entry_with_a_valid_own_hash_breaks_the_next_link(tmp_path: Path) -> None:
    journal = _journal(tmp_path, 3)
    lines = journal.path.read_bytes().splitlines(keepends=True)
    entries = list(journal.entries())
    forged = dataclasses.replace(entries[1], subject_id=uuid.uuid4())
    forged = dataclasses.replace(forged, hash=entry_hash(forged))
    journal.path.write_bytes(lines[0] + forged.line() + lines[2])
    with pytest.raises(IntegrityFailure, match="line 3: the link"):
        journal.verify()


@pytest.mark.parametrize("cut", [2, 50, 100])
def test_a_line_cut_short_is_reported_then_removed_by_the_next_append(
    tmp_path: Path, cut: int
) -> None:
    journal = _journal(tmp_path, 3)
    size = journal.path.stat().st_size
    os.truncate(journal.path, size - cut)
    with pytest.raises(IntegrityFailure, match="line 3: the last line is incomplete"):
        journal.verify()
    # A crash cut the third append short: it was never acknowledged, so it goes.
    entry = _journal(tmp_path).append(uuid.uuid4(), "retention", "system")
    assert entry.seq == 3
    assert journal.verify().entries == 3


def test_a_last_line_without_its_newline_is_completed_not_removed(tmp_path: Path) -> None:
    journal = _journal(tmp_path, 3)
    third = list(journal.entries())[2]
    os.truncate(journal.path, journal.path.stat().st_size - 1)
    with pytest.raises(IntegrityFailure, match="line 3: the last line is incomplete"):
        journal.verify()
    entry = _journal(tmp_path).append(uuid.uuid4(), "retention", "system")
    assert entry.seq == 4
    assert list(journal.entries())[2] == third


def test_a_restore_removes_a_line_cut_short_too(tmp_path: Path) -> None:
    journal = _journal(tmp_path, 2)
    first_line = journal.path.read_bytes().splitlines(keepends=True)[0]
    with journal.path.open("ab") as handle:
        handle.write(first_line[:40])
    assert journal.repair() == 40
    assert journal.repair() == 0
    assert journal.verify().entries == 2


@pytest.mark.parametrize("junk", [b"xyz", b'{"hash":"', b"\xff\xfe", b"a" * 2000])
def test_a_tail_that_cannot_be_a_line_is_damage_not_repaired(tmp_path: Path, junk: bytes) -> None:
    journal = _journal(tmp_path, 2)
    with journal.path.open("ab") as handle:
        handle.write(junk)
    assert journal.repair() == 0
    with pytest.raises(IntegrityFailure):
        _journal(tmp_path).append(uuid.uuid4(), "retention", "system")


def test_garbage_and_blank_lines_are_malformed(tmp_path: Path) -> None:
    journal = _journal(tmp_path, 2)
    with journal.path.open("ab") as handle:
        handle.write(b"\n")
    with pytest.raises(IntegrityFailure, match="line 3: the line is malformed"):
        journal.verify()


def test_a_cached_index_notices_a_replaced_file(tmp_path: Path) -> None:
    journal = _journal(tmp_path, 2)
    sid = uuid.uuid4()
    journal.append(sid, "retention", "system")
    assert journal.contains(sid)
    replacement = tmp_path / "other.log"
    other = ErasureJournal(replacement)
    other.append(uuid.uuid4(), "retention", "system")
    os.replace(replacement, journal.path)
    assert not journal.contains(sid)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(count=st.integers(min_value=1, max_value=12), data=st.data())
def test_any_single_byte_edit_is_detected(
    tmp_path_factory: pytest.TempPathFactory, count: int, data: st.DataObject
) -> None:
    folder = tmp_path_factory.mktemp("journal")
    journal = _journal(folder, count)
    original = journal.path.read_bytes()
    offset = data.draw(st.integers(min_value=0, max_value=len(original) - 1))
    value = data.draw(
        st.integers(min_value=0, max_value=255).filter(lambda b: b != original[offset])
    )
    _edit(journal.path, offset, value)
    line = original[:offset].count(b"\n") + 1
    with pytest.raises(IntegrityFailure, match=r"line \d+") as failure:
        journal.verify()
    reported = int(str(failure.value).split("line ")[1].split(":")[0])
    # The damaged line is named (a changed newline makes its line absorb the next one).
    assert reported == line


def _append_many(path: str, count: int) -> None:
    journal = ErasureJournal(Path(path))
    for _ in range(count):
        journal.append_once(uuid.uuid4(), ErasureReason.RETENTION, "system")


@pytest.mark.slow
def test_concurrent_appends_from_several_processes_keep_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "erasure-journal.log"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(path), 40)) for _ in range(5)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    report = ErasureJournal(path).verify(require_exists=True)
    assert report.entries == 200
    assert len(ErasureJournal(path).erased_ids()) == 200


def test_concurrent_appends_from_threads_keep_the_chain(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    shared = _journal(tmp_path)
    separate = [_journal(tmp_path) for _ in range(4)]
    sid = uuid.uuid4()
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(
                lambda n: (shared if n % 2 else separate[n % 4]).append_once(
                    sid if n % 10 == 0 else uuid.uuid4(), "retention", "system"
                ),
                range(80),
            )
        )
    assert sum(appended for _, appended in results) == 73  # sid once, 72 others
    assert shared.verify().entries == 73


@settings(max_examples=100, deadline=None)
@given(
    seq=st.integers(min_value=1, max_value=10**12),
    at=st.datetimes(timezones=st.timezones()),
    subject_id=st.uuids(),
    reason=st.sampled_from(list(ErasureReason)),
    actor=st.from_regex(r"[a-z][a-z0-9_]{0,30}(:[a-z0-9][a-z0-9_.\-]{0,47})?", fullmatch=True),
    prev=st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
)
def test_lines_are_canonical_json_and_hash_the_canonical_body(
    seq: int, at: datetime.datetime, subject_id: uuid.UUID, reason: str, actor: str, prev: str
) -> None:
    entry = JournalEntry(seq, at, subject_id, str(reason), actor, prev, "f" * 64)
    body = {
        "v": 1,
        "seq": seq,
        "subject_id": str(subject_id),
        "reason": str(reason),
        "actor": actor,
        "at": at.astimezone(datetime.UTC).isoformat(timespec="microseconds"),
    }
    line = canonical_json({**body, "prev": prev, "hash": "f" * 64}) + "\n"
    assert entry.line() == line.encode()
    expected = hashlib.sha256((prev + canonical_json(body)).encode()).hexdigest()
    assert entry_hash(entry) == expected


def test_many_at_once_is_one_chain_and_once_per_subject(tmp_path: Path) -> None:
    journal = _journal(tmp_path, 1)
    known, a, b = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    assert journal.append_once(known, "retention", "system") == (2, True)
    results = journal.append_many_once([a, known, b, a], "retention", "system")
    assert results == [(3, True), (2, False), (4, True), (3, False)]
    assert journal.verify().entries == 4
    assert _journal(tmp_path).erased_ids() >= {known, a, b}
    assert journal.append_many_once([], "retention", "system") == []
