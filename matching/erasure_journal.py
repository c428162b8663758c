"""The erasure journal: an append-only, hash-chained file outside the database.

Every erasure is written here *before* the database forgets the subject, and
fsynced. The file lives in the data folder, not in the database, so it survives
a restore of an older backup: replaying it erases again everyone the backup
brings back (:meth:`matching.erasure.ErasureService.replay`).

One line per entry, the canonical JSON form (sorted keys, no spaces, ASCII)::

    {"actor":"system","at":"2026-11-22T07:00:00.000001+00:00","hash":"…","prev":"…",
     "reason":"retention","seq":1,"subject_id":"<uuid>","v":1}

``hash`` is SHA-256 over ``prev`` and the canonical JSON of the other fields
(``v, seq, at, subject_id, reason, actor``); the first ``prev`` is 64 zeros. A
line must be byte for byte its canonical form, so any edit of any byte is found
by :meth:`ErasureJournal.verify` (with its line number), as is a truncated last
line. A last line cut short by a crash in the middle of an append was never
acknowledged (an erasure goes on only after its line is fsynced): the next append,
or a restore, removes it (:meth:`ErasureJournal.repair`). Removing whole lines from
the end leaves a valid shorter file: the audit
log records the journal position of every erasure, and
:func:`matching.erasure.check_journal_against_audit` finds such a loss.

No personal data: the subject id is random, the reason and actor are codes.

Concurrency: appends hold an exclusive ``flock`` on the file while they read
the last entry and write the next one, so processes cannot fork the chain.
Readers take a shared lock just long enough to see how far complete lines go.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import enum
import fcntl
import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from uuid import UUID

from matching.codes import GENESIS_HASH, check_actor
from matching.durable import fsync_dir, write_all
from matching.errors import IntegrityFailure, InvalidInput, JournalMissing

log = logging.getLogger(__name__)

VERSION = 1
READ_CHUNK = 1 << 20
MAX_LINE = 1024  # a valid line is ~300 bytes; anything longer is damage
_HEX64 = re.compile(r"[0-9a-f]{64}")
_UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_KEYS = frozenset({"v", "seq", "at", "subject_id", "reason", "actor", "prev", "hash"})
_LINE_START = b'{"actor":"'  # every canonical line begins so (its keys are sorted)


class ErasureReason(enum.StrEnum):
    """Why a subject was erased. Add new reasons here; free text is refused."""

    CANDIDATE_REQUEST = "candidate_request"
    RETENTION = "retention"
    ADMIN = "admin"
    RESTORE_DRILL = "restore_drill"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    OBJECTION = "objection"
    ACCOUNT_CLOSED = "account_closed"


#: A line in canonical form, and nothing else (codes, UTC time to the microsecond).
_CANONICAL_LINE = re.compile(
    rb'\{"actor":"([a-z0-9:_.\-]{1,80})",'
    rb'"at":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00)",'
    rb'"hash":"(' + _HEX64.pattern.encode() + rb')","prev":"(' + _HEX64.pattern.encode() + rb')",'
    rb'"reason":"(' + "|".join(re.escape(r.value) for r in ErasureReason).encode() + rb')",'
    rb'"seq":([1-9][0-9]{0,18}),'
    rb'"subject_id":"(' + _UUID_TEXT.pattern.encode() + rb')",'
    rb'"v":1\}\n'
)


@dataclasses.dataclass(frozen=True)
class JournalEntry:
    seq: int
    at: datetime.datetime
    subject_id: UUID
    reason: str
    actor: str
    prev: str
    hash: str

    def line(self) -> bytes:
        """The entry's one canonical line, newline included."""
        return _json(self, f',"hash":"{self.hash}","prev":"{self.prev}"').encode("ascii") + b"\n"


@dataclasses.dataclass(frozen=True)
class JournalReport:
    entries: int
    head_hash: str


def _iso(at: datetime.datetime) -> str:
    return at.astimezone(datetime.UTC).isoformat(timespec="microseconds")


def _json(entry: JournalEntry, links: str = "") -> str:
    """Canonical JSON (sorted keys, compact) of the entry, written out directly.

    Equal to ``canonical_json`` of the same dict (a test checks this); spelled out
    because verifying a long journal spends most of its time here. Safe only for
    checked values: actor and reason are codes, the rest ids, digits and hex.
    ``links`` holds the ``hash`` and ``prev`` members, which sort after ``at``.
    """
    return _canonical(
        entry.actor, _iso(entry.at), entry.reason, entry.seq, str(entry.subject_id), links=links
    )


def _canonical(
    actor: str, at: str, reason: str, seq: int, subject_id: str, *, links: str = ""
) -> str:
    """The canonical text from the fields as text (see :func:`_json`)."""
    return (
        f'{{"actor":"{actor}","at":"{at}"{links},"reason":"{reason}",'
        f'"seq":{seq},"subject_id":"{subject_id}","v":{VERSION}}}'
    )


def entry_hash(entry: JournalEntry) -> str:
    """SHA-256 over ``prev`` and the canonical JSON of the entry's other fields."""
    return hashlib.sha256((entry.prev + _json(entry)).encode("ascii")).hexdigest()


def check_reason(reason: object) -> str:
    try:
        return ErasureReason(str(reason)).value
    except ValueError:
        raise InvalidInput("unknown erasure reason") from None


class ErasureJournal:
    """The journal file at ``path``; see the module docstring.

    Keeps an index of the subject ids seen so far (and where reading stopped),
    topped up from the file on each use, so :meth:`append_once` and
    :meth:`contains` do not read the whole file every time.
    """

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._mutex = threading.Lock()
        self._index: dict[UUID, int] = {}
        self._cursor = _Cursor()
        self._file_id: tuple[int, int] | None = None

    @property
    def path(self) -> Path:
        return self._path

    # -- writing -----------------------------------------------------------------------

    def append(self, subject_id: UUID, reason: str, actor: str) -> JournalEntry:
        """Append one entry and fsync it; return the entry."""
        _, entry = self._append(subject_id, reason, actor, once=False)
        assert entry is not None  # always appends when once=False
        return entry

    def append_once(self, subject_id: UUID, reason: str, actor: str) -> tuple[int, bool]:
        """Append unless the subject is already in the journal: ``(seq, appended)``.

        The check and the append happen under one exclusive lock, so concurrent
        erasures of one subject write one entry.
        """
        seq, entry = self._append(subject_id, reason, actor, once=True)
        return seq, entry is not None

    def append_many_once(
        self, subject_ids: Sequence[UUID], reason: str, actor: str
    ) -> list[tuple[int, bool]]:
        """:meth:`append_once` for many subjects, with one write and one fsync:
        ``(seq, appended)`` for each, in order (a retention run erases thousands)."""
        return [
            (seq, entry is not None)
            for seq, entry in self._append_all(subject_ids, reason, actor, once=True)
        ]

    def _append(
        self, subject_id: UUID, reason: str, actor: str, *, once: bool
    ) -> tuple[int, JournalEntry | None]:
        [result] = self._append_all([subject_id], reason, actor, once=once)
        return result

    def _append_all(
        self, subject_ids: Sequence[UUID], reason: str, actor: str, *, once: bool
    ) -> list[tuple[int, JournalEntry | None]]:
        if not all(isinstance(subject_id, UUID) for subject_id in subject_ids):
            raise InvalidInput("subject_id must be a UUID")
        reason, actor = check_reason(reason), check_actor(actor)
        self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        with self._mutex, _locked(os.open(self._path, flags, 0o600), fcntl.LOCK_EX) as fd:
            _drop_torn_tail(fd)
            size = self._catch_up(fd)
            head = self._cursor
            results: list[tuple[int, JournalEntry | None]] = []
            lines: list[bytes] = []
            added: dict[UUID, int] = {}
            for subject_id in subject_ids:
                known = self._index.get(subject_id, added.get(subject_id))
                if once and known is not None:
                    results.append((known, None))
                    continue
                entry = JournalEntry(
                    seq=head.seq + 1,
                    at=datetime.datetime.now(datetime.UTC),
                    subject_id=subject_id,
                    reason=reason,
                    actor=actor,
                    prev=head.hash,
                    hash="",
                )
                entry = dataclasses.replace(entry, hash=entry_hash(entry))
                line = entry.line()
                lines.append(line)
                head = head.advanced(entry, len(line))
                added.setdefault(subject_id, entry.seq)
                results.append((entry.seq, entry))
            if lines:
                write_all(fd, b"".join(lines))
                os.fsync(fd)
                if size == 0:  # a new file: make its directory entry durable too
                    fsync_dir(self._path.parent)
                self._cursor = head
                for subject_id, seq in added.items():
                    self._index.setdefault(subject_id, seq)
            return results

    def repair(self) -> int:
        """Remove a last line cut short by a crash in the middle of an append (or
        complete one that lacks only its newline); the bytes removed. Appends do
        this themselves; a restore calls it first."""
        try:
            fd = os.open(self._path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            return 0
        with self._mutex, _locked(fd, fcntl.LOCK_EX):
            return _drop_torn_tail(fd)

    # -- reading -----------------------------------------------------------------------

    def contains(self, subject_id: UUID) -> bool:
        """Whether the journal holds an entry for ``subject_id``."""
        self.catch_up()
        with self._mutex:
            return subject_id in self._index

    def catch_up(self) -> None:
        """Read what was appended since last time into the index (the whole file, the
        first time): an append then only reads the lines added meanwhile."""
        with self._mutex:
            try:
                fd = os.open(self._path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                return
            with _locked(fd, fcntl.LOCK_SH):
                # Up to the last whole line: a line a crash cut short is for the next
                # append to mend or remove, under its exclusive lock.
                self._catch_up(fd, partial_last_line=True)

    def entries(self) -> Iterator[JournalEntry]:
        """Every entry in order, checked against the chain while reading.

        Raises :class:`IntegrityFailure` at the first bad line. A missing file has
        no entries (use :meth:`verify` with ``require_exists`` to insist on one).
        """
        try:
            fd = os.open(self._path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        try:
            with _flock(fd, fcntl.LOCK_SH):  # appenders finish their line first
                end = os.fstat(fd).st_size
            cursor = _Cursor()
            for raw in _lines(fd, 0, end, first_line=1):
                entry = _parse(raw, cursor)
                cursor = cursor.advanced(entry, len(raw))
                yield entry
        finally:
            os.close(fd)

    def erased_ids(self) -> set[UUID]:
        """The ids of every subject in the journal (the whole chain is checked)."""
        return {entry.subject_id for entry in self.entries()}

    def verify(self, *, require_exists: bool = False) -> JournalReport:
        """Check the whole chain; raise :class:`IntegrityFailure` naming the first bad line.

        With ``require_exists`` a missing file raises :class:`JournalMissing`:
        callers that know erasures happened (a restore) must not take a lost
        journal for an empty one.
        """
        if require_exists and not self._path.exists():
            raise JournalMissing(f"the erasure journal is missing: {self._path}")
        count, head = 0, GENESIS_HASH
        for entry in self.entries():
            count, head = entry.seq, entry.hash
        return JournalReport(entries=count, head_hash=head)

    def _catch_up(self, fd: int, *, partial_last_line: bool = False) -> int:
        """Read the lines appended since last time into the index; return the file size.

        Call with the file locked. Starts over if the file was replaced or shrank.
        ``partial_last_line``: stop quietly before a last line without its newline.
        """
        stat = os.fstat(fd)
        file_id = (stat.st_dev, stat.st_ino)
        if file_id != self._file_id or stat.st_size < self._cursor.offset:
            self._file_id, self._cursor, self._index = file_id, _Cursor(), {}
        cursor = self._cursor
        lines = _lines(
            fd,
            cursor.offset,
            stat.st_size,
            first_line=cursor.seq + 1,
            partial_last_line=partial_last_line,
        )
        for raw in lines:
            entry = _parse(raw, cursor)
            cursor = cursor.advanced(entry, len(raw))
            self._index.setdefault(entry.subject_id, entry.seq)
            self._cursor = cursor
        return stat.st_size


@dataclasses.dataclass(frozen=True)
class _Cursor:
    """How far a reader got: the last good entry and the byte offset after it."""

    seq: int = 0
    hash: str = GENESIS_HASH
    offset: int = 0

    def advanced(self, entry: JournalEntry, length: int) -> _Cursor:
        return _Cursor(entry.seq, entry.hash, self.offset + length)


def _broken(line: int, why: str) -> IntegrityFailure:
    return IntegrityFailure(f"the erasure journal is broken at line {line}: {why}")


def _parse(raw: bytes, cursor: _Cursor) -> JournalEntry:
    """Parse and check one line (with its newline) that should follow ``cursor``.

    One regular expression matches exactly the canonical lines (a restore reads the
    whole journal: JSON parsing was most of that time); any other line is told
    apart as malformed or merely not canonical by :func:`_what_is_wrong`.
    """
    number = cursor.seq + 1
    canonical = _CANONICAL_LINE.fullmatch(raw)
    if canonical is None:
        raise _broken(number, _what_is_wrong(raw))
    actor, at_text, digest, prev, reason, seq_text, subject_text = (
        part.decode("ascii") for part in canonical.groups()
    )
    try:
        at = datetime.datetime.fromisoformat(at_text)
        reason, actor = check_reason(reason), check_actor(actor)
    except (ValueError, InvalidInput):
        raise _broken(number, "the line is malformed") from None
    seq = int(seq_text)
    if seq != number:
        raise _broken(number, "the sequence number is wrong")
    if prev != cursor.hash:
        raise _broken(number, "the link to the previous line is broken")
    body = _canonical(actor, at_text, reason, seq, subject_text)
    if hashlib.sha256(f"{prev}{body}".encode("ascii")).hexdigest() != digest:
        raise _broken(number, "the hash does not match")
    return JournalEntry(seq, at, UUID(subject_text), reason, actor, prev, digest)


def _what_is_wrong(raw: bytes) -> str:
    """Why a line is not a canonical entry: malformed, or valid but not canonical."""
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.keys() != _KEYS or data["v"] != VERSION:
            raise ValueError("unexpected fields")
        seq, at_text, subject_text = data["seq"], data["at"], data["subject_id"]
        prev, digest = data["prev"], data["hash"]
        if type(seq) is not int or not isinstance(at_text, str):
            raise ValueError("bad field")
        if not (isinstance(subject_text, str) and _UUID_TEXT.fullmatch(subject_text)):
            raise ValueError("bad subject id")
        if not (_is_hex64(prev) and _is_hex64(digest)):
            raise ValueError("bad hash")
        if datetime.datetime.fromisoformat(at_text).tzinfo is None:
            raise ValueError("bad time")
        check_reason(data["reason"])
        check_actor(data["actor"])
    except (ValueError, TypeError, KeyError, InvalidInput):
        return "the line is malformed"
    return "the line is not in canonical form"


def _is_hex64(value: object) -> bool:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def _lines(
    fd: int, start: int, end: int, *, first_line: int, partial_last_line: bool = False
) -> Iterator[bytes]:
    """Complete lines (newline included) between two offsets; a partial last one fails
    unless ``partial_last_line`` (then it is left out)."""
    pending = b""
    number = first_line
    offset = start
    while offset < end:
        chunk = os.pread(fd, min(READ_CHUNK, end - offset), offset)
        if not chunk:
            break
        offset += len(chunk)
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line + b"\n"
            number += 1
        if len(pending) > MAX_LINE:
            raise _broken(number, "the line is far too long")
    if offset < end or (pending and not partial_last_line):
        raise _broken(number, "the last line is incomplete (truncated)")


def _drop_torn_tail(fd: int) -> int:
    """Cut off what follows the last newline if it is the start of a line (call with
    the file locked exclusively); the bytes cut.

    An append writes its lines, fsyncs, and only then does the erasure go on, so a
    line cut short by a crash was never acknowledged and nothing acted on it. A
    line whole but for its newline is completed instead. Bytes that cannot be the
    start of a line are damage: they are left for the reader to report. (Damage
    that cuts an acknowledged line short is found by the audit log, which records
    every erasure's line: :func:`matching.erasure.check_journal_against_audit`.)
    """
    size = os.fstat(fd).st_size
    if size == 0:
        return 0
    window = min(size, MAX_LINE + 1)
    tail = os.pread(fd, window, size - window)
    newline = tail.rfind(b"\n")
    if newline < 0 and window == size:
        start = 0
    elif newline < 0:
        return 0  # far too long for a line: damage
    else:
        start = size - window + newline + 1
    torn = tail[newline + 1 :]
    if not torn or torn[: len(_LINE_START)] != _LINE_START[: len(torn)] or not torn.isascii():
        return 0
    if _CANONICAL_LINE.fullmatch(torn + b"\n"):
        # Whole but for its newline: it may have been acknowledged. Complete it (the
        # reader still checks its place in the chain).
        os.pwrite(fd, b"\n", size)  # at the end, with or without O_APPEND
        os.fsync(fd)
        log.warning("erasure journal: completed a last line that lacked its newline")
        return 0
    os.ftruncate(fd, start)
    os.fsync(fd)
    log.warning("erasure journal: removed a last line cut short by a crash (%d bytes)", len(torn))
    return len(torn)


@contextlib.contextmanager
def _flock(fd: int, mode: int) -> Iterator[None]:
    fcntl.flock(fd, mode)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


@contextlib.contextmanager
def _locked(fd: int, mode: int) -> Iterator[int]:
    """Own ``fd``: lock it, hand it out, and close it (which also unlocks)."""
    try:
        fcntl.flock(fd, mode)
        yield fd
    finally:
        os.close(fd)
