"""Street and house number, Dutch ("Lange Voorhout 96a") and English ("12 Church Street").

Anchored on "word + number": the word must end like a street name, or the pair must
stand before a postcode or after an address phrase ("mijn adres is", "I live at").
"""

from __future__ import annotations

import re

from anonymiser.text.findings import Finding
from anonymiser.text.folding import fold
from anonymiser.text.lexicon import words

_NL_SUFFIXES = tuple(
    words(
        """
        straat straatje laan laantje weg wegje plein pleintje gracht kade singel
        dijk dreef pad steeg hof baan ring boulevard park plantsoen markt diep erf
        veld wal haven allee dam burg brink horst lei oord rade poort loop gaarde
        vliet kant hoek kamp stede weide zijde wijk berg akker hage hout heuvel dal
        eiland kaai wetering vaart sloot tuin tuinen hoven plaats laning kwartier
        oever zoom rijn molen wei heide voort plaza promenade passage
        """
    )
)
_NOT_STREETS = frozenset(
    words(
        """
        loopbaan rijbaan snelweg werkveld werkplaats bedrijfspark vakgebied
        thuiswerkplek werkplek zijweg omweg uitweg
        """
    )
)
_PREFIX_WORDS = frozenset(
    words(
        """
        van de der den het 't ter ten la le 's st. sint nieuwe oude lange korte hoge
        lage grote kleine burgemeester dokter prins prinses koning koningin graaf
        jonkheer pastoor kapitein generaal
        """
    )
)
_WORD_NUMBER = re.compile(
    r"(?<![\w'\u2019-])([^\W\d_][\w'\u2019.-]*)[ \t]+(\d{1,5})(?![\d]|[.,:]\d)"
)
_TAIL = re.compile(
    r"(?:\s?[-/]\s?(?:\d{1,4}|[ivx]{1,4}\b|[a-z]{1,2}\b)|\s?[a-z](?![\w])|"
    r"\s(?:bis|hs|huis|bg|rd|zw|boven|beneden)\b)?",
)
_NOT_AFTER = re.compile(
    r"\s*(?:%|procent|jaar|jr|keer|uur|euro|eur|dagen|weken|maanden|minuten|km|kilometer|"
    r"meter|mensen|personen|medewerkers|collega|years|times|hours|days|weeks|months|people|"
    r"x\b)"
)
_POSTCODE_AFTER = re.compile(r"\s*,?\s*[1-9]\d{3}\s?[a-z]{2}\b")
_PHRASE_BEFORE = re.compile(
    r"(?:adres(?:\s+is)?:?|woon(?:t|achtig)?\s+(?:aan|op)(?:\s+de|\s+het)?|wonend\s+(?:aan|op)"
    r"(?:\s+de|\s+het)?|live\s+at|living\s+at|address(?:\s+is)?:?)\s+$"
)
_PRECEDING_WORD = re.compile(r"([^\W\d_][\w'\u2019.-]*)[ \t]+$")
_EN = re.compile(
    r"\b\d{1,5}[a-zA-Z]?\s+(?:[A-Z][\w'-]*\s+){1,3}(?:Street|St|Road|Rd|Lane|Avenue|Ave|"
    r"Drive|Way|Close|Court|Place|Square|Crescent|Gardens|Terrace|Grove|Row|Hill|Walk|"
    r"Mews|Parade|Boulevard|Blvd)\b\.?"
)


def find(text: str) -> list[Finding]:
    folded = fold(text)
    found: list[Finding] = []
    for m in _WORD_NUMBER.finditer(folded):
        word = m.group(1)
        tail = _TAIL.match(folded, m.end())
        end = tail.end() if tail else m.end()
        street_like = (
            word.endswith(_NL_SUFFIXES) and word not in _NOT_STREETS and (word not in _NL_SUFFIXES)
        )
        if street_like and _NOT_AFTER.match(folded, end):
            continue
        if not (
            street_like
            or _POSTCODE_AFTER.match(folded, end)
            or _PHRASE_BEFORE.search(folded, max(0, m.start() - 40), m.start())
        ):
            continue
        start = _extend_left(text, folded, m.start())
        found.append(Finding("address", start, end))
    found += [Finding("address", m.start(), m.end()) for m in _EN.finditer(text)]
    return found


def _extend_left(text: str, folded: str, start: int) -> int:
    """Take up to 3 preceding words that belong to the name ("Lange", "Burgemeester de")."""
    position = start
    for _ in range(3):
        m = _PRECEDING_WORD.search(folded, max(0, position - 30), position)
        if m is None:
            break
        word = m.group(1)
        capitalised = text[m.start(1)].isupper()
        if word in _PREFIX_WORDS or capitalised:
            position = m.start(1)
            continue
        break
    # leading lower-case words are articles ("aan de molenweg 12" -> "molenweg 12")
    while position < start and text[position].islower():
        space = text.find(" ", position, start)
        if space < 0:
            break
        position = space + 1
    return position
