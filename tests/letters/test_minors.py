"""Minors are decided by age on the letter date, from the birth date; the leak's civility is only a hint.

And a guardian's letter never tells whether the child's file held a health remark (a minor may keep some
care secret from their parents: Code de la santé publique, art. L.1111-5).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from letters.content import letter_data_for
from letters.render import render_letter_pdf
from letters.slots import address_lines, variant_key
from patients.categories import Exposure, Sensitive
from patients.models import Patient, minor_on, minors_on
from patients.normalize import age_on
from patients.services import leak_import
from patients.synthetic import leak_generate
from tests.factories import BreachFactory, PatientFactory

from .conftest import ALL_CATEGORIES, pdf_text

pytestmark = pytest.mark.django_db

LETTER_DAY = dt.date(2026, 11, 22)
HEALTH = int(Exposure.IDENTITY | Exposure.POSTAL_ADDRESS | Exposure.MEDICAL_COMMENT)


def _letter(patient, *, sent_on=LETTER_DAY, language="fr", reference="REF-1"):
    return letter_data_for(
        patient=patient,
        reference=reference,
        status_code="TEST-CODE-42",
        verification_phrase="phrase de test",
        language=language,
        sent_on=sent_on,
    )


def test_an_adult_whose_leak_civility_says_enfant_gets_their_own_letter(make_letter):
    # given a patient the leak calls "Enfant", born in 2004 (22 on the letter date), with a health comment
    patient, letter = make_letter(
        civility="Enfant", first_name="Léa", last_name="Morvan", birth_date=dt.date(2004, 3, 1),
        is_minor=True, exposure_mask=HEALTH, sensitive_mask=int(Sensitive.PREGNANCY),
    )  # fmt: skip
    # when the letter is made, then it is hers, addressed to her, and speaks to her
    assert letter.is_minor is False
    assert address_lines(letter)[0] == "Léa MORVAN"
    text = pdf_text(render_letter_pdf(letter))
    assert "Aux parents" not in text
    assert "un commentaire lié à votre santé" in text
    assert "votre enfant" not in text and "sa santé" not in text


def test_a_child_is_written_to_through_the_parents_by_age_whatever_the_civility(make_letter):
    # given a 12-year-old whose civility in the leak is blank, and one called "Mme" by mistake
    _, blank = make_letter(civility="", birth_date=dt.date(2014, 6, 1), first_name="Léo", last_name="Morvan")
    _, madame = make_letter(civility="Mme", birth_date=dt.date(2014, 6, 1))
    # then both letters go to the parents
    assert blank.is_minor and madame.is_minor
    assert address_lines(blank)[:2] == ["Aux parents ou représentant légal de", "Léo MORVAN"]


@pytest.mark.parametrize(
    ("sent_on", "minor"),
    [(dt.date(2026, 11, 21), True), (dt.date(2026, 11, 22), False)],
)
def test_the_letter_date_decides_a_seventeen_year_old_turns_adult_on_their_birthday(make_letter, sent_on, minor):
    # given a patient born on 22 November 2008
    patient, _ = make_letter(birth_date=dt.date(2008, 11, 22), civility="Enfant")
    # when the letter is dated the day before, or the day of, their 18th birthday
    letter = _letter(patient, sent_on=sent_on)
    # then they are a minor the day before only
    assert letter.is_minor is minor


def test_an_on_demand_letter_is_dated_today_and_decides_on_today(make_letter, time_machine):
    # given a patient who turned 18 yesterday
    time_machine.move_to(dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC))
    patient, _ = make_letter(birth_date=dt.date(2008, 11, 22), civility="Enfant")
    # when a letter is made without a date (on demand), then it is today's and she is an adult
    letter = letter_data_for(patient=patient, reference="R", status_code="C", verification_phrase="p")
    assert letter.sent_on == dt.date(2026, 11, 23)
    assert letter.is_minor is False


@pytest.mark.parametrize(
    ("civility", "minor"),
    [("Enfant", True), ("ENFANT", True), ("Bébé", True), ("bebe.", True), ("Mme", False), ("", False)],
)
def test_the_civility_decides_only_when_the_birth_date_is_missing(civility, minor):
    # given no birth date (missing or unreadable in the leak), then the civility is the hint
    assert minor_on(birth_date=None, civility=civility, on=LETTER_DAY) is minor
    # and with a birth date it plays no part
    assert minor_on(birth_date=dt.date(1990, 1, 1), civility=civility, on=LETTER_DAY) is False
    assert minor_on(birth_date=dt.date(2015, 1, 1), civility=civility, on=LETTER_DAY) is True


@pytest.mark.parametrize("on", [LETTER_DAY, dt.date(2028, 2, 29), dt.date(2027, 3, 1), dt.date(2026, 1, 1)])
def test_the_database_filter_and_the_function_agree_on_every_patient(breach, laboratory, on):
    # given birth dates around the 18th birthday (29 February included), and missing ones with civilities
    births = [on.replace(year=on.year - 18, day=1) + dt.timedelta(days=d) for d in range(-40, 40)]
    births += [dt.date(2010, 2, 28), dt.date(2010, 3, 1), dt.date(2008, 2, 29), dt.date(2009, 3, 1)]
    for birth in births:
        PatientFactory(breach=breach, laboratory=laboratory, birth_date=birth, civility="Enfant")
    for civility in ("Enfant", "BÉBÉ", "bébé", "Bebe", "M.", "", "Enfantine"):
        PatientFactory(breach=breach, laboratory=laboratory, birth_date=None, civility=civility)
    # when minors are counted both ways, then they agree
    in_python = {p.pk for p in Patient.objects.all() if p.minor_on(on)}
    in_database = set(Patient.objects.filter(minors_on(on)).values_list("pk", flat=True))
    assert in_python == in_database
    assert 0 < len(in_python) < Patient.objects.count()


def test_every_generated_adult_gets_their_own_letter_whatever_their_civility(tmp_path):
    # given a synthetic leak (the civility "Enfant" was typed in 2015-2020) imported into a breach
    path = tmp_path / "leak.csv"
    leak_generate(path=path, rows=3000, labs=3, seed=7)
    breach = BreachFactory(slug="fuite-age")
    leak_import(path=path, breach=breach, rejects_path=tmp_path / "rejects.csv", allow_new_laboratories=True)
    patients = list(Patient.objects.filter(breach=breach).select_related("laboratory", "breach"))
    # when each patient's letter is made on the letter date
    letters = [(p, _letter(p, reference=f"R{p.pk}")) for p in patients]
    # then every patient of 18 or more gets their own letter, whatever their civility
    adults = [(p, letter) for p, letter in letters if p.birth_date and age_on(p.birth_date, LETTER_DAY) >= 18]
    grown_children = [p for p, _ in adults if p.civility.lower() == "enfant"]
    assert len(grown_children) >= 10  # the case the test is about is there
    wrongly_to_guardians = [
        p.pk for p, letter in adults if letter.is_minor or "Aux parents" in address_lines(letter)[0]
    ]
    assert wrongly_to_guardians == []
    # and every patient under 18 is written to through their parents
    children = [letter for p, letter in letters if p.birth_date and age_on(p.birth_date, LETTER_DAY) < 18]
    assert children and all(address_lines(letter)[0].startswith("Aux parents") for letter in children)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_guardians_letter_reads_the_same_whether_or_not_the_child_had_a_health_remark(make_letter, language):
    # given two 15-year-olds, same names and address, one whose leaked comment spoke of HIV
    same = {"first_name": "Inès", "last_name": "Riou", "birth_date": dt.date(2011, 4, 2), "civility": "Enfant"}
    _, remark = make_letter(language=language, exposure_mask=ALL_CATEGORIES, sensitive_mask=int(Sensitive.HIV), **same)
    _, plain = make_letter(
        language=language, exposure_mask=ALL_CATEGORIES & ~int(Exposure.MEDICAL_COMMENT), sensitive_mask=0, **same
    )
    # then the letter data, its variant and its text are the same but for the reference
    assert dataclasses.replace(remark, reference="") == dataclasses.replace(plain, reference="")
    assert variant_key(remark) == variant_key(plain)

    def text(letter):
        return re.sub(r"REF-\d+", "REF", pdf_text(render_letter_pdf(letter)))

    assert text(remark) == text(plain)
    assert "lié à sa santé" not in text(remark) and "related to your child's health" not in text(remark)
    assert "commentaire" not in text(remark) and "comment" not in text(remark)
