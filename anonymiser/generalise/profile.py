"""Generalise a candidate's structured fields for the broadcast in one call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from anonymiser.generalise.ages import age_band, age_band_from_birth_date
from anonymiser.generalise.places import province_for_city
from anonymiser.generalise.postcodes import province_for_postcode
from anonymiser.generalise.provinces import Province
from anonymiser.generalise.work_fields import WorkField, field_of_work


@dataclass(frozen=True)
class GeneralisedProfile:
    """What coaches may see instead of the exact values; None where nothing was given
    or nothing could be derived."""

    age_band: str | None = None
    province: Province | None = None
    field_of_work: WorkField | None = None

    def labels(self, lang: str = "nl") -> dict[str, str | None]:
        """Display strings for a template or JSON (province and field in ``lang``)."""
        return {
            "age_band": self.age_band,
            "province": self.province.display(lang) if self.province else None,
            "field_of_work": self.field_of_work.display(lang) if self.field_of_work else None,
        }


def generalise_profile(
    *,
    age: int | None = None,
    birth_date: date | None = None,
    city: str | None = None,
    postcode: str | None = None,
    job_title: str | None = None,
    today: date | None = None,
) -> GeneralisedProfile:
    """Age band (birth date preferred over age), province (postcode preferred over
    city, the city as fallback) and field of work.

    Raises ValueError for an age or birth date outside 16..120 years (or in the
    future): the caller must not broadcast a request for a minor under 16.
    """
    band: str | None = None
    if birth_date is not None:
        band = age_band_from_birth_date(birth_date, today or date.today())
    elif age is not None:
        band = age_band(age)
    province: Province | None = None
    if postcode and postcode.strip():
        province = province_for_postcode(postcode)
    if province is None and city and city.strip():
        province = province_for_city(city)
    field = field_of_work(job_title) if job_title and job_title.strip() else None
    return GeneralisedProfile(age_band=band, province=province, field_of_work=field)
