"""Each pitfall listed in issue 3, and sentences phrased unlike the development set."""

from __future__ import annotations

from pathlib import Path

import pytest

from anonymiser.text import (
    PLACEHOLDERS,
    AnonymisedText,
    Anonymiser,
    AnonymiserError,
    CandidateName,
    Finding,
    prepare,
)


def scrub(anonymiser: Anonymiser, text: str, candidate: CandidateName | None = None) -> str:
    return anonymiser.anonymise(text, candidate=candidate).text


def test_lowercase_message_loses_names_and_places(anonymiser: Anonymiser) -> None:
    out = scrub(anonymiser, "ik ben jan de vries uit amsterdam en werk in utrecht.")
    assert "jan" not in out
    assert "vries" not in out
    assert "amsterdam" not in out
    assert "[naam]" in out


@pytest.mark.parametrize(
    "number",
    [
        "+31 6 1234 5678",
        "+31 (0)20 123 4567",
        "0031 6 12345678",
        "06-12345678",
        "(06) 51806677",
        "020 - 123 45 67",
        "+44 20 7946 0958",
        "+32 470 12 34 56",
    ],
)
def test_spaced_and_international_phone_numbers(anonymiser: Anonymiser, number: str) -> None:
    out = scrub(anonymiser, f"Bel me gerust op {number}, liefst na vijven.")
    assert out == "Bel me gerust op [telefoonnummer], liefst na vijven."


@pytest.mark.parametrize(
    "iban", ["NL91ABNA0417164300", "NL91 ABNA 0417 1643 00", "nl91abna0417164300"]
)
def test_iban_compact_spaced_lowercase(anonymiser: Anonymiser, iban: str) -> None:
    result = anonymiser.anonymise(f"Graag terugbetalen op {iban} t.n.v. mij.")
    assert result.text == "Graag terugbetalen op [iban] t.n.v. mij."
    assert [f.type for f in result.findings] == ["iban"]


def test_iban_with_a_wrong_check_is_no_iban(anonymiser: Anonymiser) -> None:
    result = anonymiser.anonymise("Referentie NL91ABNA0417164301 in de bijlage.")
    assert "iban" not in {f.type for f in result.findings}


@pytest.mark.parametrize(
    "bsn", ["111222333", "111.222.333", "111 222 333", "1112.22.333", "6616.66.475"]
)
def test_bsn_with_and_without_separators(anonymiser: Anonymiser, bsn: str) -> None:
    result = anonymiser.anonymise(f"Mijn BSN is {bsn} voor de factuur.")
    assert result.text == "Mijn BSN is [bsn] voor de factuur."


def test_nine_digits_failing_the_eleven_check_are_no_bsn(anonymiser: Anonymiser) -> None:
    result = anonymiser.anonymise("Ordernummer 123456789 is verzonden.")
    assert "bsn" not in {f.type for f in result.findings}


@pytest.mark.parametrize(
    "address",
    [
        "jan@example.io",
        "jan@gmail.de",
        "jan@firma.amsterdam",
        "jan apenstaartje gmail punt com",
        "naam[at]domein[dot]nl",
        "naam (at) domein (dot) nl",
    ],
)
def test_email_with_any_tld_and_obfuscated(anonymiser: Anonymiser, address: str) -> None:
    out = scrub(anonymiser, f"Mail mij op {address} als het kan.")
    assert out == "Mail mij op [e-mailadres] als het kan."


@pytest.mark.parametrize(
    "url",
    ["www.jan.design", "https://jan.dev/x", "linkedin.com/in/jan-jansen-1a2b3c", "http://a.b.eu"],
)
def test_url_with_any_tld(anonymiser: Anonymiser, url: str) -> None:
    assert scrub(anonymiser, f"Zie {url} voor meer.") == "Zie [url] voor meer."


def test_handle(anonymiser: Anonymiser) -> None:
    assert scrub(anonymiser, "Op Instagram ben ik @jan_de.vries92.") == (
        "Op Instagram ben ik [account]."
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ik ben 45 jaar.", "Ik ben [leeftijd] jaar."),
        ("Ik ben 45 en woon hier.", "Ik ben [leeftijd] en woon hier."),
        ("I am 38 years old.", "I am [leeftijd] years old."),
        ("Een 33-jarige collega.", "Een [leeftijd]-jarige collega."),
        (
            "Hoi, ik ben Romy (29) en zoek een coach.",
            "Hoi, ik ben [naam] ([leeftijd]) en zoek een coach.",
        ),
    ],
)
def test_ages_in_dutch_and_english(anonymiser: Anonymiser, text: str, expected: str) -> None:
    assert scrub(anonymiser, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Ik heb 15 jaar ervaring in de zorg.",
        "Mijn vader werkte 40 jaar bij de spoorwegen.",
        "I have 15 years of experience in sales.",
        "Ik werk al 15 jaar in het onderwijs.",
    ],
)
def test_work_experience_is_no_age(anonymiser: Anonymiser, text: str) -> None:
    assert scrub(anonymiser, text) == text


def test_leiden_is_a_place(anonymiser: Anonymiser) -> None:
    assert scrub(anonymiser, "Ik woon in Leiden.") == "Ik woon in [woonplaats]."


def test_ordinary_capitalised_words_and_authors_survive(anonymiser: Anonymiser) -> None:
    text = (
        "Ik zoek een nieuwe Baan. Best lastig. Groen is mijn kleur. Storm is mijn hond. "
        "My goal is clear. Ik las Brené Brown en Simon Sinek en Stephen Covey."
    )
    assert scrub(anonymiser, text) == text


def test_candidate_name_exact_not_fuzzy(anonymiser: Anonymiser) -> None:
    candidate = CandidateName("Mark", "Best")
    text = "Op de Markt was het best druk. Groeten, Mark Best"
    assert scrub(anonymiser, text, candidate) == "Op de Markt was het best druk. Groeten, [naam]"


@pytest.mark.parametrize(
    "spelling",
    [
        "Sophie van der Meer",
        "sophie van der meer",
        "S. van der Meer",
        "S.M. van der Meer",
        "Van der Meer",
        "Sophie Meer",
        "SOPHIE",
    ],
)
def test_candidate_name_in_every_spelling(anonymiser: Anonymiser, spelling: str) -> None:
    candidate = CandidateName("Sophie", "van der Meer")
    out = scrub(anonymiser, f"Dit schrijft {spelling} vandaag.", candidate)
    assert "Sophie" not in out
    assert "Meer" not in out
    assert "meer" not in out.replace("[naam]", "")


def test_candidate_name_with_diacritics_folded(anonymiser: Anonymiser) -> None:
    candidate = CandidateName("Chloë", "Y\u0131lmaz")
    out = scrub(anonymiser, "Dit is van Chloe Yilmaz, mijn CHLOË-account.", candidate)
    assert "Chlo" not in out
    assert "CHLO" not in out
    assert "Yilmaz" not in out


def test_sentence_without_personal_data_is_unchanged(anonymiser: Anonymiser) -> None:
    text = "Ik zoek een coach die mij helpt kiezen tussen het onderwijs en de zorg."
    result = anonymiser.anonymise(text)
    assert result == AnonymisedText(text, ())


def test_findings_point_into_the_original(anonymiser: Anonymiser) -> None:
    text = "Mail jan@example.io of bel 06-12345678."
    result = anonymiser.anonymise(text)
    assert [text[f.start : f.end] for f in result.findings] == ["jan@example.io", "06-12345678"]
    assert result.findings[0] == Finding("email", 5, 19)


def test_english_placeholders(anonymiser: Anonymiser) -> None:
    out = anonymiser.anonymise("Mail jan@example.io", placeholders="en").text
    assert out == "Mail [email]"
    assert set(PLACEHOLDERS["nl"]) == set(PLACEHOLDERS["en"])


def test_failure_inside_raises_anonymiser_error(anonymiser: Anonymiser) -> None:
    with pytest.raises(AnonymiserError) as info:
        anonymiser.anonymise(None)  # type: ignore[arg-type]
    assert "None" not in str(info.value)


def test_failure_message_does_not_carry_the_text(
    anonymiser: Anonymiser, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "Jan Geheim 06-12345678"

    def broken(text: str) -> list[object]:
        raise ValueError(text)

    monkeypatch.setattr(anonymiser._engine, "annotate", broken)
    with pytest.raises(AnonymiserError) as info:
        anonymiser.anonymise(secret)
    assert secret not in str(info.value)
    assert info.value.__cause__ is None


def test_unwritable_cache_raises_anonymiser_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(AnonymiserError):
        Anonymiser.load(blocker / "cache")
    with pytest.raises(AnonymiserError):
        prepare(blocker / "cache")


def test_prepare_reuses_the_built_cache(text_cache_dir: Path, anonymiser: Anonymiser) -> None:
    first = prepare(text_cache_dir)
    assert (first / "cache" / "lookup_structs.pickle").is_file()
    assert prepare(text_cache_dir) == first
