"""Places of residence by their context: "ik woon in X", "I live in X", "1234 AB X"."""

from __future__ import annotations

import re

from anonymiser.text.casing import is_lowercase
from anonymiser.text.findings import Finding
from anonymiser.text.lexicon import FUNCTION_WORDS, words
from anonymiser.text.patterns import postcodes

_TRIGGER = (
    r"\b(?:woon(?:t|de|den)?(?:\s+(?:nu|sinds\s+kort|al\s+\w+\s+jaar|momenteel|samen(?:\s+met\s+"
    r"[^.,;!?\n]{1,40}?)?))?\s+(?:in|te)|woonachtig\s+(?:in|te)|wonend\s+(?:in|te)|"
    r"woonplaats\s*:?|verhuisd\s+naar|verhuizen\s+naar|verhuis\s+naar|kom\s+uit|"
    r"kwam\s+uit|afkomstig\s+uit|uit|opgegroeid\s+in|geboren\b[^.!?\n]{0,40}?\b(?:in|te)|"
    r"born\b[^.!?\n]{0,40}?\bin|"
    r"live\s+in|lives\s+in|living\s+in|lived\s+in|moved\s+to|move\s+to|moving\s+to|"
    r"based\s+in|born\s+in|grew\s+up\s+in|from|hometown\s*:?|city\s*:?)\s+"
)
_CASED_PLACE = (
    r"(?P<place>(?:(?:'s|'t|den|de|het)[- ])?(?-i:[A-Z][\w'\u2019-]*)"
    r"(?:[ -](?:(?:aan|op|in|bij|de|den|der|van|an|am|upon|on)[ -])*(?-i:[A-Z][\w'\u2019-]*)){0,3})"
)
_CASED = re.compile(_TRIGGER + _CASED_PLACE, re.IGNORECASE)
_LOWER = re.compile(
    _TRIGGER + r"(?P<place>[^\W\d_][\w'\u2019-]*(?:\s+[^\W\d_][\w'\u2019-]*){0,2})", re.IGNORECASE
)
# "..., 1234 AB Plaats" and "1234AB Plaats": read right after a postcode finding
_AFTER_POSTCODE = re.compile(
    r"\s*,?\s+(?P<place>(?:(?:'s|'t|den|de|het)[- ])?[^\W\d_][\w'\u2019-]*"
    r"(?:[ -](?:(?:aan|op|in|bij|de|den|der|van)[ -])*[^\W\d_][\w'\u2019-]*){0,2})"
)
# Words that follow "from"/"in" but are no place.
_NOT_PLACES = frozenset(
    words(
        """
        home huis thuis the a an my mijn een de het this that what which where there
        here now nu today vandaag tomorrow morgen monday tuesday wednesday thursday
        friday saturday sunday maandag dinsdag woensdag donderdag vrijdag zaterdag
        zondag january february march april may june july august september october
        november december januari februari maart mei juni juli augustus oktober i ik
        you je jij scratch experience ervaring
        """
    )
)
_JOINERS = frozenset(
    {"aan", "op", "in", "bij", "de", "den", "der", "van", "'s", "'t", "ter", "ten"}
)
_LOWER_STOP = FUNCTION_WORDS | {"dus", "maar", "sinds", "since", "with", "met", "where"}


def find(text: str) -> list[Finding]:
    found: list[Finding] = []
    for m in _CASED.finditer(text):
        _add(found, text, m.start("place"), m.end("place"), lower=False)
    lowercase = is_lowercase(text)
    for postcode in postcodes.find(text):
        after = _AFTER_POSTCODE.match(text, postcode.end)
        if after is not None:
            _add(found, text, after.start("place"), after.end("place"), lower=lowercase)
    if lowercase:
        for m in _LOWER.finditer(text):
            _add(found, text, m.start("place"), m.end("place"), lower=True)
    return found


def _add(found: list[Finding], text: str, start: int, end: int, *, lower: bool) -> None:
    words = [(m.group(), m.start(), m.end()) for m in re.finditer(r"[^\s]+", text[start:end])]
    kept: list[tuple[str, int, int]] = []
    for index, (word, w_start, w_end) in enumerate(words):
        lowered = word.lower()
        is_joiner = lowered in _JOINERS
        if index and lower and lowered in _LOWER_STOP and not is_joiner:
            break
        if index == 0 and lowered in _NOT_PLACES:
            return
        if lower and not is_joiner and lowered in _LOWER_STOP:
            break
        kept.append((word, w_start, w_end))
    while kept and kept[-1][0].lower() in _JOINERS:
        kept.pop()
    if kept and kept[0][0].lower() not in _NOT_PLACES:
        found.append(Finding("city", start + kept[0][1], start + kept[-1][2]))
