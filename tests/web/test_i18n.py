"""The catalogs are complete and consistent; language negotiation; small pure helpers."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from hypothesis import given
from hypothesis import strategies as st

from web import i18n
from web.controllers.forms import safe_next
from web.csrf import FormTokens

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _extracted() -> set[str]:
    """Every msgid in the templates and the web code, as babel extraction finds them."""
    method_map = [("templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(WEB), method_map=method_map, options_map=options
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalog(language: str) -> dict[str, object]:
    path = WEB / "locales" / language / "LC_MESSAGES" / "messages.po"
    catalog = read_po(io.BytesIO(path.read_bytes()), locale=language)
    return {(m.id if isinstance(m.id, str) else m.id[0]): m.string for m in catalog if m.id}


def test_every_message_has_a_dutch_translation() -> None:
    extracted = _extracted()
    assert len(extracted) > 50
    dutch = _catalog("nl")
    missing = sorted(m for m in extracted if not dutch.get(m))
    assert not missing, f"untranslated in nl: {missing}"


def test_the_catalogs_hold_no_stale_messages() -> None:
    extracted = _extracted()
    for language in i18n.LANGUAGES:
        stale = sorted(set(_catalog(language)) - extracted)
        assert not stale, f"{language} catalog has messages no code uses: {stale}"


def test_placeholders_survive_translation() -> None:
    for msgid, msgstr in _catalog("nl").items():
        translations = msgstr if isinstance(msgstr, tuple) else (msgstr,)
        for text in translations:
            assert sorted(PLACEHOLDER.findall(str(text))) == sorted(PLACEHOLDER.findall(msgid))


def test_catalogs_compile_in_memory() -> None:
    catalogs = i18n.catalogs()
    assert catalogs["nl"].gettext("Log in") == "Inloggen"
    assert catalogs["en"].gettext("Log in") == "Log in"
    assert not list((WEB / "locales").rglob("*.mo"))


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        (None, None, "nl"),
        (None, "", "nl"),
        (None, "en", "en"),
        (None, "en-US,en;q=0.9,nl;q=0.8", "en"),
        (None, "nl-BE,en;q=0.5", "nl"),
        (None, "en;q=0.2,nl;q=0.9", "nl"),
        (None, "de,fr", "nl"),
        (None, "en;q=0", "nl"),
        (None, "en;q=abc", "nl"),
        ("en", "nl", "en"),
        ("xx", "en", "en"),
    ],
)
def test_negotiate(cookie: str | None, header: str | None, expected: str) -> None:
    assert i18n.negotiate(cookie, header) == expected


@given(st.text(max_size=200), st.one_of(st.none(), st.text(max_size=10)))
def test_negotiate_always_answers_a_supported_language(header: str, cookie: str | None) -> None:
    assert i18n.negotiate(cookie, header) in i18n.LANGUAGES


@given(st.text(max_size=100))
def test_safe_next_never_leaves_the_site(target: str) -> None:
    result = safe_next(target)
    assert result.startswith("/")
    assert not result.startswith(("//", "/\\"))
    assert "\n" not in result and "\r" not in result


KEY = bytes(range(32))


def test_form_tokens_round_trip_and_expire() -> None:
    tokens = FormTokens(KEY)
    token = tokens.issue(now=1_000_000)
    assert tokens.valid(token, now=1_000_000)
    assert tokens.valid(token, now=1_000_000 + 7200)
    assert not tokens.valid(token, now=1_000_000 + 7201)
    assert not tokens.valid(token, now=1_000_000 - 3600)  # from the future
    assert not FormTokens(bytes(32)).valid(token, now=1_000_000)  # another key
    assert tokens.issue(now=1) != tokens.issue(now=1)  # a nonce in each


@given(st.binary(min_size=1, max_size=64), st.integers(min_value=0, max_value=2**32))
def test_a_tampered_form_token_is_refused(flip: bytes, position: int) -> None:
    tokens = FormTokens(KEY)
    raw = bytearray(tokens.issue(now=1_000_000).encode())
    index = position % len(raw)
    original = raw[index]
    raw[index] = flip[0] if flip[0] != original else (original + 1) % 256
    try:
        tampered = raw.decode()
    except UnicodeDecodeError:
        return
    # base64 may decode two spellings alike only in the unused bits of the last data
    # character (the one before any "=" padding) or in the padding itself.
    if index >= len(raw.rstrip(b"=")) - 1:
        return
    assert not tokens.valid(tampered, now=1_000_000)


@given(st.text(max_size=120))
def test_random_strings_are_not_form_tokens(text: str) -> None:
    assert not FormTokens(KEY).valid(text, now=1_000_000)
