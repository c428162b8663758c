"""The text anonymiser: all detectors, merged, rendered with placeholders."""

from __future__ import annotations

from pathlib import Path

from anonymiser.text import names, recase
from anonymiser.text.deduce_engine import DeduceEngine, DeduceSpan, ensure_lookup_dir
from anonymiser.text.errors import AnonymiserError
from anonymiser.text.findings import (
    PLACEHOLDERS,
    AnonymisedText,
    CandidateName,
    Finding,
    PlaceholderSet,
)
from anonymiser.text.patterns import (
    addresses,
    ages,
    bsn,
    cities,
    dates,
    emails,
    employers,
    iban,
    phones,
    postcodes,
    urls_handles,
    world_cities,
)
from anonymiser.text.spans import merge

__all__ = ["Anonymiser", "CandidateName", "prepare"]

# Run first; phone numbers are only looked for outside what these claimed.
_IDENTIFIER_DETECTORS = (emails, urls_handles, iban, bsn, dates, postcodes, addresses)
_CONTEXT_DETECTORS = (ages, employers, cities, world_cities)


def prepare(cache_dir: Path) -> Path:
    """Build deduce's trimmed lookup structures into ``cache_dir``; returns their folder."""
    try:
        return ensure_lookup_dir(cache_dir)
    except Exception as exc:
        raise AnonymiserError(f"preparing the anonymiser failed ({type(exc).__name__})") from None


class Anonymiser:
    """Removes personal data from Dutch and English text. Load once, call often."""

    def __init__(self, engine: DeduceEngine) -> None:
        self._engine = engine
        self._recaser = recase.Recaser(engine)
        self._names = names.NameFinder(engine)

    @classmethod
    def load(cls, cache_dir: Path) -> Anonymiser:
        try:
            return cls(DeduceEngine(cache_dir))
        except Exception as exc:
            raise AnonymiserError(f"loading the anonymiser failed ({type(exc).__name__})") from None

    def anonymise(
        self,
        text: str,
        *,
        candidate: CandidateName | None = None,
        placeholders: PlaceholderSet = "nl",
    ) -> AnonymisedText:
        try:
            table = PLACEHOLDERS[placeholders]
            findings = self.find(text, candidate=candidate)
            return AnonymisedText(_render(text, findings, table), findings)
        except Exception as exc:
            raise AnonymiserError(f"anonymising failed ({type(exc).__name__})") from None

    def find(self, text: str, *, candidate: CandidateName | None = None) -> tuple[Finding, ...]:
        if not isinstance(text, str):
            raise TypeError("text must be a string")
        found: list[Finding] = []
        for detector in _IDENTIFIER_DETECTORS:
            found += detector.find(text)
        numbers = phones.find(text, taken=found)
        found = phones.drop_beaten(found, numbers, text) + numbers
        for context_detector in _CONTEXT_DETECTORS:
            found += context_detector.find(text)
        lowercase = recase.is_lowercase(text)
        deduce_text = self._recaser.recase(text) if lowercase else text
        found += _from_deduce(deduce_text, self._engine.annotate(deduce_text), self._engine)
        found += self._names.find(text, candidate=candidate, lowercase=lowercase)
        return merge(names.without_public_figures(text, found))


def _from_deduce(text: str, spans: list[DeduceSpan], engine: DeduceEngine) -> list[Finding]:
    found: list[Finding] = []
    for span in spans:
        kind = _DEDUCE_TYPES.get(span.tag)
        if kind is None:
            continue
        start, end = span.start, span.end
        if kind == "name":
            start = names.skip_titles(text, start, end, engine.prefixes)
            end = names.before_sentence_end(text, start, end)
        elif kind == "city":
            kind = postcodes.classify_location(text[start:end])
        elif kind == "age":
            start, end = ages.number_within(text, start, end)
        if end > start:
            found.append(Finding(kind, start, end))
    return found


_DEDUCE_TYPES: dict[str, str] = {
    "persoon": "name",
    "patient": "name",
    "locatie": "city",
    "ziekenhuis": "institution",
    "zorginstelling": "institution",
    "datum": "date",
    "leeftijd": "age",
    "id": "id_number",
    "bsn": "bsn",
}


def _render(text: str, findings: tuple[Finding, ...], table: dict[str, str]) -> str:
    parts: list[str] = []
    position = len(text)
    for finding in reversed(findings):
        parts.append(text[finding.end : position])
        parts.append(table[finding.type])
        position = finding.start
    parts.append(text[:position])
    return "".join(reversed(parts))
