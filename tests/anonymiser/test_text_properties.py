"""Property tests: valid identifiers placed in Dutch and English sentences never survive."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anonymiser.text import Anonymiser
from anonymiser.text.patterns import bsn as bsn_module
from anonymiser.text.patterns import iban as iban_module

TEMPLATES = [
    "Je kunt mij bereiken via {v}, liefst 's avonds.",
    "Mijn gegevens: {v}. Alvast bedankt!",
    "hoi, dit is mijn {v} en verder niks.",
    "Please use {v} for anything related to the sessions.",
    "You can reach me at {v}; I reply within a day.",
    "({v})",
    "{v}",
    "Graag contact via {v}\nGroet",
]
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

_local = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12)
_label = st.text(string.ascii_lowercase + string.digits, min_size=2, max_size=10)
_tld = st.text(string.ascii_lowercase, min_size=2, max_size=10)


@st.composite
def emails(draw: st.DrawFn) -> str:
    separator = draw(st.sampled_from([".", "_", "-", "+"]))
    local = draw(_local) + draw(st.one_of(st.just(""), _local.map(lambda s: separator + s)))
    return f"{local}@{draw(_label)}.{draw(_tld)}"


@st.composite
def urls(draw: st.DrawFn) -> str:
    host = f"{draw(_label)}.{draw(_tld)}"
    path = draw(st.text(string.ascii_lowercase + string.digits + "-/", max_size=15))
    prefix = draw(st.sampled_from(["https://", "http://", "https://www.", "www."]))
    return f"{prefix}{host}/{path}" if path else f"{prefix}{host}"


@st.composite
def nl_phones(draw: st.DrawFn) -> str:
    mobile = draw(st.booleans())
    if mobile:
        rest = "".join(draw(st.lists(st.sampled_from(string.digits), min_size=8, max_size=8)))
        forms = [
            f"06{rest}",
            f"06-{rest}",
            f"06 {rest[:4]} {rest[4:]}",
            f"+31 6 {rest}",
            f"+316{rest}",
            f"0031 6 {rest}",
            f"+31 (0)6 {rest}",
            f"(06) {rest}",
            f"06 {rest[:2]} {rest[2:4]} {rest[4:6]} {rest[6:]}",
        ]
    else:
        area = draw(st.sampled_from(["10", "20", "30", "40", "50", "70", "71", "73", "76", "79"]))
        rest = "".join(draw(st.lists(st.sampled_from(string.digits), min_size=7, max_size=7)))
        forms = [
            f"0{area}{rest}",
            f"0{area}-{rest}",
            f"0{area} {rest[:3]} {rest[3:]}",
            f"+31 {area} {rest}",
            f"+31 (0){area} {rest}",
            f"0031 {area} {rest}",
            f"0{area} - {rest}",
        ]
    return draw(st.sampled_from(forms))


@st.composite
def nl_ibans(draw: st.DrawFn) -> str:
    bank = draw(st.sampled_from(["ABNA", "RABO", "INGB", "SNSB", "TRIO", "ASNB", "KNAB", "BUNQ"]))
    account = "".join(draw(st.lists(st.sampled_from(string.digits), min_size=10, max_size=10)))
    numeric = "".join(str(int(ch, 36)) for ch in f"{bank}{account}NL00")
    check = 98 - int(numeric) % 97
    compact = f"NL{check:02d}{bank}{account}"
    assert iban_module.is_valid(compact)
    form = draw(st.sampled_from(["compact", "grouped", "lower"]))
    if form == "grouped":
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
    return compact.lower() if form == "lower" else compact


@st.composite
def bsns(draw: st.DrawFn) -> str:
    digits = draw(st.lists(st.integers(0, 9), min_size=8, max_size=8))
    digits[0] = digits[0] or 1
    while sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11 == 10:
        digits[7] = (digits[7] + 1) % 10
    last = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
    number = "".join(map(str, digits)) + str(last)
    assert bsn_module.is_valid(number)
    form = draw(st.sampled_from(["plain", "dots", "spaces", "dots2"]))
    if form == "dots":
        return f"{number[:3]}.{number[3:6]}.{number[6:]}"
    if form == "spaces":
        return f"{number[:3]} {number[3:6]} {number[6:]}"
    if form == "dots2":
        return f"{number[:4]}.{number[4:6]}.{number[6:]}"
    return number


@st.composite
def postcodes(draw: st.DrawFn) -> str:
    number = draw(st.integers(1000, 9999))
    letters = "".join(
        draw(st.lists(st.sampled_from(string.ascii_uppercase), min_size=2, max_size=2))
    )
    forms = ["{n} {l}", "{n}{l}"]
    if letters.lower() not in UNITS:  # "1500km" without an address around is a distance
        forms.append("{n}{ll}")
    form = draw(st.sampled_from(forms))
    return form.format(n=number, l=letters, ll=letters.lower())


def _never_survives(anonymiser: Anonymiser, template: str, value: str) -> None:
    text = template.format(v=value)
    out = anonymiser.anonymise(text).text
    assert value not in out, (template, value, out)
    compact = "".join(value.split())
    assert compact not in "".join(out.split()), (template, value, out)


@SETTINGS
@given(value=emails(), template=st.sampled_from(TEMPLATES))
def test_emails_never_survive(anonymiser: Anonymiser, value: str, template: str) -> None:
    _never_survives(anonymiser, template, value)


@SETTINGS
@given(value=urls(), template=st.sampled_from(TEMPLATES))
def test_urls_never_survive(anonymiser: Anonymiser, value: str, template: str) -> None:
    _never_survives(anonymiser, template, value)


@SETTINGS
@given(value=nl_phones(), template=st.sampled_from(TEMPLATES))
def test_phones_never_survive(anonymiser: Anonymiser, value: str, template: str) -> None:
    _never_survives(anonymiser, template, value)


@SETTINGS
@given(value=nl_ibans(), template=st.sampled_from(TEMPLATES))
def test_ibans_never_survive(anonymiser: Anonymiser, value: str, template: str) -> None:
    _never_survives(anonymiser, template, value)


@SETTINGS
@given(value=bsns(), template=st.sampled_from(TEMPLATES))
def test_bsns_never_survive(anonymiser: Anonymiser, value: str, template: str) -> None:
    _never_survives(anonymiser, template, value)


@SETTINGS
@given(value=postcodes(), template=st.sampled_from(TEMPLATES))
def test_postcodes_never_survive(anonymiser: Anonymiser, value: str, template: str) -> None:
    _never_survives(anonymiser, template, value)


UNITS = {"km", "kg", "mg", "ml", "cm", "mm", "gb", "mb", "kb", "tb", "hz"}
PLAIN = [
    "Ik wil graag sparren over mijn loopbaan en mijn volgende stap.",
    "Werk is voor mij meer dan geld; ik zoek betekenis.",
    "I would like to talk about leadership and balance.",
    "Mijn vraag is hoe ik beter grenzen kan stellen op het werk.",
    "Liefst online, op maandag of woensdag, tussen negen en vijf.",
]


@SETTINGS
@given(sentences=st.lists(st.sampled_from(PLAIN), min_size=1, max_size=4))
def test_text_without_personal_data_is_unchanged(
    anonymiser: Anonymiser, sentences: list[str]
) -> None:
    text = " ".join(sentences)
    assert anonymiser.anonymise(text).text == text
