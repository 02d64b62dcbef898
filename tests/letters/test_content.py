from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.utils import timezone

from letters.content import LetterData, letter_data_for
from letters.versions import CURRENT_TEMPLATE_VERSION
from patients.categories import Exposure

pytestmark = pytest.mark.django_db


def test_letter_data_holds_the_patient_laboratory_and_breach_as_plain_values(make_letter):
    # given a patient of a laboratory in a breach
    patient, letter = make_letter(first_name="Élodie", last_name="Le Goff", is_minor=True)
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
