"""English letters print the English breach texts and point to /check/; a missing translation is never silent."""

from __future__ import annotations

import pytest
from django.urls import reverse

from labs.models import BreachLaboratory
from labs.services import breach_measure_add, case_files_sync
from letters.content import status_url
from letters.emails import render_notice_email
from letters.english import english_texts_missing
from letters.render import render_letter_pdf
from letters.views import SPECIMEN_CODE
from tests.factories import BreachFactory, PatientFactory

from .conftest import pdf_text

pytestmark = pytest.mark.django_db

TITLE_EN = "Patient data were copied from our provider's software"
DESCRIPTION_EN = "A file of patients was published on the Internet."


@pytest.fixture
def case_file(breach, laboratory, make_letter):
    patient, _ = make_letter()
    case_files_sync(breach=breach)
    return BreachLaboratory.objects.get(breach=breach, laboratory=laboratory)


def translate(breach, case_file):
    breach.title_en, breach.description_en = TITLE_EN, DESCRIPTION_EN
    breach.save()
    taken = breach_measure_add(case_file=case_file, text="Accès du prestataire coupé le 4 novembre.")
    taken.text_en = "The provider's access was cut off on 4 November."
    taken.save()
    proposed = breach_measure_add(case_file=case_file, text="Audit de sécurité.", kind="proposed")
    proposed.text_en = "A security audit."
    proposed.save()


def test_an_english_letter_prints_the_english_title_description_and_measures(breach, case_file, make_letter):
    # given a breach and measures translated into English
    translate(breach, case_file)
    # when an English letter is made
    _, letter = make_letter(language="en")
    text = pdf_text(render_letter_pdf(letter))
    # then it prints the English texts, none of the French ones, and says nothing is missing
    assert letter.french_only == ()
    for english in (TITLE_EN, DESCRIPTION_EN, "The provider's access was cut off", "Planned: A security audit."):
        assert english in text
    for french in ("Des données de patients", "Un fichier de patients", "Accès du prestataire", "Prévu"):
        assert french not in text
    assert english_texts_missing(breach, case_file.laboratory) == []


def test_a_missing_translation_is_listed_and_printed_in_french_with_a_visible_note(breach, case_file, make_letter):
    # given an English title but no English description, and a measure only in French
    breach.title_en = TITLE_EN
    breach.save()
    breach_measure_add(case_file=case_file, text="Accès du prestataire coupé le 4 novembre.")
    # then the gate's function lists what is missing, in French
    missing = english_texts_missing(breach, case_file.laboratory)
    assert missing[0] == "description de la violation" and missing[1].startswith("mesure du ")
    # and an English letter prints the French texts under a note, never silently
    _, letter = make_letter(language="en")
    assert letter.french_only == tuple(missing)
    sent = pdf_text(render_letter_pdf(letter))
    assert "Un fichier de patients" in sent and "Accès du prestataire" in sent
    assert "Part of what follows is in French" in sent
    assert "Version anglaise manquante" not in sent  # the staff's words are for the preview
    # and the specimen letter of the preview says « version anglaise manquante » with the list
    specimen = pdf_text(render_letter_pdf(letter, specimen=True))
    assert "Version anglaise manquante (description de la violation, mesure du" in specimen


def test_a_french_letter_has_no_note_and_needs_no_english(breach, case_file, make_letter):
    _, letter = make_letter(language="fr")
    assert letter.french_only == ()
    assert "Part of what follows" not in pdf_text(render_letter_pdf(letter))


def test_the_preview_page_says_when_the_english_version_is_missing(client, login_verified, dpo_lab_a, lab_a):
    # given a breach with no English texts
    breach = BreachFactory(slug="fuite-en", title="Fuite", description="Un fichier a été publié.")
    PatientFactory(breach=breach, laboratory=lab_a)
    login_verified(client, dpo_lab_a)
    # when the DPO opens the preview, then it says so, visibly, in French
    body = client.get(reverse("letters:preview", args=[breach.pk, lab_a.pk])).content.decode()
    assert "Version anglaise manquante</strong>" in body and "titre de la violation" in body
    # and once translated, it no longer does
    breach.title_en, breach.description_en = "Leak", "A file was published."
    breach.save()
    body = client.get(reverse("letters:preview", args=[breach.pk, lab_a.pk])).content.decode()
    assert "Version anglaise manquante" not in body


def test_english_letters_qr_codes_and_emails_point_to_check(settings, make_letter):
    # given the French status page address of the deployment
    settings.LETTERS_STATUS_URL = "https://notifier.example/verifier/"
    # when letters are made in both languages
    _, english = make_letter(language="en", code="ABCD-1234")
    _, french = make_letter(language="fr", code="ABCD-1234")
    # then the English letter, its QR code and its text point to /check/, the French ones to /verifier/
    assert english.status_url == "https://notifier.example/check/"
    assert english.qr_url == "https://notifier.example/check/#ABCD-1234"
    assert french.qr_url == "https://notifier.example/verifier/#ABCD-1234"
    assert "https://notifier.example/check/" in pdf_text(render_letter_pdf(english))
    # and the email's English part gives /check/, its French part /verifier/
    email = render_notice_email(language="en", status_code=SPECIMEN_CODE, verification_phrase="p", reference="R",
                                lab_name="Laboratoire")  # fmt: skip
    english_part, french_part = email.text.split("Version française")
    assert "https://notifier.example/check/" in english_part and "/verifier/" not in english_part
    assert "https://notifier.example/verifier/" in french_part and "/check/" not in french_part
    assert "notifier.example/check/" in email.html


@pytest.mark.parametrize(
    ("french", "english"),
    [
        ("https://notifier.example/verifier/", "https://notifier.example/check/"),
        ("https://notifier.example/verifier", "https://notifier.example/check/"),
        ("https://lab.example/notices/verifier/", "https://lab.example/notices/check/"),
        ("https://verification.lab.example/", "https://verification.lab.example/check/"),
    ],
)
def test_the_english_status_page_is_the_check_page_of_the_same_site(settings, french, english):
    settings.LETTERS_STATUS_URL = french
    assert status_url("en") == english
    assert status_url("fr") == french
