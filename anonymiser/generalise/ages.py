"""Age and date of birth -> a coarse age band for the broadcast."""

from __future__ import annotations

from datetime import date

MIN_AGE = 16
MAX_AGE = 120

# (lowest age, label); each band runs up to the next band's lowest age minus one.
_BANDS: tuple[tuple[int, str], ...] = (
    (16, "16-17"),
    (18, "18-24"),
    (25, "25-34"),
    (35, "35-44"),
    (45, "45-54"),
    (55, "55-64"),
    (65, "65+"),
)

AGE_BANDS: tuple[str, ...] = tuple(label for _, label in _BANDS)


def age_band(age: int) -> str:
    """The band holding ``age``; ValueError outside 16..120 (no band for children)."""
    if isinstance(age, bool) or not isinstance(age, int):
        raise TypeError("age must be an int")
    if age < MIN_AGE or age > MAX_AGE:
        raise ValueError(f"age must be between {MIN_AGE} and {MAX_AGE}")
    label = _BANDS[0][1]
    for lowest, band in _BANDS:
        if age >= lowest:
            label = band
    return label


def age_on(birth: date, today: date) -> int:
    """Whole years between ``birth`` and ``today`` (29 February counts from 1 March)."""
    years = today.year - birth.year
    if (today.month, today.day) < (birth.month, birth.day):
        years -= 1
    return years


def age_band_from_birth_date(birth: date, today: date) -> str:
    """The band of the age on ``today``; ValueError for a future date or an age outside 16..120."""
    if birth > today:
        raise ValueError("birth date lies in the future")
    return age_band(age_on(birth, today))
