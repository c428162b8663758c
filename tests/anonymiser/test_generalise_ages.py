"""Age bands from an age or a birth date."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anonymiser.generalise import AGE_BANDS, age_band, age_band_from_birth_date


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (16, "16-17"),
        (17, "16-17"),
        (18, "18-24"),
        (24, "18-24"),
        (25, "25-34"),
        (34, "25-34"),
        (35, "35-44"),
        (44, "35-44"),
        (45, "45-54"),
        (54, "45-54"),
        (55, "55-64"),
        (64, "55-64"),
        (65, "65+"),
        (120, "65+"),
    ],
)
def test_band_edges(age: int, band: str) -> None:
    assert age_band(age) == band


@pytest.mark.parametrize("age", [-1, 0, 15, 121, 200])
def test_out_of_range_is_refused(age: int) -> None:
    with pytest.raises(ValueError):
        age_band(age)


def test_non_int_is_refused() -> None:
    with pytest.raises(TypeError):
        age_band(True)


@given(st.integers(min_value=16, max_value=120))
def test_every_valid_age_has_a_known_band(age: int) -> None:
    assert age_band(age) in AGE_BANDS


def test_birthday_not_yet_reached_this_year() -> None:
    today = date(2026, 3, 10)
    assert age_band_from_birth_date(date(2001, 3, 11), today) == "18-24"  # 24
    assert age_band_from_birth_date(date(2001, 3, 10), today) == "25-34"  # 25 today


def test_leap_day_birthday() -> None:
    born = date(2004, 2, 29)
    assert age_band_from_birth_date(born, date(2022, 2, 28)) == "16-17"  # still 17
    assert age_band_from_birth_date(born, date(2022, 3, 1)) == "18-24"


def test_birth_date_of_a_child_or_in_the_future_is_refused() -> None:
    today = date(2026, 1, 1)
    with pytest.raises(ValueError):
        age_band_from_birth_date(date(2010, 6, 1), today)
    with pytest.raises(ValueError):
        age_band_from_birth_date(date(2027, 1, 1), today)
