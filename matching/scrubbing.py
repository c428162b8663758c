"""The anonymiser as the request flow uses it: loaded once, run off the event loop.

Anonymising a text is pure CPU work (a few milliseconds). In a thread it would
hold the interpreter lock against the event loop serving the site, so by default
it runs in a process of its own (``COACHMATCH_ANONYMISER_PROCESSES``, default 1;
0 runs it in a thread, as the tests do), started with the runtime, at a lower
scheduling priority than the site. The text goes to that process through a
local pipe and nowhere else.

Besides the anonymiser's own detectors, every value the candidate gave us in the
form (e-mail, phone, street, postcode, city, employer) is removed from the text
wherever it appears, whatever its case: we know these are theirs.

If anonymising a text fails, :class:`~anonymiser.text.AnonymiserError` reaches the
caller, which holds the request back instead of broadcasting it. If the anonymiser
cannot be loaded at all, :class:`ScrubberUnavailable` says so: the job fails and
is retried later, and a preview answers "try again later".
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import multiprocessing
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from anonymiser.text import PLACEHOLDERS, AnonymiserError, CandidateName

if TYPE_CHECKING:
    from anonymiser.text import Anonymiser

T = TypeVar("T")
MIN_TERM_CHARS = 3
CHILD_NICENESS = 5
# Values only the form knows as such; coaches see the field of work instead.
_OWN_PLACEHOLDERS = {"nl": {"job_title": "[functie]"}, "en": {"job_title": "[job title]"}}


class ScrubberUnavailable(RuntimeError):
    """The anonymiser could not be loaded: a job should be retried, not held back."""


@dataclasses.dataclass(frozen=True)
class KnownValues:
    """What the candidate told us about themselves, to be removed from their text."""

    name: str = dataclasses.field(repr=False)
    terms: tuple[tuple[str, str], ...] = dataclasses.field(repr=False, default=())  # (type, value)

    def candidate(self) -> CandidateName:
        parts = self.name.split()
        if len(parts) == 1:
            return CandidateName(parts[0], "")
        return CandidateName(" ".join(parts[:1]), " ".join(parts[1:]))


class Scrubber:
    """Loads the anonymiser on first use (about half a second) and shares it."""

    def __init__(self, cache_dir: Path, placeholders: str = "nl", *, processes: int = 0) -> None:
        self._cache_dir = cache_dir
        self._placeholders = placeholders
        self._lock = threading.Lock()
        self._anonymiser: Anonymiser | None = None
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None

    def _process_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    self._processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_child,
                    initargs=(self._cache_dir, self._placeholders),
                )
            return self._pool

    def close(self) -> None:
        """Stop the anonymiser processes (if any)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    async def warm_up(self) -> None:
        """Load the anonymiser now rather than at the first request."""
        if self._processes:
            await self._in_child(_child_ready)
        else:
            await anyio.to_thread.run_sync(self.load)

    def load(self) -> Anonymiser:
        """The loaded anonymiser; :class:`ScrubberUnavailable` if it cannot load."""
        with self._lock:
            if self._anonymiser is None:
                from anonymiser.text import Anonymiser

                try:
                    self._anonymiser = Anonymiser.load(self._cache_dir)
                except AnonymiserError as exc:
                    raise ScrubberUnavailable(str(exc)) from None
            return self._anonymiser

    def scrub(self, text: str, known: KnownValues) -> str:
        """The text as coaches may see it (blocking, in this process; see :meth:`scrub_async`)."""
        return _scrub(self.load(), self._placeholders, text, known)

    async def scrub_async(self, text: str, known: KnownValues) -> str:
        if self._processes:
            return await self._in_child(_child_scrub, text, known)
        return await anyio.to_thread.run_sync(self.scrub, text, known)

    async def _in_child(self, function: Callable[..., T], *args: Any) -> T:
        pool = self._process_pool()
        try:
            return await asyncio.wrap_future(pool.submit(function, *args))
        except BrokenProcessPool:
            # The process died (killed, out of memory): start afresh next time.
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise ScrubberUnavailable("the anonymiser process stopped") from None


def _scrub(anonymiser: Anonymiser, placeholders: str, text: str, known: KnownValues) -> str:
    language = "en" if placeholders == "en" else "nl"
    table = {**PLACEHOLDERS[language], **_OWN_PLACEHOLDERS[language]}
    text = _remove_terms(text, known.terms, table)
    return anonymiser.anonymise(text, candidate=known.candidate()).text


# -- the anonymiser process ------------------------------------------------------------

_child: Scrubber | None = None


def _start_child(cache_dir: Path, placeholders: str) -> None:
    global _child  # noqa: PLW0603 (one scrubber per child process)
    with contextlib.suppress(OSError):
        os.nice(CHILD_NICENESS)  # the site first, then the background work
    _child = Scrubber(cache_dir, placeholders)


def _child_ready() -> None:
    if _child is None:
        raise ScrubberUnavailable("the anonymiser process did not start")
    _child.load()


def _child_scrub(text: str, known: KnownValues) -> str:
    if _child is None:
        raise ScrubberUnavailable("the anonymiser process did not start")
    return _child.scrub(text, known)


def _remove_terms(text: str, terms: tuple[tuple[str, str], ...], table: dict[str, str]) -> str:
    for kind, raw in sorted(terms, key=lambda t: -len(t[1])):
        value = " ".join(raw.split())
        if len(value) < MIN_TERM_CHARS:
            continue
        if kind not in table:
            raise AnonymiserError("unknown placeholder type")
        words = (re.escape(w) for w in value.split())
        pattern = re.compile(r"(?<!\w)" + r"[\s,]+".join(words) + r"(?!\w)", re.IGNORECASE)
        text = pattern.sub(table[kind], text)
    return text
