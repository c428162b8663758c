"""URLs (any top-level domain, with or without scheme) and social-media handles."""

from __future__ import annotations

import re

from anonymiser.text.findings import Finding

_TRAILING = ".,;:!?)]}'\""
# scheme or www.: any top-level domain, anything up to white space
_EXPLICIT = re.compile(r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"]+", re.IGNORECASE)
# bare host with a path: linkedin.com/in/..., github.com/naam
_WITH_PATH = re.compile(r"(?<![\w@.])(?:[a-z0-9-]+\.)+[a-z]{2,}/[^\s<>\"]*", re.IGNORECASE)
# bare host without path: only with a top-level domain that is commonly used
_COMMON_TLDS = (
    "com|net|org|info|biz|io|co|me|tv|app|dev|design|tech|online|site|blog|nl|be|de|"
    "eu|uk|fr|es|it|ch|at|dk|se|no|fi|pl|pt|ie|us|ca|au|frl|amsterdam|page|studio|"
    "nu|xyz|ai|art|photo|photography|email|cloud|shop|store|website|works|agency|"
    "consulting|coach|training|academy|care|life|live|world|email"
)
_BARE = re.compile(
    rf"(?<![\w@./-])(?:[a-z0-9][a-z0-9-]*\.)+(?:{_COMMON_TLDS})\b(?![.@-]?\w)",
    re.IGNORECASE,
)
_HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_](?:[A-Za-z0-9_.]*[A-Za-z0-9_])?")


def find(text: str) -> list[Finding]:
    found: list[Finding] = []
    for pattern in (_EXPLICIT, _WITH_PATH, _BARE):
        for m in pattern.finditer(text):
            end = m.end()
            while end > m.start() and text[end - 1] in _TRAILING:
                end -= 1
            if end - m.start() > 4:
                found.append(Finding("url", m.start(), end))
    if "@" in text:
        found += [Finding("handle", m.start(), m.end()) for m in _HANDLE.finditer(text)]
    return found
