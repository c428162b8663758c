"""Dutch city, town or municipality -> province (data: ``places_nl.txt``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from anonymiser.generalise._fold import fold
from anonymiser.generalise.provinces import ABBREVIATIONS, Province

DATA_FILE = "places_nl.txt"
_RANK = {"municipality": 0, "alias": 0, "place": 1, "province": 2}
_QUALIFIER = re.compile(r"\s*\([^)]*\)\s*$")
_PREFIXES = ("gemeente ", "municipality of ", "stad ", "city of ")


def _province_names() -> dict[str, Province]:
    names = {fold(p.label): p for p in Province} | {fold(p.label_en): p for p in Province}
    return names | {"fryslan": Province.FRYSLAN}


@dataclass(frozen=True)
class _Entry:
    rank: int  # of the best-ranked entries; 0 is a municipality or alias
    best: tuple[Province, ...]  # provinces of the best-ranked entries
    every: frozenset[Province]  # provinces of all entries with this name


@cache
def _table() -> dict[str, _Entry]:
    best: dict[str, tuple[int, set[Province]]] = {}
    every: dict[str, set[Province]] = {}

    def add(name: str, rank: int, province: Province) -> None:
        key = fold(_QUALIFIER.sub("", name))
        if not key:
            return
        every.setdefault(key, set()).add(province)
        current = best.get(key)
        if current is None or rank < current[0]:
            best[key] = (rank, {province})
        elif rank == current[0]:
            current[1].add(province)

    text = resources.files(__package__).joinpath(DATA_FILE).read_text(encoding="utf-8")
    section: tuple[Province, int] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            abbreviation, kind = line[1:].split()
            section = (ABBREVIATIONS[abbreviation], _RANK[kind])
            continue
        if section is None:
            raise ValueError(f"{DATA_FILE}:{number}: entry before the first section")
        add(line, section[1], section[0])
    for name, province in _province_names().items():
        add(name, _RANK["province"], province)
    return {
        key: _Entry(rank, tuple(sorted(provinces, key=lambda p: p.value)), frozenset(every[key]))
        for key, (rank, provinces) in best.items()
    }


def province_for_city(city: str) -> Province | None:
    """The province of a Dutch place or municipality; None when unknown or ambiguous.

    Case, diacritics and punctuation do not matter (``"'s-Hertogenbosch"``, ``"Den
    Bosch"``, ``"den haag"``). A trailing province abbreviation settles ambiguous
    names (``"Bergen NH"``, ``"Hengelo (Gld)"``) and places not in the list
    (``"Driehuis NH"``).
    """
    key = fold(city)
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix) :]
    if not key:
        return None
    table = _table()
    entry = table.get(key)
    if entry is not None:
        return entry.best[0] if len(entry.best) == 1 else None
    head, _, last = key.rpartition(" ")
    qualifier = ABBREVIATIONS.get(last)
    if head and qualifier is not None:
        found = table.get(head)
        return qualifier if found is None or qualifier in found.every else None
    # "Amsterdam-Noord", "Den Haag Centrum": a municipality followed by a district.
    words = key.split()
    for end in range(len(words) - 1, 0, -1):
        entry = table.get(" ".join(words[:end]))
        if entry is not None:
            return entry.best[0] if entry.rank == 0 and len(entry.best) == 1 else None
    return None
