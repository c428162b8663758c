"""E-mail addresses with any top-level domain, and the usual obfuscated forms."""

from __future__ import annotations

import re

from anonymiser.text.findings import Finding

_PLAIN = re.compile(r"(?<![\w.+'-])[\w.+'-]*\w@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")
_LOCAL = r"(?<![\w.])[\w.+-]*\w"
_AT_MARKED = r"\s*(?:[\[({<]\s*(?:at|@|apenstaartje)\s*[\])}>]|\bapenstaartje\b)\s*"
_DOT_ANY = r"(?:\s*[\[({<]\s*(?:dot|punt|\.)\s*[\])}>]\s*|\s+(?:dot|punt)\s+|\.)"
_DOT_WORD = r"(?:\s*[\[({<]\s*(?:dot|punt|\.)\s*[\])}>]\s*|\s+(?:dot|punt)\s+)"
_TLD = r"[^\W\d_]{2,}\b"
# "naam [at] domein [dot] nl", "naam apenstaartje gmail punt com", "naam(at)domein.nl"
_MARKED = re.compile(
    rf"{_LOCAL}{_AT_MARKED}[\w-]+(?:{_DOT_ANY}[\w-]+)*?{_DOT_ANY}{_TLD}", re.IGNORECASE
)
# "naam at gmail dot com": a bare "at" only counts with a spelled-out dot
_SPELLED = re.compile(
    rf"{_LOCAL}\s+at\s+[\w-]+(?:{_DOT_ANY}[\w-]+)*?{_DOT_WORD}{_TLD}", re.IGNORECASE
)
_HINT = re.compile(r"apenstaartje|\W(?:at|dot|punt)\W", re.IGNORECASE)


def find(text: str) -> list[Finding]:
    found = [Finding("email", m.start(), m.end()) for m in _PLAIN.finditer(text)]
    if _HINT.search(text) is not None:
        for pattern in (_MARKED, _SPELLED):
            found += [Finding("email", m.start(), m.end()) for m in pattern.finditer(text)]
    return found
