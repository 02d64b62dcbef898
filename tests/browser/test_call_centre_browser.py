"""A call-centre agent logs in (password + TOTP), reads the FAQ and script of their laboratory, opens one notice."""

from __future__ import annotations

import pytest

from labs import access
from labs.models import BreachMeasure
from tests.access_fixtures import make_staff
from tests.factories import BreachFactory, LaboratoryFactory, PatientFactory, case_file_complete

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_agent_reads_the_faq_and_script_at_a_desk(browser, log_in, live_server, screenshot, axe):
    # given a laboratory's case file with its measures, contacts and patients
    laboratory = LaboratoryFactory(
        code="LAB-CC", name="Laboratoire des Lices", dpo_name="Claire Le Goff", dpo_email="dpo@lices.example",
        dpo_phone="+33299001122", communication_contact="Service communication, 02 99 00 33 44",
    )  # fmt: skip
    breach = BreachFactory(
        title="Fuite du fichier de résultats", description="Un fichier a été copié chez un prestataire."
    )
    case_file = case_file_complete(breach=breach, laboratory=laboratory)
    BreachMeasure.objects.create(case_file=case_file, text="Mots de passe du portail réinitialisés.")
    PatientFactory(breach=breach, laboratory=laboratory, exposure_mask=1 | 2 | 4 | 8 | 512)
    agent = make_staff("agent-cc", role=access.CALL_CENTRE, laboratories=[laboratory])
    context = browser.new_context(locale="fr-FR", viewport={"width": 1366, "height": 768})
    page = context.new_page()
    # when the agent logs in and opens the kit
    path = f"/centre-appels/kit/{laboratory.pk}/{breach.pk}/"
    log_in(page, agent, path)
    # then the FAQ and the script are there, with the new measure and the press contact, and accessible
    text = page.inner_text("main")
    assert "Mots de passe du portail réinitialisés." in text
    assert "Service communication, 02 99 00 33 44" in text
    assert "Une question sur une remarque de santé → le DPO" in text
    screenshot(page, "call-centre-faq-1366")
    assert axe(page, impacts=("serious", "critical")) == []
    context.close()


def test_a_dpo_finds_the_call_list_on_the_kit_page_and_downloads_it(browser, log_in, live_server, screenshot, axe):
    # given a laboratory's DPO and a case file
    laboratory = LaboratoryFactory(code="LAB-DL", name="Laboratoire du Mail")
    breach = BreachFactory(title="Fuite du fichier de résultats")
    case_file_complete(breach=breach, laboratory=laboratory)
    dpo = make_staff("dpo-dl", role=access.DPO, laboratories=[laboratory])
    context = browser.new_context(locale="fr-FR", viewport={"width": 1366, "height": 768}, accept_downloads=True)
    page = context.new_page()
    # when the DPO opens the kit
    log_in(page, dpo, f"/centre-appels/kit/{laboratory.pk}/{breach.pk}/")
    # then the call list section is there, accessible, and its CSV button downloads a file
    assert "Liste d'appels sortants" in page.inner_text("main")
    screenshot(page, "call-centre-kit-dpo-1366")
    assert axe(page, impacts=("serious", "critical")) == []
    with page.expect_download() as download:
        page.click("text=Télécharger (CSV)")
    assert download.value.suggested_filename == "centre-appels.csv"
    context.close()
