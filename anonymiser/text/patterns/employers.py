"""Employers and institutions: "werkzaam bij X", "I work at X", "X B.V.", "Gemeente X".

Trigger phrases are found in the folded (lower-case) text; the name after them is
read from the original text, where capitals tell a name from ordinary words.
"""

from __future__ import annotations

import re

from anonymiser.text.casing import is_lowercase
from anonymiser.text.findings import Finding
from anonymiser.text.folding import fold
from anonymiser.text.lexicon import FUNCTION_WORDS, PARTICLES, words
from anonymiser.text.patterns import employer_names

_NL_TRIGGER = (
    r"\b(?:werk(?:zaam|te|en|t)?|gewerkt|in\s+dienst|aan\s+de\s+slag|gedetacheerd|stage|"
    r"stagiair|baan|functie|jaar|jaren|maanden|vertrokken|ontslagen|begonnen|gestart|"
    r"solliciteer|gesolliciteerd|aangenomen|zit|zat)\b[^.!?\n;:]{0,60}?\b(?:bij|voor)\s+"
    r"|\bin\s+dienst\s+van\s+|\bbij\s+"
)
_EN_TRIGGER = (
    r"\b(?:work(?:s|ed|ing)?|employed|job|position|role|intern(?:ship)?|career|years?|"
    r"joined|left|started|manager|engineer|developer|designer|consultant|nurse|teacher|"
    r"analyst|advisor|adviser|officer|specialist|scientist|assistant|lead|director|"
    r"coordinator|accountant|am|was|i'm)\b[^.!?\n;:]{0,60}?\b(?:at|for|by)\s+|\bjoined\s+"
)
_OWNER_TRIGGER = r"\b(?:werkgever|employer)\s*(?:is|:|,)?\s+"
_TRIGGER = re.compile(rf"(?:{_NL_TRIGGER}|{_EN_TRIGGER}|{_OWNER_TRIGGER})(?:(?:de|het|the|'t)\s+)?")
_NL_LOWER_TRIGGER = (
    r"\b(?:werk(?:zaam|te|t)?|gewerkt|in\s+dienst|aan\s+de\s+slag|gedetacheerd|stage|jaar|"
    r"jaren|baan|functie)\b[^.!?\n;:]{0,60}?\bbij\s+"
)
_EN_LOWER_TRIGGER = (
    r"\b(?:work(?:s|ed|ing)?|employed|job|position|role|internship)\b[^.!?\n;:]{0,60}?"
    r"\b(?:at|for|by)\s+"
)
_LOWER_TRIGGER = re.compile(
    rf"(?:{_NL_LOWER_TRIGGER}|{_EN_LOWER_TRIGGER}|{_OWNER_TRIGGER})(?:(?:de|het|the|'t)\s+)?"
)
_PARTICLE_ALT = "|".join(re.escape(p) for p in sorted(PARTICLES, key=len, reverse=True))
_NAME_WORD = r"(?:[A-Z0-9](?:[\w'\u2019+&-]|\.(?=\w))*|[a-z][\w-]*\.(?:com|nl|be|eu|io)\b)"
# A capitalised run in the ORIGINAL text (case-sensitive), read from the trigger's end.
_CASED_ORG = re.compile(
    rf"(?:(?:{_PARTICLE_ALT})\s+)*{_NAME_WORD}"
    rf"(?:[ \t]+(?:(?:van|de|der|den|het|la|le|du|&|en|und|and|of|voor)[ \t]+)*{_NAME_WORD}){{0,5}}"
)
_LOWER_ORG = re.compile(r"[^\W\d_][\w.&'-]*(?:[ \t]+[^\W\d_][\w.&'-]*){0,4}")
# A capitalised word; a dot only inside it ("B.V"), never the sentence's full stop.
_CAP_WORD = r"[A-Z](?:[\w'\u2019-]|\.(?=\w))*"
_LEGAL = (
    r"B\.?V\.?|N\.?V\.?|V\.?O\.?F\.?|Groep|Group|Holding|Holdings|Ltd\.?|Inc\.?|GmbH|LLC|"
    r"LLP|PLC|& Co\.?|& Zonen|& Zn\.?|& Partners|Partners|Advocaten|Notarissen|Accountants|"
    r"Consultancy|Consulting|Solutions|Services|Technologies|Software|International|"
    r"Nederland|Benelux|Europe|Bouw|Installatietechniek|Logistics|Logistiek|Transport|"
    r"Makelaardij|Media|Bank|Verzekeringen|Zorggroep|Thuiszorg|Kinderopvang|Trucks|"
    r"Apotheek|Bakkerij|Bakehouse|Kapsalon|Restaurant|Hotel|Garage|Makelaars|Tandartsen|"
    r"Huisartsen|Fysiotherapie|Schoonmaak|Schoonmaakdiensten|Installaties|Techniek"
)
_WITH_LEGAL_FORM = re.compile(
    rf"\b(?:{_CAP_WORD}[ \t]+(?:(?:&|en|van|de|der|den)[ \t]+)*){{1,4}}"
    rf"(?:{_LEGAL})(?![\w])"
)
_BODY_WORDS = (
    r"gemeente|provincie|waterschap|hoogheemraadschap|ministerie\s+van|stichting|vereniging|"
    r"universiteit(?:\s+van)?|hogeschool|basisschool|openbare\s+basisschool|"
    r"scholengemeenschap|lyceum|ziekenhuis|zorggroep|zorginstelling|umc|"
    r"academisch\s+ziekenhuis|woningcorporatie|woonstichting|university\s+of|hospital"
)
_PUBLIC_BODY = re.compile(rf"\b(?:{_BODY_WORDS})\s+")
_BODY_NAME = re.compile(
    rf"(?:(?:de|het|van|der|den|'t|'s-?)\s+)*{_CAP_WORD}"
    rf"(?:[ \t]+(?:(?:de|het|van|der|den|aan|op)[ \t]+)*{_CAP_WORD}){{0,3}}"
)
# A generic head noun and the name after it: "restaurant De Librije", "Politie Utrecht".
_HEADS = (
    r"kapsalon|restaurant|cafe|eetcafe|bakkerij|slagerij|apotheek|politie|"
    r"(?:huisartsen|verloskundigen|tandarts|tandartsen|fysiotherapie|therapie)?praktijk|"
    r"brandweer|(?:stedelijk\s+|christelijk\s+)?gymnasium|lyceum|atheneum|college|hotel|"
    r"garage|kinderdagverblijf|kinderopvang|osg|csg|rsg|"
    r"hair\s+salon|bakery|clinic|kliniek"
)
_HEADED = re.compile(rf"\b(?:{_HEADS})[ \t]+")
_NAMED_BODY = re.compile(
    r"\b(?:[A-Z][\w'\u2019.-]*[ \t]+){1,3}(?:Ziekenhuis|Universiteit|Hogeschool|College|"
    r"Medisch[ \t]+Centrum|MC|UMC|Hospital|University|Academy|Academie)\b"
)
_NOT_ORGS = frozenset(
    words(
        """
        ik mij me jou jullie u hem haar ons hen hun mijn jouw uw zijn een the a my
        your our his her their this that these those home huis thuis mensen iemand
        niemand nobody someone people maandag dinsdag woensdag donderdag vrijdag
        zaterdag zondag monday tuesday wednesday thursday friday saturday sunday
        januari februari maart april mei juni juli augustus september oktober
        november december january february march june july august october christmas
        kerst pasen elkaar each i
        """
    )
)
_CONNECTORS = frozenset({"&", "en", "and", "of", "voor", "und"})
_TOKEN = re.compile(r"[\w'\u2019&+-]+(?:\.[\w]+)*")
_MAX_LIST_WORDS = 4


def _known_names() -> dict[str, dict[str, int]]:
    """First folded word -> {folded phrase: word count} for the any-case entries."""
    table: dict[str, dict[str, int]] = {}
    for name in employer_names.ANY_CASE:
        if name in employer_names.CASED:
            continue
        words = _TOKEN.findall(fold(name))
        table.setdefault(words[0], {})[" ".join(words)] = len(words)
    return table


_KNOWN_BY_FIRST_WORD = _known_names()
_KNOWN_CASED = employer_names.CASED


def find(text: str) -> list[Finding]:
    folded = fold(text)
    found: list[Finding] = []
    for m in _TRIGGER.finditer(folded):
        org = _CASED_ORG.match(text, m.end())
        if org is not None:
            span = _trim_org(text, org.start(), org.end())
            if span is not None:
                found.append(Finding("employer", *span))
    if is_lowercase(text):
        for m in _LOWER_TRIGGER.finditer(folded):
            org = _LOWER_ORG.match(text, m.end())
            if org is not None:
                span = _lower_org(text, org.start(), org.end())
                if span is not None:
                    found.append(Finding("employer", *span))
    found += [Finding("employer", m.start(), m.end()) for m in _WITH_LEGAL_FORM.finditer(text)]
    found += [Finding("employer", m.start(), m.end()) for m in _NAMED_BODY.finditer(text)]
    for m in _HEADED.finditer(folded):
        body = _BODY_NAME.match(text, m.end())
        if body is not None:
            found.append(Finding("employer", m.start(), body.end()))
    for m in _PUBLIC_BODY.finditer(folded):
        body = _BODY_NAME.match(text, m.end())
        if body is not None:
            found.append(Finding("employer", m.start(), body.end()))
    found += _known(text, folded)
    return found


def _known(text: str, folded: str) -> list[Finding]:
    tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(folded)]
    found: list[Finding] = []
    for index, (word, start, end) in enumerate(tokens):
        if text[start:end] in _KNOWN_CASED:
            found.append(Finding("employer", start, end))
            continue
        phrases = _KNOWN_BY_FIRST_WORD.get(word)
        if phrases is None:
            continue
        for size in range(min(_MAX_LIST_WORDS, len(tokens) - index), 0, -1):
            chunk = tokens[index : index + size]
            if phrases.get(" ".join(t[0] for t in chunk)) == size:
                found.append(Finding("employer", start, chunk[-1][2]))
                break
    return found


def _words(text: str, start: int, end: int) -> list[tuple[str, int, int]]:
    return [
        (m.group(), start + m.start(), start + m.end())
        for m in re.finditer(r"\S+", text[start:end])
    ]


def _trim_org(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Cut particles and connectors off both ends of a capitalised run."""
    words = _words(text, start, end)
    while words and (words[-1][0].lower() in PARTICLES or words[-1][0].lower() in _CONNECTORS):
        words.pop()
    while words and words[0][0].lower() in PARTICLES:
        words.pop(0)
    if not words or words[0][0].lower() in _NOT_ORGS:
        return None
    return words[0][1], words[-1][2]


def _lower_org(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Lower-case text: the words up to the first function word or punctuation."""
    kept: list[tuple[str, int, int]] = []
    for word, w_start, _w_end in _words(text, start, end):
        bare = word.rstrip(".,;:!?)")
        lowered = bare.lower()
        if not bare or (lowered in FUNCTION_WORDS and lowered not in PARTICLES):
            break
        kept.append((bare, w_start, w_start + len(bare)))
        if bare != word:
            break
    while kept and kept[-1][0].lower() in PARTICLES:
        kept.pop()
    if not kept or kept[0][0].lower() in PARTICLES or kept[0][0].lower() in _NOT_ORGS:
        return None
    return kept[0][1], kept[-1][2]
