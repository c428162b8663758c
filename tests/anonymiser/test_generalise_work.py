"""Job title -> field of work, and the one-call profile API."""

from __future__ import annotations

from datetime import date

import pytest

from anonymiser.generalise import (
    GeneralisedProfile,
    Province,
    WorkField,
    field_of_work,
    generalise_profile,
)

W = WorkField


@pytest.mark.parametrize(
    ("title", "field"),
    [
        ("Software engineer", W.ICT),
        ("softwareontwikkelaar", W.ICT),
        ("UX designer", W.ICT),
        ("data-analist", W.ICT),
        ("Scrum Master", W.ICT),
        ("productowner", W.ICT),
        ("Netwerkbeheerder", W.ICT),
        ("verpleegkundige", W.ZORG),
        ("Kinderverpleegkundige", W.ZORG),
        ("nurse", W.ZORG),
        ("bedrijfsarts", W.ZORG),
        ("fysiotherapeut", W.ZORG),
        ("kraamverzorgende", W.ZORG),
        ("docent wiskunde", W.ONDERWIJS),
        ("teacher", W.ONDERWIJS),
        ("ICT-docent", W.ONDERWIJS),
        ("Leraar basisschool", W.ONDERWIJS),
        ("financieel controller", W.FINANCIEN),
        ("Accountant", W.FINANCIEN),
        ("hypotheekadviseur", W.FINANCIEN),
        ("marketingmanager", W.MARKETING_COMMUNICATIE),
        ("Communicatieadviseur", W.MARKETING_COMMUNICATIE),
        ("Monteur", W.TECHNIEK),
        ("Werktuigbouwkundig ingenieur", W.TECHNIEK),
        ("Process engineer", W.TECHNIEK),
        ("juridisch medewerker", W.JURIDISCH),
        ("Advocaat", W.JURIDISCH),
        ("HR-adviseur", W.HR),
        ("recruiter", W.HR),
        ("HR business partner", W.HR),
        ("logistiek planner", W.LOGISTIEK),
        ("Vrachtwagenchauffeur", W.LOGISTIEK),
        ("beleidsmedewerker", W.OVERHEID),
        ("wijkagent", W.OVERHEID),
        ("chef-kok", W.HORECA),
        ("Barista", W.HORECA),
        ("Timmerman", W.BOUW),
        ("Uitvoerder", W.BOUW),
        ("Grafisch ontwerper", W.CREATIEF),
        ("Fotograaf", W.CREATIEF),
        ("consultant", W.CONSULTANCY),
        ("Business analist", W.CONSULTANCY),
        ("senior accountmanager", W.SALES),
        ("Sales engineer", W.SALES),
        ("teamleider klantenservice", W.SALES),
        ("Promovend", W.WETENSCHAP),
        ("onderzoeker", W.WETENSCHAP),
    ],
)
def test_titles(title: str, field: WorkField) -> None:
    assert field_of_work(title) is field


@pytest.mark.parametrize(
    ("title", "field"),
    [  # titles not written with this list in mind: stems and compounds still map
        ("Senior Full Stack Developer", W.ICT),
        ("wijkverpleegkundige", W.ZORG),
        ("Leerkracht groep 7", W.ONDERWIJS),
        ("Salarisadministrateur", W.HR),
        ("Online marketeer", W.MARKETING_COMMUNICATIE),
        ("Magazijnmedewerker", W.LOGISTIEK),
        ("Bouwkundig tekenaar", W.BOUW),
        ("Elektricien", W.TECHNIEK),
    ],
)
def test_unseen_titles(title: str, field: WorkField) -> None:
    assert field_of_work(title) is field


@pytest.mark.parametrize("title", ["", "   ", "projectmanager", "office manager", "teamleider"])
def test_titles_without_a_telling_word(title: str) -> None:
    assert field_of_work(title) is None


def test_labels_in_both_languages() -> None:
    assert W.FINANCIEN.label == "financiën"
    assert W.ZORG.display("en") == "healthcare and social work"
    assert all(field.label and field.label_en for field in WorkField)


def test_profile_in_one_call() -> None:
    profile = generalise_profile(
        birth_date=date(1990, 5, 17),
        city="Den Bosch",
        postcode="3511 AB",
        job_title="verpleegkundige",
        today=date(2026, 1, 1),
    )
    assert profile == GeneralisedProfile("35-44", Province.UTRECHT, WorkField.ZORG)
    assert profile.labels("en") == {
        "age_band": "35-44",
        "province": "Utrecht",
        "field_of_work": "healthcare and social work",
    }


def test_profile_falls_back_to_city_and_age() -> None:
    profile = generalise_profile(age=29, city="'s-Hertogenbosch", postcode="not a postcode")
    assert profile == GeneralisedProfile("25-34", Province.NOORD_BRABANT, None)


def test_empty_profile() -> None:
    assert generalise_profile() == GeneralisedProfile()
    assert generalise_profile(city="", job_title="").labels() == {
        "age_band": None,
        "province": None,
        "field_of_work": None,
    }


def test_profile_refuses_a_child() -> None:
    with pytest.raises(ValueError):
        generalise_profile(age=14)
