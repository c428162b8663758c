"""What a request and a coach profile may name: topics, regions, languages.

Codes are stable ASCII; labels are Dutch and English. A request names topics and
(through its generalised location) a province; a coach names topics, regions
(provinces, or ``online`` for anywhere) and languages. Unknown codes are bad input.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

from anonymiser.generalise import Province
from matching.errors import InvalidInput


@dataclasses.dataclass(frozen=True)
class Entry:
    code: str
    nl: str
    en: str

    def label(self, language: str) -> str:
        return self.en if language == "en" else self.nl


TOPICS: Mapping[str, Entry] = {
    e.code: e
    for e in (
        Entry("loopbaan", "Loopbaan", "Career"),
        Entry("carriereswitch", "Carrièreswitch", "Career change"),
        Entry("burn-out", "Burn-out", "Burnout"),
        Entry("stress", "Stress", "Stress"),
        Entry("werk-privebalans", "Werk-privébalans", "Work-life balance"),
        Entry("re-integratie", "Re-integratie", "Return to work"),
        Entry("leiderschap", "Leiderschap", "Leadership"),
        Entry("communicatie", "Communicatie", "Communication"),
        Entry("zelfvertrouwen", "Zelfvertrouwen", "Self-confidence"),
        Entry("ondernemerschap", "Ondernemerschap", "Entrepreneurship"),
    )
}

ONLINE = "online"
REGIONS: Mapping[str, Entry] = {
    **{p.value: Entry(p.value, p.label, p.label_en) for p in Province},
    ONLINE: Entry(ONLINE, "Online / heel Nederland", "Online / all of the Netherlands"),
}

LANGUAGES: Mapping[str, Entry] = {
    "nl": Entry("nl", "Nederlands", "Dutch"),
    "en": Entry("en", "Engels", "English"),
}

MAX_TOPICS = 5


def _clean(values: Iterable[str], known: Mapping[str, Entry], what: str) -> list[str]:
    clean: list[str] = []
    for value in values:
        code = str(value).strip().lower()
        if code not in known:
            raise InvalidInput(f"unknown {what}: choose from the list")
        if code not in clean:
            clean.append(code)
    return clean


def topics(values: Iterable[str], *, required: bool = False) -> list[str]:
    """Known topic codes, de-duplicated; at least one when ``required``."""
    chosen = _clean(values, TOPICS, "topic")
    if required and not chosen:
        raise InvalidInput("choose at least one topic")
    if len(chosen) > MAX_TOPICS:
        raise InvalidInput(f"choose at most {MAX_TOPICS} topics")
    return chosen


def regions(values: Iterable[str]) -> list[str]:
    return _clean(values, REGIONS, "region")


def languages(values: Iterable[str], *, required: bool = True) -> list[str]:
    chosen = _clean(values, LANGUAGES, "language")
    if required and not chosen:
        raise InvalidInput("choose at least one language")
    return chosen


def language(value: str) -> str:
    return _clean([value], LANGUAGES, "language")[0]


def labels(codes: Iterable[str], known: Mapping[str, Entry], language: str) -> list[str]:
    """Display labels for stored codes (a code no longer listed shows as itself)."""
    return [known[c].label(language) if c in known else c for c in codes]
