"""The anonymiser as the request flow uses it: loaded once, run off the event loop.

Besides the anonymiser's own detectors, every value the candidate gave us in the
form (e-mail, phone, street, postcode, city, employer) is removed from the text
wherever it appears, whatever its case: we know these are theirs.

If anonymising a text fails, :class:`~anonymiser.text.AnonymiserError` reaches the
caller, which holds the request back instead of broadcasting it. If the anonymiser
cannot be loaded at all, :class:`ScrubberUnavailable` says so: the job fails and
is retried later, and a preview answers "try again later".
"""

from __future__ import annotations

import dataclasses
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from anonymiser.text import PLACEHOLDERS, AnonymiserError, CandidateName

if TYPE_CHECKING:
    from anonymiser.text import Anonymiser

MIN_TERM_CHARS = 3
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

    def __init__(self, cache_dir: Path, placeholders: str = "nl") -> None:
        self._cache_dir = cache_dir
        self._placeholders = placeholders
        self._lock = threading.Lock()
        self._anonymiser: Anonymiser | None = None

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
        """The text as coaches may see it (blocking; see :meth:`scrub_async`)."""
        anonymiser = self.load()
        language = "en" if self._placeholders == "en" else "nl"
        table = {**PLACEHOLDERS[language], **_OWN_PLACEHOLDERS[language]}
        text = _remove_terms(text, known.terms, table)
        result = anonymiser.anonymise(text, candidate=known.candidate())
        return result.text

    async def scrub_async(self, text: str, known: KnownValues) -> str:
        return await anyio.to_thread.run_sync(self.scrub, text, known)


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
