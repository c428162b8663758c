"""The twelve Dutch provinces, with Dutch and English display names."""

from __future__ import annotations

from enum import Enum


class Province(Enum):
    """A Dutch province; the value is a stable lower-case code."""

    GRONINGEN = "groningen"
    FRYSLAN = "fryslan"
    DRENTHE = "drenthe"
    OVERIJSSEL = "overijssel"
    FLEVOLAND = "flevoland"
    GELDERLAND = "gelderland"
    UTRECHT = "utrecht"
    NOORD_HOLLAND = "noord-holland"
    ZUID_HOLLAND = "zuid-holland"
    ZEELAND = "zeeland"
    NOORD_BRABANT = "noord-brabant"
    LIMBURG = "limburg"

    @property
    def label(self) -> str:
        """Dutch display name (what the coaches read)."""
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _LABELS[self][1]

    def display(self, lang: str = "nl") -> str:
        return self.label_en if lang == "en" else self.label

    def __str__(self) -> str:
        return self.label


_LABELS: dict[Province, tuple[str, str]] = {
    Province.GRONINGEN: ("Groningen", "Groningen"),
    Province.FRYSLAN: ("Friesland", "Friesland"),
    Province.DRENTHE: ("Drenthe", "Drenthe"),
    Province.OVERIJSSEL: ("Overijssel", "Overijssel"),
    Province.FLEVOLAND: ("Flevoland", "Flevoland"),
    Province.GELDERLAND: ("Gelderland", "Gelderland"),
    Province.UTRECHT: ("Utrecht", "Utrecht"),
    Province.NOORD_HOLLAND: ("Noord-Holland", "North Holland"),
    Province.ZUID_HOLLAND: ("Zuid-Holland", "South Holland"),
    Province.ZEELAND: ("Zeeland", "Zeeland"),
    Province.NOORD_BRABANT: ("Noord-Brabant", "North Brabant"),
    Province.LIMBURG: ("Limburg", "Limburg"),
}

# Abbreviations used after a place name ("Bergen (NH.)", "Hengelo Gld", "Driehuis NH"),
# and as section keys in places_nl.txt.
ABBREVIATIONS: dict[str, Province] = {
    "gr": Province.GRONINGEN,
    "gn": Province.GRONINGEN,
    "gron": Province.GRONINGEN,
    "fr": Province.FRYSLAN,
    "fryslan": Province.FRYSLAN,
    "friesland": Province.FRYSLAN,
    "dr": Province.DRENTHE,
    "dre": Province.DRENTHE,
    "ov": Province.OVERIJSSEL,
    "o": Province.OVERIJSSEL,
    "ovl": Province.OVERIJSSEL,
    "fl": Province.FLEVOLAND,
    "fld": Province.FLEVOLAND,
    "flevo": Province.FLEVOLAND,
    "gld": Province.GELDERLAND,
    "gl": Province.GELDERLAND,
    "gel": Province.GELDERLAND,
    "g": Province.GELDERLAND,
    "u": Province.UTRECHT,
    "ut": Province.UTRECHT,
    "utr": Province.UTRECHT,
    "nh": Province.NOORD_HOLLAND,
    "zh": Province.ZUID_HOLLAND,
    "z": Province.ZEELAND,
    "zl": Province.ZEELAND,
    "zld": Province.ZEELAND,
    "nb": Province.NOORD_BRABANT,
    "nbr": Province.NOORD_BRABANT,
    "l": Province.LIMBURG,
    "lb": Province.LIMBURG,
    "li": Province.LIMBURG,
    "lim": Province.LIMBURG,
}
