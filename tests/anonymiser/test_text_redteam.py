"""Gaps a red-team set exposed, phrased in new words: phones, ages, names, places."""

from __future__ import annotations

import pytest

from anonymiser.text import Anonymiser

REMOVED = [
    # an international mobile followed by a two-letter word is one phone, not a postcode
    ("Bereik me via +31 6 9876 5432 of per mail.", ["9876 5432", "5432"]),
    ("Call +44 7700 900123 at noon, or +32 470 12 34 56 to chat.", ["900123", "34 56"]),
    # a '+' number is a phone even when its digits pass the BSN check
    ("Mijn Ierse nummer: +353 86 765 4321, bel gerust.", ["765 4321"]),
    # ages without "jaar"
    ("Hallo, Sanne hier, ben 38 en zoek iets nieuws.", ["38"]),
    ("Is dat op de leeftijd van 57 nog slim?", ["57"]),
    ("Ik ben pas 26 en twijfel.", ["26"]),
    ("Ik word in juni 45, tijd voor iets anders.", ["45"]),
    ("Honestly, I'm 29 and tired.", ["29"]),
    ("A coach, aged 61, wrote back.", ["61"]),
]

KEPT = [
    ("Bel me op 06 1234 5678 en vraag naar de afdeling.", ["afdeling", "en vraag"]),
    ("Ik ben 20 uur per week bezig en loop 15 km per dag.", ["20 uur", "15 km"]),
    ("Ik word over 30 minuten gebeld.", ["30 minuten"]),
    ("I'm 34, a designer.", ["I'm"]),
]


@pytest.mark.parametrize(("text", "values"), REMOVED)
def test_removed(anonymiser: Anonymiser, text: str, values: list[str]) -> None:
    out = anonymiser.anonymise(text).text
    for value in values:
        assert value.lower() not in out.lower(), out


@pytest.mark.parametrize(("text", "words"), KEPT)
def test_kept(anonymiser: Anonymiser, text: str, words: list[str]) -> None:
    out = anonymiser.anonymise(text).text
    for word in words:
        assert word in out, out


NAMED = [
    ("Tot de volgende keer,\n\nMarek", ["Marek"]),
    ("Doei allemaal,\nSjoerd\n", ["Sjoerd"]),
    ("Take care,\nOla", ["Ola"]),
    ("Ik ben Johanna, maar mijn collega's noemen mij Jo. Groet.", ["Jo."]),
    ("Hello there. Friends call me Bex, by the way.", ["Bex"]),
]


@pytest.mark.parametrize(("text", "values"), NAMED)
def test_names(anonymiser: Anonymiser, text: str, values: list[str]) -> None:
    out = anonymiser.anonymise(text).text
    for value in values:
        assert value not in out, out


def test_first_name_short_form(anonymiser: Anonymiser) -> None:
    from anonymiser.text import CandidateName

    text = "Op het werk zegt iedereen gewoon Rob tegen me."
    out = anonymiser.anonymise(text, candidate=CandidateName("Robert", "Dennison")).text
    assert "Rob " not in out, out


PLACES = [
    ("Mijn ouders wonen nog in Keulen, ik zelf niet.", ["Keulen"]),
    ("We vluchtten uit Damascus naar Turkije.", ["Damascus"]),
    ("She was raised in Krakow and studied in Warschau.", ["Krakow", "Warschau"]),
]


@pytest.mark.parametrize(("text", "values"), PLACES)
def test_world_cities(anonymiser: Anonymiser, text: str, values: list[str]) -> None:
    out = anonymiser.anonymise(text).text
    for value in values:
        assert value not in out, out


def test_world_city_needs_place_context() -> None:
    from anonymiser.text.patterns import world_cities

    assert world_cities.find("Een boek over de geschiedenis van Rome en Parijs.") == []
    assert len(world_cities.find("Zij is geboren in Lagos.")) == 1


EMPLOYERS = [
    ("Ik werk bij Bakker Installaties B.V.. Het bevalt goed.", "Bakker Installaties", "Het bevalt"),
    ("Ik kook bij restaurant De Groene Lantaarn in Zwolle.", "restaurant De Groene Lantaarn", ""),
    ("Wijkagent bij Politie Utrecht. Zwaar werk.", "Politie Utrecht", "Zwaar werk"),
    ("Monteur bij Scania Trucks sinds 2010.", "Scania Trucks", "sinds 2010"),
    ("Ik werk bij Gemeente Almere. Mijn baas is fijn.", "Gemeente Almere", "Mijn baas"),
]


@pytest.mark.parametrize(("text", "employer", "kept"), EMPLOYERS)
def test_employer_phrases(anonymiser: Anonymiser, text: str, employer: str, kept: str) -> None:
    result = anonymiser.anonymise(text)
    start = text.index(employer)
    assert any(f.start <= start and start + len(employer) <= f.end for f in result.findings), (
        result.text
    )
    assert kept in result.text, result.text


KEPT_WORDS = [
    "Ik lees nu een roman van Harry Mulisch en luister naar Arjen Lubach.",
    "Zijn boek en de podcast van Esther Perel heb ik verslonden.",
    "I keep rereading Michelle Obama's memoir and Carl Sagan.",
    "Thuis spreken we Arabisch, op het werk Nederlands en Engels.",
    "Ik heb lang in Polen gewoond en nu in Friesland.",
    "I code mostly in Python and Kubernetes these days.",
]


@pytest.mark.parametrize("text", KEPT_WORDS)
def test_public_words_kept(anonymiser: Anonymiser, text: str) -> None:
    assert anonymiser.anonymise(text).text == text


def test_colour_surname_still_a_name(anonymiser: Anonymiser) -> None:
    out = anonymiser.anonymise("Via mijn tandarts, dokter Zwart, kwam ik hier.").text
    assert "Zwart" not in out, out


def test_lowercase_ordinary_words_kept(anonymiser: Anonymiser) -> None:
    text = "hoi, ik zoek een mooie baan in de kunst. het is lastig maar leuk. liefst snel!"
    out = anonymiser.anonymise(text).text
    for word in ("kunst", "lastig", "liefst"):
        assert word in out, out
    english = "i would love a proper job, any day is fine and we could both go for it."
    out = anonymiser.anonymise(english).text
    for word in ("love", "proper", "job", "day", "fine", "both"):
        assert word in out, out


@pytest.mark.parametrize(
    "text",
    [
        "Goedendag,\n\nIk ben IT-beheerder en zoek iets anders.",
        "Wow, that was quick! I'm 41 and curious.",
        "Dear Sir or Madam,\n\nI am looking for a coach.",
    ],
)
def test_not_names(anonymiser: Anonymiser, text: str) -> None:
    out = anonymiser.anonymise(text).text
    assert "[naam]" not in out, out
