"""Postcode and city -> province."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anonymiser.generalise import (
    Province,
    province_for_city,
    province_for_pc4,
    province_for_postcode,
)
from anonymiser.generalise.postcodes import RANGES

P = Province


def test_ranges_cover_1000_to_9999_without_gaps() -> None:
    assert RANGES[0][0] == 1000 and RANGES[-1][1] == 9999
    for (_, last, _), (first, _, _) in itertools.pairwise(RANGES):
        assert first == last + 1
    assert all(first <= last for first, last, _ in RANGES)
    assert {province for _, _, province in RANGES} == set(Province)


@pytest.mark.parametrize(
    ("postcode", "province"),
    [
        ("1000 AA", P.NOORD_HOLLAND),
        ("1299", P.NOORD_HOLLAND),
        ("1300", P.FLEVOLAND),
        ("1379", P.FLEVOLAND),
        ("1380", P.NOORD_HOLLAND),
        ("2158", P.NOORD_HOLLAND),
        ("2159", P.ZUID_HOLLAND),
        ("3399", P.ZUID_HOLLAND),
        ("3400", P.UTRECHT),
        ("3511 AB", P.UTRECHT),
        ("3890", P.FLEVOLAND),
        ("4299", P.NOORD_BRABANT),
        ("4300", P.ZEELAND),
        ("4599", P.ZEELAND),
        ("4600", P.NOORD_BRABANT),
        ("5211", P.NOORD_BRABANT),
        ("5300", P.GELDERLAND),
        ("5611", P.NOORD_BRABANT),
        ("6211", P.LIMBURG),
        ("6500", P.GELDERLAND),
        ("6811", P.GELDERLAND),
        ("7411", P.OVERIJSSEL),
        ("7811", P.DRENTHE),
        ("8011", P.OVERIJSSEL),
        ("8200", P.FLEVOLAND),
        ("8911", P.FRYSLAN),
        ("9299", P.FRYSLAN),
        ("9300", P.DRENTHE),
        ("9711", P.GRONINGEN),
        ("9999 XL", P.GRONINGEN),
    ],
)
def test_postcode_range_edges(postcode: str, province: Province) -> None:
    assert province_for_postcode(postcode) is province


@pytest.mark.parametrize("spelling", ["3511AB", "3511 ab", " 3511  AB ", "3511"])
def test_postcode_spellings(spelling: str) -> None:
    assert province_for_postcode(spelling) is P.UTRECHT


@pytest.mark.parametrize("value", ["", "0999 AA", "123 AB", "12345", "AB 1234", "1234 A", "B-1000"])
def test_not_a_dutch_postcode(value: str) -> None:
    assert province_for_postcode(value) is None


@given(st.integers(min_value=1000, max_value=9999))
def test_every_pc4_has_a_province(number: int) -> None:
    assert province_for_pc4(number) in set(Province)


@pytest.mark.parametrize(
    ("city", "province"),
    [
        ("Amsterdam", P.NOORD_HOLLAND),
        ("amsterdam", P.NOORD_HOLLAND),
        ("Den Haag", P.ZUID_HOLLAND),
        ("'s-Gravenhage", P.ZUID_HOLLAND),
        ("s-Gravenhage", P.ZUID_HOLLAND),
        ("The Hague", P.ZUID_HOLLAND),
        ("'s-Hertogenbosch", P.NOORD_BRABANT),
        ("Den Bosch", P.NOORD_BRABANT),
        ("den bosch", P.NOORD_BRABANT),
        ("\u2019s-Hertogenbosch", P.NOORD_BRABANT),
        ("Leiden", P.ZUID_HOLLAND),
        ("Heel", P.LIMBURG),
        ("Best", P.NOORD_BRABANT),
        ("Súdwest-Fryslân", P.FRYSLAN),
        ("sudwest fryslan", P.FRYSLAN),
        ("Ljouwert", P.FRYSLAN),
        ("Almere", P.FLEVOLAND),
        ("Zwolle", P.OVERIJSSEL),
        ("Emmen", P.DRENTHE),
        ("Groningen", P.GRONINGEN),
        ("Middelburg", P.ZEELAND),
        ("Maastricht", P.LIMBURG),
        ("Nijmegen", P.GELDERLAND),
        ("Zeist", P.UTRECHT),
        ("IJmuiden", P.NOORD_HOLLAND),
        ("ijsselstein", P.UTRECHT),
        ("Hoofddorp", P.NOORD_HOLLAND),
        ("Gemeente Utrecht", P.UTRECHT),
        ("Amsterdam-Noord", P.NOORD_HOLLAND),
        ("Rotterdam Zuid", P.ZUID_HOLLAND),
    ],
)
def test_city(city: str, province: Province) -> None:
    assert province_for_city(city) is province


def test_ambiguous_names_need_a_qualifier() -> None:
    assert province_for_city("Bergen") is None  # Noord-Holland and Limburg
    assert province_for_city("Bergen (NH.)") is P.NOORD_HOLLAND
    assert province_for_city("Bergen L") is P.LIMBURG
    assert province_for_city("Hengelo") is P.OVERIJSSEL  # the municipality beats the village
    assert province_for_city("Hengelo (Gld)") is P.GELDERLAND
    assert province_for_city("Driehuis NH") is P.NOORD_HOLLAND


@pytest.mark.parametrize("city", ["", "  ", "Paris", "Manchester", "Atlantis", "Utrecht ZH", "-"])
def test_unknown_city(city: str) -> None:
    assert province_for_city(city) is None


def test_display_names() -> None:
    assert P.NOORD_BRABANT.label == "Noord-Brabant"
    assert P.NOORD_BRABANT.display("en") == "North Brabant"
    assert str(P.FRYSLAN) == "Friesland"
