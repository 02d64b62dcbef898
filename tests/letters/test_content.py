from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.utils import timezone

from labs.models import BreachLaboratory
from labs.services import breach_measure_add, case_files_sync
from letters.content import LetterData, letter_data_for
from letters.versions import CURRENT_TEMPLATE_VERSION
from patients.categories import Exposure

from .conftest import CHILD_BIRTH

pytestmark = pytest.mark.django_db


def test_letter_data_holds_the_patient_laboratory_and_breach_as_plain_values(make_letter):
    # given a patient of a laboratory in a breach
    patient, letter = make_letter(first_name="Élodie", last_name="Le Goff", birth_date=CHILD_BIRTH)
    # then the letter data is plain and frozen
    assert isinstance(letter, LetterData)
    assert letter.recipient_first_name == "Élodie" and letter.is_minor is True
    assert letter.address_lines == ("3 place du Marché",) and letter.postcode == "56000"
    assert letter.lab_name == "Laboratoire de la Vilaine" and letter.dpo_email == "dpo@vilaine.example"
    assert letter.breach_title.startswith("Des données de patients")
    assert letter.breach_discovered_on == timezone.localtime(patient.breach.aware_at).date()
    assert letter.template_version == CURRENT_TEMPLATE_VERSION
    assert letter.sent_on == dt.date(2026, 11, 22)
    with pytest.raises(dataclasses.FrozenInstanceError):
        letter.reference = "other"  # type: ignore[misc]


def test_qr_url_carries_the_code_only_after_the_hash(make_letter):
    # given a letter with a made-up code
    _, letter = make_letter(code="ABCD-1234")
    # then the code is in the fragment, never in the path or query sent to the server
    base, _, fragment = letter.qr_url.partition("#")
    assert fragment == "ABCD-1234" and "ABCD" not in base


def test_masked_nir_is_kept_only_when_the_nir_leaked(make_letter):
    # given a patient whose NIR did not leak
    _, letter = make_letter(exposure_mask=int(Exposure.IDENTITY | Exposure.POSTAL_ADDRESS))
    # then the letter carries no NIR at all
    assert letter.nir_masked == ""


def test_unknown_language_or_version_is_a_clear_error(make_letter):
    # given a patient
    patient, _ = make_letter()
    # when a letter is asked in an unsupported language or version
    # then the message says what is wrong
    with pytest.raises(ValueError, match="Langue"):
        letter_data_for(patient=patient, reference="R", status_code="C", verification_phrase="p", language="de")
    with pytest.raises(ValueError, match="Version de modèle"):
        letter_data_for(patient=patient, reference="R", status_code="C", verification_phrase="p", template_version="v0")


def test_measures_and_awareness_date_come_from_the_laboratorys_case_file(make_letter):
    # given a laboratory case file for the breach, with its own awareness date and two measures
    patient, _ = make_letter()
    case_files_sync(breach=patient.breach)
    case_file = BreachLaboratory.objects.get(breach=patient.breach, laboratory=patient.laboratory)
    case_file.aware_at = timezone.make_aware(dt.datetime(2026, 11, 3, 9, 0))
    case_file.save()
    breach_measure_add(case_file=case_file, text="Accès du prestataire coupé le 4 novembre.")
    breach_measure_add(case_file=case_file, text="Audit de sécurité prévu.", kind="proposed")
    # when the letter data is built
    letter = letter_data_for(patient=patient, reference="R", status_code="C", verification_phrase="p")
    # then block 4 and the discovery date use the laboratory's own facts
    assert letter.breach_measures == (
        "Accès du prestataire coupé le 4 novembre.",
        "Prévu\u00a0: Audit de sécurité prévu.",
    )
    assert letter.breach_discovered_on == dt.date(2026, 11, 3)
