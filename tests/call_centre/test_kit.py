"""The call-centre kit follows the facts of the letters and the case file; agents see their laboratories' only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from call_centre.faq import faq_entries, script_steps
from call_centre.kit import call_centre_kit
from labs.audit import AuditEvent
from labs.models import BreachMeasure
from letters.content import letter_data_for
from tests.access_fixtures import login_verified
from tests.factories import LaboratoryFactory, case_file_complete

pytestmark = pytest.mark.django_db


def _texts(kit) -> str:
    faq = [line for entry in faq_entries(kit) for line in (entry.question, *entry.answer)]
    script = [line for step in script_steps(kit) for line in (step.title, *step.say)]
    return "\n".join(faq + script)


def test_a_new_measure_shows_in_the_faq_the_script_the_page_and_the_pdf_as_in_the_letter(
    agent_client, case_file, breach, laboratory, make_patients
):
    # given the kit as it stands
    (patient,) = make_patients(1)
    before = call_centre_kit(breach=breach, laboratory=laboratory)
    assert "Mots de passe du portail réinitialisés" not in _texts(before)
    # when the DPO records a measure in the case file
    BreachMeasure.objects.create(
        case_file=case_file, text="Mots de passe du portail réinitialisés.", text_en="Portal passwords reset."
    )
    # then the FAQ (page and PDF text) says it in both languages, in the letter's very words
    after = call_centre_kit(breach=breach, laboratory=laboratory)
    letter = letter_data_for(patient=patient, reference="R", status_code="C", verification_phrase="P")
    assert after.measures == letter.breach_measures
    assert "Mots de passe du portail réinitialisés." in _texts(after)
    assert "Portal passwords reset." in _texts(call_centre_kit(breach=breach, laboratory=laboratory, language="en"))
    page = agent_client.get(
        reverse("call_centre:kit", args=[case_file.laboratory_id, case_file.breach_id])
    ).content.decode()
    assert "Mots de passe du portail réinitialisés." in page


def test_a_new_communication_contact_changes_the_scripts_press_escalation(case_file, breach, laboratory):
    # given no communication contact: the script says to ask the DPO
    press = next(
        s for s in script_steps(call_centre_kit(breach=breach, laboratory=laboratory)) if "journaliste" in s.title
    )
    assert "pas encore renseigné" in press.say[1]
    # when the laboratory records one
    laboratory.communication_contact = "Service communication, 02 99 00 11 22, presse@labo.example"
    laboratory.save()
    # then the script's press step gives it
    press = next(
        s for s in script_steps(call_centre_kit(breach=breach, laboratory=laboratory)) if "journaliste" in s.title
    )
    assert press.say[1] == "Service communication, 02 99 00 11 22, presse@labo.example"
    assert press.escalation


def test_the_script_sends_a_health_question_to_the_dpo_and_has_words_for_a_distressed_caller(
    case_file, breach, laboratory
):
    # given / when
    steps = {step.title: step for step in script_steps(call_centre_kit(breach=breach, laboratory=laboratory))}
    # then
    health = steps["Une question sur une remarque de santé → le DPO"]
    assert "demande d'accès" in health.say[0] and health.escalation
    assert any("3114" in line for line in steps["Un appelant en détresse"].say)


def test_a_new_consequence_shows_in_the_risks(case_file, breach, laboratory):
    # given / when a consequence is ticked
    case_file.consequences = ["phishing", "identity_theft"]
    case_file.save()
    # then
    assert "usurpation d'identité" in call_centre_kit(breach=breach, laboratory=laboratory).risks


def test_the_kit_lists_the_data_categories_of_the_laboratorys_patients(case_file, breach, laboratory, make_patients):
    # given a patient whose record held a social security number
    make_patients(1, exposure_mask=1 | 4 | 512)
    # when / then in the agent's words (the patient's data, not "your" data)
    data = call_centre_kit(breach=breach, laboratory=laboratory).data
    assert "numéro de sécurité sociale" in data and "un commentaire lié à la santé" in data
    assert (
        "a comment related to their health" in call_centre_kit(breach=breach, laboratory=laboratory, language="en").data
    )


def test_the_english_kit_is_in_english(agent_client, case_file):
    # when
    page = agent_client.get(
        reverse("call_centre:kit", args=[case_file.laboratory_id, case_file.breach_id]) + "?langue=en"
    ).content.decode()
    # then
    assert "Frequently asked questions" in page and "Call script" in page


def test_an_unknown_language_is_a_french_404_not_a_500(agent_client, case_file):
    response = agent_client.get(
        reverse("call_centre:kit", args=[case_file.laboratory_id, case_file.breach_id]) + "?langue=de"
    )
    assert response.status_code == 404


def test_the_pdf_is_a_pdf_and_its_download_is_audited(agent_client, agent, case_file):
    # when
    response = agent_client.get(reverse("call_centre:kit_pdf", args=[case_file.laboratory_id, case_file.breach_id]))
    # then
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(actor=agent, action="export", extra__export="call_centre_kit").count() == 1


def test_an_agent_does_not_see_another_laboratorys_kit(agent_client, breach):
    # given another laboratory's case file
    other = case_file_complete(breach=breach, laboratory=LaboratoryFactory(code="AUTRE"))
    # when / then it does not exist for the agent
    assert agent_client.get(reverse("call_centre:kit", args=[other.laboratory_id, other.breach_id])).status_code == 404
    assert "AUTRE" not in agent_client.get(reverse("call_centre:index")).content.decode()


def test_the_cnil_liaison_has_no_call_centre_kit(client, cnil_liaison, case_file):
    login_verified(client, cnil_liaison)
    assert (
        client.get(reverse("call_centre:kit", args=[case_file.laboratory_id, case_file.breach_id])).status_code == 403
    )
    assert client.get(reverse("call_centre:notice")).status_code == 403


def test_an_agent_has_no_admin_page_and_no_call_list(agent_client):
    # the call list is person-level: the DPO hands it over, the agent does not browse it
    assert agent_client.get(reverse("dashboards:dpo")).status_code == 403
    assert agent_client.get(reverse("admin:patients_patient_changelist")).status_code == 403
