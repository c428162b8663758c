"""deduce, built from a trimmed copy of its lookup lists in a cache folder we own.

deduce's default lists cost ~1 GB and ~100 s to build, and its cache check is weak
(version + directory mtimes). We copy the lists, empty the two huge ones
(healthcare institutions, streets), add a few whitelist words, and build the
lookup structures once into ``<cache_dir>/deduce-<version>-<recipe hash>``,
published with an atomic rename. Importing deduce reconfigures the root logger
(DEBUG to stdout) and the warnings filters; both are restored here.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_root = logging.getLogger()
_saved_logging = (list(_root.handlers), _root.level)
_saved_warnings = list(warnings.filters)
import deduce  # noqa: E402
import deduce.annotator  # noqa: E402  (imported lazily otherwise; sets warnings filters)
from deduce import Deduce  # noqa: E402

from anonymiser.text.lexicon import PARTICLES, PUBLIC_FIGURES  # noqa: E402
from anonymiser.text.public_words import KEEP_WORDS  # noqa: E402

_root.handlers[:] = _saved_logging[0]
_root.setLevel(_saved_logging[1])
warnings.filters[:] = _saved_warnings  # type: ignore[index]

RECIPE_VERSION = "2"
# Ordinary words that deduce's name/place lists would otherwise tag (-> lst_stop_word).
EXTRA_WHITELIST: tuple[str, ...] = (
    "baan", "groen", "storm", "my", "lean", "six", "sigma", "green", "belt", "best",
    "agile", "scrum", "master", "coach", "team", "manager", "hoi", "hey", "hallo",
    "dear", "hi", "thanks", "kind", "regards", "bazuin", "mindfulness", "teams", "zoom",
    "born",
)  # fmt: skip
# deduce's own list repeated (the config replaces lists) plus work-experience words.
AGE_POST_PSEUDO: tuple[str, ...] = (
    "aanwezig", "gebruikt", "geleden", "gerookt", "gestaakt", "gestopt", "getrouwd",
    "na", "naar", "nadien", "ervaring", "werkervaring", "werkzaam", "gewerkt", "in",
    "bij", "als", "lang", "getrouwd", "samen", "actief", "werk", "werkte",
)  # fmt: skip
# Annotators whose work our own validated patterns do better (streets: our
# addresses module, which is faster and knows more street-name endings).
_DROP: tuple[tuple[str, str], ...] = (
    ("names", "patient_name"),
    ("institutions", "institution"),
    ("locations", "street_lookup"),
    ("locations", "street_pattern"),
    ("locations", "housenumber"),
    ("locations", "postal_code"),
    ("identifiers", "bsn"),
    ("phone_numbers", "phone"),
    ("email_addresses", "email"),
    ("urls", "url"),
    ("post_processing", "redactor"),
)


@dataclass(frozen=True)
class DeduceSpan:
    """One deduce annotation: its tag and character offsets."""

    tag: str
    start: int
    end: int


def _recipe_key() -> str:
    digest = hashlib.sha256()
    parts = (deduce.__version__, RECIPE_VERSION, *EXTRA_WHITELIST, *PUBLIC_FIGURES)
    parts += _public_words()
    for part in parts:
        digest.update(part.encode("utf-8") + b"\0")
    return digest.hexdigest()[:12]


def _public_words() -> tuple[str, ...]:
    return tuple(sorted(KEEP_WORDS))


def _append(path: Path, words: tuple[str, ...]) -> None:
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    if old and not old.endswith("\n"):
        old += "\n"
    path.write_text(old + "\n".join(words) + "\n", encoding="utf-8")


def _write_trimmed_src(dst: Path) -> None:
    src = Path(deduce.__file__).parent / "data" / "lookup" / "src"
    ignore = shutil.ignore_patterns("__pycache__", "__init__.py", "streets_bag.txt")
    shutil.copytree(src, dst / "src", ignore=ignore)
    lists = dst / "src"
    institutions = lists / "institutions" / "lst_healthcare_institution"
    (institutions / "items.txt").write_text("", encoding="utf-8")
    (institutions / "exceptions.txt").unlink(missing_ok=True)
    (institutions / "transform.json").unlink(missing_ok=True)
    street = lists / "locations" / "lst_street"
    (street / "items.txt").write_text("", encoding="utf-8")
    (street / "transform.json").unlink(missing_ok=True)
    whitelist = lists / "whitelist"
    _append(whitelist / "lst_stop_word" / "items.txt", EXTRA_WHITELIST + _public_words())
    _append(whitelist / "lst_common_word" / "exceptions.txt", ("leiden",))
    _append(whitelist / "lst_eponymous_disease" / "items.txt", PUBLIC_FIGURES)


def lookup_dir(cache_dir: Path) -> Path:
    """Where the trimmed lists and built structures live for this deduce + recipe."""
    return cache_dir / f"deduce-{deduce.__version__}-{_recipe_key()}"


def ensure_lookup_dir(cache_dir: Path) -> Path:
    """Build the trimmed lookup structures once (~3 s); later calls only check a file."""
    target = lookup_dir(cache_dir)
    if (target / "cache" / "lookup_structs.pickle").is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=cache_dir))
    try:
        _write_trimmed_src(tmp)
        Deduce(lookup_data_path=str(tmp), cache_path=str(tmp), build_lookup_structs=True)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "cache" / "lookup_structs.pickle").is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


class DeduceEngine:
    """A configured deduce instance that returns bare annotations."""

    def __init__(self, cache_dir: Path) -> None:
        path = ensure_lookup_dir(cache_dir)
        config: dict[str, Any] = {
            "annotators": {"age": {"args": {"post_pseudo": list(AGE_POST_PSEUDO)}}}
        }
        self._deduce = Deduce(lookup_data_path=str(path), cache_path=str(path), config=config)
        for group, name in _DROP:
            self._deduce.processors[group].remove_processor(name)
        structs = self._deduce.lookup_structs
        self.whitelist: frozenset[str] = frozenset(structs["whitelist"].items())
        self.prefixes: frozenset[str] = frozenset(
            item.lower().rstrip(".") for item in structs["prefix"].items()
        )
        self.interfixes: frozenset[str] = frozenset(
            item.lower() for item in structs["interfix"].items()
        )
        self.first_names = _first_tokens(structs["first_name"])
        self.surnames = _first_tokens(structs["surname"])
        self.places = _first_tokens(structs["placename"])
        self.particle_places = _particle_pairs(structs["placename"])

    def annotate(self, text: str) -> list[DeduceSpan]:
        doc = self._deduce.deidentify(text)
        return [DeduceSpan(a.tag, a.start_char, a.end_char) for a in doc.annotations]


def _first_tokens(trie: Any) -> dict[str, str]:
    """Lower-case first token of every entry -> its usual capitalisation."""
    cased: dict[str, str] = {}
    for token in trie.children:
        if not token[:1].isupper():
            continue
        key = token.lower()
        known = cased.get(key)
        if known is None or (known.isupper() and not token.isupper()):
            cased[key] = token
    return cased


def _particle_pairs(trie: Any) -> dict[str, str]:
    """Places that start with a particle ("Den Haag", "Ter Heijde"): 'den haag' -> 'Den Haag'."""
    pairs: dict[str, str] = {}
    for token, child in trie.children.items():
        if token.lower() not in PARTICLES or not token[:1].isupper():
            continue
        for second in child.children:
            if second[:1].isupper() and not second.isupper():
                pairs.setdefault(f"{token.lower()} {second.lower()}", f"{token} {second}")
    return pairs
