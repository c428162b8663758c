"""Generalisation of structured fields for the anonymised broadcast.

Age or birth date -> age band, postcode or city -> province, job title -> field of
work. Pure functions over data shipped in this package (``places_nl.txt`` and the
tables in ``postcodes.py`` and ``work_fields.py``).
"""

from anonymiser.generalise.ages import (
    AGE_BANDS,
    MAX_AGE,
    MIN_AGE,
    age_band,
    age_band_from_birth_date,
)
from anonymiser.generalise.places import province_for_city
from anonymiser.generalise.postcodes import province_for_pc4, province_for_postcode
from anonymiser.generalise.profile import GeneralisedProfile, generalise_profile
from anonymiser.generalise.provinces import Province
from anonymiser.generalise.work_fields import WorkField, field_of_work

__all__ = [
    "AGE_BANDS",
    "MAX_AGE",
    "MIN_AGE",
    "GeneralisedProfile",
    "Province",
    "WorkField",
    "age_band",
    "age_band_from_birth_date",
    "field_of_work",
    "generalise_profile",
    "province_for_city",
    "province_for_pc4",
    "province_for_postcode",
]
