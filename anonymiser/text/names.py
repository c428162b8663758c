"""Person names deduce misses: the candidate's own name, and names by their context."""

from __future__ import annotations

import re
from typing import Protocol

from anonymiser.text import folding
from anonymiser.text.findings import CandidateName, Finding
from anonymiser.text.lexicon import FUNCTION_WORDS, PARTICLES, PUBLIC_FIGURES, ROLE_WORDS, words
from anonymiser.text.public_words import KEEP_WORDS, REGIONS

_PARTICLE_ALT = "|".join(re.escape(p) for p in sorted(PARTICLES, key=len, reverse=True))
_ROLE_ALT = "|".join(re.escape(r) for r in sorted(ROLE_WORDS, key=len, reverse=True))
_UPPER_WORD = r"(?-i:[A-ZÀ-ÖØ-Þ][\w'\u2019-]*)"
_LOWER_WORD = r"[^\W\d_][\w'\u2019-]*"
# A capitalised name: optional initials, particles, 1-4 capitalised words.
_CASED_NAME = (
    rf"(?P<name>(?:(?-i:[A-Z])\.\s?){{0,4}}(?:(?:{_PARTICLE_ALT})\s+)*{_UPPER_WORD}"
    rf"(?:[ \t]+(?:(?:{_PARTICLE_ALT})[ \t]+)*{_UPPER_WORD}){{0,3}})"
)
_LOWER_NAME = rf"(?P<name>{_LOWER_WORD}(?:[ \t]+{_LOWER_WORD}){{0,4}})"

_STRONG = (
    r"\b(?:mijn\s+naam\s+is|ik\s+heet|my\s+name\s+is|my\s+name's|i'm\s+called|call\s+me|"
    r"noem\s+me|noem\s+mij|noemt\s+(?:me|mij)|noemen\s+(?:me|mij)|they\s+call\s+me|"
    r"(?:also\s+)?known\s+as|goes\s+by|roepnaam\s*:?|nickname\s*:?|bijnaam\s*:?|naam\s*:|name\s*:|t\.\s?n\.\s?v\.?|tnv|ten\s+name\s+van|in\s+the\s+name\s+of|"
    r"on\s+behalf\s+of|namens|genaamd|named|called|heet)\s*,?\s*"
    rf"|\b(?:mijn|my|onze|our|haar|zijn|his|her|de|het|the)\s+(?:(?:vorige|huidige|nieuwe|"
    r"oude|ex-?|former|previous|current|new|old|eigen|lieve|dear|beste|direct[e]?)\s+)?"
    rf"(?:{_ROLE_ALT})\s*[,:]?\s*(?:(?:is|heet|named|called|genaamd)\s+)?"
    r"|\b(?:mevrouw|meneer|mevr\.|mw\.|dhr\.|de\s+heer|dokter|dr\.|drs\.|ir\.|prof\.|"
    r"mrs\.?|ms\.|miss|juffrouw|juf|meester)\s+"
    r"|\b(?:groet(?:en|jes)?|met\s+vriendelijke\s+groet(?:en)?|vriendelijke\s+groet(?:en)?|"
    r"hartelijke\s+groet(?:en)?|hartelijk\s+dank|alvast\s+(?:bedankt|dank)|bedankt|"
    r"dank\s+je(?:\s+wel)?|dankjewel|liefs|mvg|m\.v\.g\.|kind\s+regards|best\s+regards|"
    r"warm\s+regards|regards|best\s+wishes|cheers|thanks(?:\s+in\s+advance)?|thank\s+you|"
    r"many\s+thanks|sincerely|all\s+the\s+best|tot\s+snel|tot\s+ziens|best)\b\s*[,!.]*[ \t]*"
    r"\n?[ \t]*(?:[-\u2013\u2014][ \t]*)?"
)
_WEAK = (
    r"\b(?:ik\s+ben|i\s+am|i'm|i\u2019m|this\s+is|dit\s+is|hier\s+is|met|"
    r"beste|dear|hoi|hallo|hi|hey|dag|goedemorgen|goedemiddag|goedenavond)\s+"
)
# Triggers are searched in the folded text; the name is read from the original.
_STRONG_TRIGGER = re.compile(_STRONG)
_WEAK_TRIGGER = re.compile(_WEAK)
_CASED_NAME_AT = re.compile(_CASED_NAME)
_LOWER_NAME_AT = re.compile(_LOWER_NAME)
# "Mika hier." at the start of a message or after a greeting
_HERE = re.compile(
    rf"(?:^|\b(?:hoi|hallo|hey|hi|dag|goedemorgen|goedemiddag|goedenavond)[,!]?\s+)"
    rf"(?P<name>{_LOWER_WORD}(?:[ \t]+{_LOWER_WORD}){{0,2}})[ \t]+hier\b",
)
# Surname with a capitalised particle inside a sentence: "... zei Van Luin", "en De Korte"
_PARTICLE_SURNAME = re.compile(
    r"(?<=[\w,;] )(?-i:(?:Van|De|Den|Der|Ter|Ten|El|Le|La|Di|Da|Du|Von|Ait))"
    rf"(?:\s+(?:der|den|de|la|van|het|'t))?\s+{_UPPER_WORD}"
)
# A capitalised word followed by 1-2 capitalised words: checked against the first names
_CAPITALISED_RUN = re.compile(
    rf"(?<![\w'\u2019-])(?P<first>{_UPPER_WORD})(?P<rest>(?:[ \t]+(?:(?:van|de|der|den|ter|ten|"
    rf"'t|la|le|el)[ \t]+)*{_UPPER_WORD}){{1,2}})"
)
_WORD = re.compile(r"[^\s]+")
# Capitalised words that follow "ik ben"/"I am" without being names.
_NOT_NAMES = (
    frozenset(
        words(
            """
        dutch nederlander nederlandse nederlands english engels british german duits
        french frans belgian belg turkish moroccan polish spanish italian american
        christian muslim catholic hr it ict ux ui ceo cto cfo coo zzp zzp'er zzper
        phd msc bsc mba senior junior lead head manager director product project
        scrum agile marketing sales finance legal office data business teamleider
        coach beste dear hoi hallo hi hey sorry ok oke thanks bedankt hier here dit
        this god sir madam i'm im
        """
        )
    )
    | KEEP_WORDS
)
_SENTENCE_END = ".!?\n:;"


class _Lists(Protocol):
    whitelist: frozenset[str]
    first_names: dict[str, str]
    surnames: dict[str, str]


class NameFinder:
    """Context rules for names, plus the candidate's own name in every spelling."""

    def __init__(self, lists: _Lists) -> None:
        self._common = lists.whitelist | FUNCTION_WORDS | _NOT_NAMES
        self._first_names = lists.first_names
        self._surnames = lists.surnames

    def find(self, text: str, *, candidate: CandidateName | None, lowercase: bool) -> list[Finding]:
        found: list[Finding] = []
        if candidate is not None:
            found += candidate_spans(text, candidate, self._common)
        if lowercase:
            found += self._lower_context(text)
        else:
            found += self._cased_context(text)
            found += [Finding("name", m.start(), m.end()) for m in _PARTICLE_SURNAME.finditer(text)]
            found += self._known_first_name_runs(text)
        closing = sign_off(text)
        if closing is not None:
            found.append(Finding("name", *closing))
        for m in _HERE.finditer(folding.fold(text)):
            span = self._checked(text, m.start("name"), m.end("name"), strong=True, lower=lowercase)
            if span is not None:
                found.append(Finding("name", *span))
        return found

    def _cased_context(self, text: str) -> list[Finding]:
        return self._context(text, _CASED_NAME_AT, lower=False)

    def _lower_context(self, text: str) -> list[Finding]:
        return self._context(text, _LOWER_NAME_AT, lower=True)

    def _context(self, text: str, name_at: re.Pattern[str], *, lower: bool) -> list[Finding]:
        folded = folding.fold(text)
        found: list[Finding] = []
        for trigger, strong in ((_STRONG_TRIGGER, True), (_WEAK_TRIGGER, False)):
            for m in trigger.finditer(folded):
                name = name_at.match(text, m.end())
                if name is None:
                    continue
                span = self._checked(text, name.start(), name.end(), strong=strong, lower=lower)
                if span is not None:
                    found.append(Finding("name", *span))
        return found

    def _checked(
        self, text: str, start: int, end: int, *, strong: bool, lower: bool
    ) -> tuple[int, int] | None:
        """Keep the words that look like a name; None when the first one does not."""
        words = [
            (m.group(), start + m.start(), start + m.end()) for m in _WORD.finditer(text[start:end])
        ]
        kept: list[tuple[str, int, int]] = []
        after_particle = False
        for index, (raw, w_start, _w_end) in enumerate(words):
            word = raw.rstrip(".,;:!?)'\u2019")
            if raw != word and len(word) == 1 and word.isupper():
                word = raw  # an initial keeps its dot
            lowered = word.lower()
            if lowered in PARTICLES and index < len(words) - 1:
                kept.append((word, w_start, w_start + len(word)))
                after_particle = True
                continue
            if not lower and _lowercase_compound(word):
                break  # "HR-adviseur", "ICT-manager": a job title, not a name
            if not self._name_like(
                lowered,
                first=not kept,
                strong=strong,
                lower=lower,
                after_particle=after_particle,
                ends=raw != word or index == len(words) - 1,
            ):
                break
            kept.append((word, w_start, w_start + len(word)))
            after_particle = False
            if raw != word and raw[len(word) : len(word) + 1] != ".":
                break
        while kept and kept[-1][0].lower() in PARTICLES:
            kept.pop()
        if not kept:
            return None
        return kept[0][1], kept[-1][2]

    def _name_like(
        self,
        lowered: str,
        *,
        first: bool,
        strong: bool,
        lower: bool,
        after_particle: bool,
        ends: bool,
    ) -> bool:
        if not lowered or not lowered[0].isalpha():
            return False
        if len(lowered) == 2 and lowered[1] == ".":
            return True  # initial
        if lowered in self._common and not after_particle:
            return False
        if not lower:
            return True
        if first:
            return strong or lowered in self._first_names
        return after_particle or lowered in self._surnames or lowered in self._first_names or ends

    def _known_first_name_runs(self, text: str) -> list[Finding]:
        found: list[Finding] = []
        for m in _CAPITALISED_RUN.finditer(text):
            first = m.group("first")
            if first.lower() in self._common or first.lower() not in self._first_names:
                continue
            span = self._checked(text, m.start(), m.end(), strong=True, lower=False)
            if span is not None and span[1] > m.end("first"):
                found.append(Finding("name", *span))
        return found


# The closing: a short line ending in a comma ("Groetjes,", "Peace,", "Dziękuję,"), then
# only a short name on the last line.
_SIGN_OFF = re.compile(
    r"(?:^|\n)[ \t]*[^\W\d_][^\n,]{0,30},[ \t]*\n(?:[ \t]*\n)*[ \t]*"
    r"(?:[-\u2013\u2014][ \t]*)?"
    r"(?P<name>[^\W\d_][\w'\u2019.-]*(?:[ \t]+[^\W\d_][\w'\u2019.-]*){0,2})\s*$"
)


def sign_off(text: str) -> tuple[int, int] | None:
    """The name alone on the last line after a closing greeting line, if any."""
    m = _SIGN_OFF.search(text)
    if m is None:
        return None
    name = m.group("name").rstrip(".")
    first = name.split()[0]
    lowered = first.lower()
    if not text.islower() and not first[0].isupper():
        return None
    if lowered in _NOT_NAMES or lowered in ROLE_WORDS or lowered in FUNCTION_WORDS - {"will"}:
        return None
    return m.start("name"), m.start("name") + len(name)


# A full stop after a word (not an initial) or after an abbreviation's own dot, then a
# capital: "Renovatie B.V.. Het", "Jansen. Daarna".
_SENTENCE_BREAK = re.compile(r"(?:(?<=\w\w)|(?<=\.))\.\s+(?=[A-Z])")


def before_sentence_end(text: str, start: int, end: int) -> int:
    """Cut a name span at the first sentence end inside it."""
    m = _SENTENCE_BREAK.search(text, start, end)
    return end if m is None else m.start()


def _lowercase_compound(word: str) -> bool:
    parts = word.split("-")
    return len(parts) > 1 and any(p[:1].islower() for p in parts[1:])


def skip_titles(text: str, start: int, end: int, titles: frozenset[str]) -> int:
    """Move the start of a deduce name past titles ("mevrouw", "collega", "dr.")."""
    position = start
    for m in _WORD.finditer(text, start, end):
        if m.group().lower().rstrip(".") not in titles or m.end() >= end:
            break
        position = m.end()
        while position < end and text[position].isspace():
            position += 1
    return position


def candidate_spans(text: str, candidate: CandidateName, common: frozenset[str]) -> list[Finding]:
    """The candidate's name: full, parts of 3+ letters, initials; case- and accent-blind.

    Parts that are ordinary words ("Best", "Groen") only count when written with a
    capital inside a sentence, and never in all-lower-case text.
    """
    # Plain string search, no per-candidate regex: compiling one per message
    # cost more than all the searching together.
    folded = folding.fold(text)
    first = folding.fold(candidate.first).split()
    last = folding.fold(candidate.last).split()
    particles = [w for w in last if w in PARTICLES]
    core = [w for w in last if w not in PARTICLES]
    full_forms = {
        " ".join(first + last),
        " ".join(first + core),
        " ".join(last),
        " ".join(first),
    }
    parts = {p for w in first + core for p in re.split(r"[-']", w) if len(p) >= 3}
    parts |= {w for w in first + core if len(w) >= 3}
    strong_forms = {
        f for f in full_forms if len(f.split()) > 1 or (f not in common and len(f) >= 3)
    }
    strong_forms |= {p for p in parts if p not in common}
    found = [
        Finding("name", start, end)
        for form in strong_forms
        if form
        for start, end in _form_matches(folded, form.split())
    ]
    if core:
        found += _initialled(folded, particles, core)
    found += _first_name_prefixes(text, folded, first, common | PARTICLES)
    weak_parts = (parts | {f for f in full_forms if " " not in f}) - strong_forms
    for part in weak_parts:
        if len(part) < 3:
            continue
        found += [
            Finding("name", start, end)
            for start, end in _form_matches(folded, [part])
            if text[start].isupper() and not _sentence_start(text, start)
        ]
    return found


def _initialled(folded: str, particles: list[str], core: list[str]) -> list[Finding]:
    """ "J.H. de Vries", "j. vries": one to four initials before the (particles and) surname."""
    found: list[Finding] = []
    forms = [particles + core, core] if particles else [core]
    for form in forms:
        for start, end in _form_matches(folded, form, lead=False):
            initials = _INITIALS_BEFORE.search(folded, max(0, start - 16), start)
            if initials is not None:
                found.append(Finding("name", initials.start(), end))
    return found


# Initials directly before a surname; searched in a short window that ends at it.
_INITIALS_BEFORE = re.compile(r"(?<![\w@.])(?:\b[a-z]\.\s?){1,4}\s*\Z")


def _form_matches(folded: str, words: list[str], *, lead: bool = True) -> list[tuple[int, int]]:
    """Where the words occur in order, apart by spaces or hyphens, as whole words."""
    matches: list[tuple[int, int]] = []
    head = words[0]
    position = folded.find(head)
    while position >= 0:
        before = folded[position - 1] if position else " "
        end = _rest_of_form(folded, position + len(head), words[1:])
        lead_ok = not (_word_char(before) or (lead and before in "@."))
        if end is not None and lead_ok and _ends_word(folded, end):
            matches.append((position, end))
        position = folded.find(head, position + 1)
    return matches


def _rest_of_form(folded: str, position: int, words: list[str]) -> int | None:
    for word in words:
        gap = position
        while gap < len(folded) and (folded[gap].isspace() or folded[gap] == "-"):
            gap += 1
        if gap == position or not folded.startswith(word, gap):
            return None
        position = gap + len(word)
    return position


def _ends_word(folded: str, end: int) -> bool:
    return end == len(folded) or not (_word_char(folded[end]) or folded[end] == "@")


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _first_name_prefixes(
    text: str, folded: str, first: list[str], common: frozenset[str]
) -> list[Finding]:
    """Short forms of the first name ("Kev" for Kevin), capitalised, as whole words."""
    found: list[Finding] = []
    for given in first:
        for size in range(3, len(given)):
            prefix = given[:size]
            if prefix in common:
                continue
            found += [
                Finding("name", start, end)
                for start, end in _form_matches(folded, [prefix])
                if text[start].isupper() and not _sentence_start(text, start)
            ]
    return found


def _sentence_start(text: str, index: int) -> bool:
    position = index - 1
    while position >= 0 and text[position] in " \t\"'(":
        position -= 1
    return position < 0 or text[position] in _SENTENCE_END


_PUBLIC = re.compile(
    r"(?<!\w)(?:"
    + "|".join(r"\s+".join(re.escape(w) for w in folding.fold(p).split()) for p in PUBLIC_FIGURES)
    + r")(?:['\u2019]s)?(?!\w)"
)


_REACH = max(len(p) for p in PUBLIC_FIGURES) + 4


def without_public_figures(text: str, findings: list[Finding]) -> list[Finding]:
    """Drop name findings that lie within a public figure's name ("Simon Sinek")."""
    findings = [f for f in findings if not _region(text, f)]
    folded = folding.fold(text)
    public = [
        (m.start(), m.end())
        for f in findings
        if f.type == "name"
        for m in _PUBLIC.finditer(folded, max(0, f.start - _REACH), f.end + _REACH)
    ]
    if not public:
        return findings
    return [
        f
        for f in findings
        if f.type != "name" or not any(s <= f.start and f.end <= e for s, e in public)
    ]


def _region(text: str, finding: Finding) -> bool:
    """A country or province named as a place: the generalisation level, it may stay."""
    value = folding.fold(text[finding.start : finding.end]).strip(".,;:!? ")
    return finding.type == "city" and value in REGIONS
