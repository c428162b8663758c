"""Languages: Dutch first, English second.

Source strings (``msgid``) are English, in templates and code; the Dutch
catalog ``web/locales/nl/LC_MESSAGES/messages.po`` translates them, and the
English one may stay empty (an untranslated message shows its ``msgid``). The
``.po`` files are compiled in memory at start-up, so no ``.mo`` file is ever
committed or goes stale.

The language of a request: the visitor's explicit choice (the ``lang`` cookie,
set only when they press the language switch; a strictly necessary preference
cookie), else the best match in ``Accept-Language``, else Dutch. The active
language lives in a context variable for the duration of a request, so
templates and error pages rendered anywhere in that request use it.

Mark strings in Python with :func:`N_` where they are defined and translate
them with :func:`gettext` when they are shown. After changing texts, update
the catalogs and fill in the Dutch ``msgstr`` lines (a test fails while a
message lacks its Dutch translation or a catalog holds an unused one)::

    pybabel extract -F web/babel.cfg -o /tmp/messages.pot --no-location --sort-output .
    pybabel update -i /tmp/messages.pot -d web/locales --no-fuzzy-matching --width 100
"""

from __future__ import annotations

import contextvars
import functools
import gettext as gettext_module
import io
from collections.abc import Mapping
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"
LANGUAGE_NAMES = {"nl": "Nederlands", "en": "English"}
LANGUAGE_COOKIE = "lang"
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600
LOCALE_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"

_active: contextvars.ContextVar[str] = contextvars.ContextVar("language", default=DEFAULT_LANGUAGE)


def N_(message: str) -> str:
    """Mark a string for translation without translating it yet."""
    return message


def compile_catalog(po_file: Path) -> gettext_module.GNUTranslations:
    """Read one ``.po`` file and compile it in memory."""
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=po_file.parent.parent.name, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext_module.GNUTranslations(buffer)


@functools.cache
def catalogs(locale_dir: Path = LOCALE_DIR) -> Mapping[str, gettext_module.NullTranslations]:
    """Every language's translations (loaded once)."""
    loaded: dict[str, gettext_module.NullTranslations] = {}
    for language in LANGUAGES:
        po_file = locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        loaded[language] = (
            compile_catalog(po_file) if po_file.is_file() else gettext_module.NullTranslations()
        )
    return loaded


def activate(language: str) -> None:
    """Use ``language`` for the rest of the current request."""
    _active.set(language if language in LANGUAGES else DEFAULT_LANGUAGE)


def active_language() -> str:
    return _active.get()


def gettext(message: str) -> str:
    return catalogs()[_active.get()].gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return catalogs()[_active.get()].ngettext(singular, plural, n)


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    """Explicit choice, else the best ``Accept-Language`` match, else Dutch."""
    if cookie in LANGUAGES:
        return cookie
    return best_accepted(accept_language or "") or DEFAULT_LANGUAGE


def best_accepted(header: str) -> str | None:
    """The supported language with the highest ``q`` in an ``Accept-Language`` header."""
    best: tuple[float, int, str] | None = None
    for position, item in enumerate(header.split(",")[:32]):
        tag, _, params = item.strip().partition(";")
        language = tag.strip().lower().split("-")[0]
        if language not in LANGUAGES:
            continue
        quality = _quality(params)
        if quality <= 0:
            continue
        candidate = (quality, -position, language)
        if best is None or candidate > best:
            best = candidate
    return None if best is None else best[2]


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip() == "q":
            try:
                return max(0.0, min(1.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0
