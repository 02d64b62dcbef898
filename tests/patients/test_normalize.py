from __future__ import annotations

import datetime as dt

import pytest
from stdnum.fr import nir as stdnum_nir

from patients.normalize import (
    date_key,
    name_key,
    nir_compact,
    normalize_email,
    normalize_nir,
    normalize_phone,
    parse_date,
    person_key,
    person_material,
)


def _with_key(first13: str) -> str:
    """A NIR with its right mod-97 key, computed by python-stdnum itself."""
    return first13 + stdnum_nir.calc_check_digits(first13)


def test_a_nir_written_with_spaces_or_dots_normalises_to_one_compact_form():
    # given one NIR written three ways
    nir = _with_key("2530735238004")
    spaced = f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"
    dotted = f"{nir[0]}.{nir[1:3]}.{nir[3:5]}.{nir[5:7]}.{nir[7:10]}.{nir[10:13]}.{nir[13:]}"
    # when normalised / then they match and are valid
    assert {normalize_nir(v).compact for v in (nir, spaced, dotted)} == {nir}
    assert normalize_nir(spaced).valid is True


def test_a_nir_with_a_wrong_key_is_kept_but_marked_invalid():
    # given a NIR whose key is off by one
    nir = _with_key("1850275123456")
    wrong = nir[:13] + f"{(int(nir[13:]) % 97) + 1:02d}"
    # when normalised
    result = normalize_nir(wrong)
    # then it is not valid but still usable for matching
    assert result.valid is False
    assert result.compact == wrong


@pytest.mark.parametrize("department", ["2A", "2B", "2a", "2b"])
def test_corsican_nirs_are_upper_cased_and_validated_with_their_own_key_rule(department):
    # given a NIR born in Corsica with its key computed the 2A→19 / 2B→18 way (stdnum)
    first13 = f"17805{department.upper()}004012"
    nir = _with_key(first13)
    written = nir[:5] + department + nir[7:]
    # when normalised
    result = normalize_nir(written)
    # then the département is upper-case and the key checks
    assert result.compact == nir
    assert result.valid is True


def test_a_masked_nir_shows_only_sex_birth_year_and_key():
    # given a valid NIR
    nir = _with_key("2530735238004")
    # when masked
    masked = normalize_nir(nir).masked
    # then only the first three digits and the key are readable
    assert masked == f"2 53 •• •• ••• ••• {nir[13:]}"
    assert nir[3:13] not in masked.replace(" ", "")


def test_an_empty_nir_is_none_and_noise_only_is_none_too():
    # given / when / then
    assert normalize_nir("") is None
    assert normalize_nir(" . ") is None
    assert nir_compact(" 1.85 ") == "185"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("02 99 12 34 56", "+33299123456"),
        ("06.12.34.56.78", "+33612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0033612345678", "+33612345678"),
        ("+33 (0)6 12 34 56 78", "+33612345678"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phones_are_normalised_to_e164(raw, expected):
    # given a phone as leaked / when normalised / then E.164
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", ["", "n/a", "12", "06 12", "00 00 00 00 00 00 00"])
def test_unusable_phones_give_none(raw):
    # given garbage / when normalised / then no number
    assert normalize_phone(raw) is None


def test_emails_are_validated_and_lower_cased():
    # given leaked emails, good and bad
    # when normalised / then good ones are lower-cased, bad ones dropped
    assert normalize_email("  Jean.Dupont@Example.ORG ") == "jean.dupont@example.org"
    assert normalize_email("jean.dupont@") is None
    assert normalize_email("n/a") is None
    assert normalize_email("a b@example.org") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("17/05/1970", dt.date(1970, 5, 17)),
        ("1970-05-17", dt.date(1970, 5, 17)),
        ("17/05/70", dt.date(1970, 5, 17)),
        ("03/01/15", dt.date(2015, 1, 3)),
        (" 17.05.1970 ", dt.date(1970, 5, 17)),
        ("1970-05-17 00:00:00", dt.date(1970, 5, 17)),
    ],
)
def test_dates_in_the_leaks_formats_parse(raw, expected):
    # given a date as leaked / when parsed (two-digit years pivot on 2026) / then the calendar date
    assert parse_date(raw, pivot_year=2026) == expected


@pytest.mark.parametrize("raw", ["31/02/1980", "00/00/0000", "hier", "", "1980", "12/13/1980"])
def test_impossible_dates_give_none(raw):
    # given an impossible date / when parsed / then None (the importer flags it)
    assert parse_date(raw, pivot_year=2026) is None


def test_one_date_in_three_formats_gives_one_key_even_when_impossible():
    # given / when / then
    assert date_key("05/03/1952") == date_key("1952-03-05") == date_key("05/03/52")
    assert date_key("31/02/1980") == date_key("1980-02-31")
    assert date_key("05/03/1952") != date_key("06/03/1952")


def test_names_match_whatever_their_case_accents_spaces_and_hyphens():
    # given / when / then
    assert name_key("Le Goff-Hélène") == name_key("LE GOFF HELENE") == name_key("le  goff helene")
    assert name_key("Éloïse") == "ELOISE"


def test_person_key_is_keyed_and_depends_on_nir_and_birth_date_only():
    # given the same NIR written two ways, with the same birth date in two formats
    nir = _with_key("2530735238004")
    a = person_material(nir_compact_=nir, last_name="Martin", first_name="Anne", birth_date_raw="05/07/1953")
    b = person_material(
        nir_compact_=nir_compact(f"{nir[:5]} {nir[5:]}"),
        last_name="MARTIN-X",
        first_name="",
        birth_date_raw="1953-07-05",
    )
    # when keyed
    # then the key is the same person, differs with another secret, and does not contain the NIR
    assert person_key(a, "s1") == person_key(b, "s1")
    assert person_key(a, "s1") != person_key(a, "s2")
    assert nir not in person_key(a, "s1")
    assert len(person_key(a, "s1")) == 64


def test_without_nir_the_person_is_their_names_and_birth_date():
    # given two rows of one person without NIR, and a namesake born another day
    a = person_material(nir_compact_="", last_name="Le Gall", first_name="Aurélie", birth_date_raw="01/02/1990")
    b = person_material(nir_compact_="", last_name="LE GALL", first_name="Aurelie", birth_date_raw="1990-02-01")
    c = person_material(nir_compact_="", last_name="Le Gall", first_name="Aurélie", birth_date_raw="02/02/1990")
    # when / then
    assert a == b
    assert a != c


@pytest.mark.parametrize(
    "raw",
    ["2530735238004", "253073523800412", "2530735238004123", "2 53 07 2A 238 004", "25307XX23800499", "ABC", "1" * 15],
)
def test_nir_validity_agrees_with_stdnum(raw):
    # given odd NIRs, and the right-key version of one / when validated / then as stdnum.fr.nir says
    assert normalize_nir(raw).valid is stdnum_nir.is_valid(raw)
    fixed = _with_key("2530735238004")
    assert normalize_nir(fixed).valid is stdnum_nir.is_valid(fixed) is True
