"""A patient, in a real browser, from the QR code on their letter to "I have read this"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import caches

from notifier import campaigns, launch
from notifier.codes import status_code_for
from notifier.models import DeliveryEvent
from patients.categories import Exposure, Sensitive
from status_page.models import AccessRequest
from tests.factories import BreachFactory, LaboratoryFactory, PatientFactory, case_file_complete

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def patient_with_letter(django_user_model):
    caches["ratelimit"].clear()
    laboratory = LaboratoryFactory(code="LABQR", name="Laboratoire du Port")
    breach = BreachFactory(slug="fuite-qr", description="Un fichier de patients a été copié sans autorisation.")
    patient = PatientFactory(
        breach=breach,
        laboratory=laboratory,
        first_name="Jeanne",
        last_name="Le Goff",
        birth_date=dt.date(1951, 3, 27),
        exposure_mask=int(
            Exposure.IDENTITY
            | Exposure.BIRTH_DATE
            | Exposure.NIR
            | Exposure.MEDICAL_COMMENT
            | Exposure.PORTAL_PASSWORD
            | Exposure.POSTAL_ADDRESS
        ),  # fmt: skip
        sensitive_mask=int(Sensitive.PREGNANCY),
    )
    author = django_user_model.objects.create_user("auteur", password="x" * 16, is_staff=True)
    approver = django_user_model.objects.create_user("approbateur", password="x" * 16, is_staff=True)
    case_file_complete(breach=breach, laboratory=laboratory)  # the launch gate's Art. 34(2) facts
    campaign = campaigns.campaign_create(breach=breach, laboratory=laboratory, name="Information", by=author)
    campaigns.campaign_approve(campaign=campaign, by=approver)
    launch.campaign_launch(campaign=campaign, by=author)
    return campaign, patient


def test_patient_opens_qr_link_checks_sees_categories_downloads_and_acknowledges(
    live_server, page, screenshot, patient_with_letter, tmp_path
):
    campaign, patient = patient_with_letter
    code = status_code_for(campaign=campaign, patient=patient)

    # given the QR code's URL: the code is in the fragment only
    page.goto(f"{live_server.url}/verifier/#{code}")
    # then the field is pre-filled and the fragment is gone from the address bar
    assert page.input_value("#id_code") == code
    assert "#" not in page.url
    screenshot(page, "status-1-check-prefilled")

    # when the patient enters their birth date
    page.fill("#id_day", "27")
    page.fill("#id_month", "3")
    page.fill("#id_year", "1951")
    page.click("button[type=submit]")

    # then they see which of their data were exposed; the health remark is never named by its class
    page.wait_for_selector("#exposed-categories")
    exposed = page.inner_text("#exposed-categories")
    assert "votre numéro de sécurité sociale" in exposed
    assert "une remarque liée à votre santé" in page.inner_text("#health-remark")
    assert "grossesse" not in page.content()
    assert "Changez dès maintenant le mot de passe" in page.content()
    screenshot(page, "status-2-notice")

    # when they download their letter
    with page.expect_download() as download_info:
        page.click("#download-letter")
    pdf_path = tmp_path / "lettre.pdf"
    download_info.value.save_as(pdf_path)
    assert pdf_path.read_bytes().startswith(b"%PDF")

    # when they acknowledge
    page.click("#ack-button")
    page.wait_for_selector("#acknowledged")
    screenshot(page, "status-3-acknowledged")
    assert DeliveryEvent.objects.filter(source="status_page", event_type="acknowledged").count() == 1


def test_wrong_birth_date_shows_the_uniform_message(live_server, page, screenshot, patient_with_letter):
    campaign, patient = patient_with_letter
    page.goto(f"{live_server.url}/verifier/")
    page.fill("#id_code", status_code_for(campaign=campaign, patient=patient))
    page.fill("#id_day", "1")
    page.fill("#id_month", "1")
    page.fill("#id_year", "1950")
    page.click("button[type=submit]")
    page.wait_for_selector("#check-error")
    assert "Nous n'avons pas pu vérifier" in page.inner_text("#check-error")
    assert page.input_value("#id_code") == ""  # what was typed is not echoed back
    screenshot(page, "status-4-failure")


def test_patient_asks_the_dpo_what_the_health_remark_said_on_a_phone(
    live_server, browser, screenshot, patient_with_letter
):
    # given the patient on a small phone (375×812), verified on the status page
    campaign, patient = patient_with_letter
    context = browser.new_context(locale="fr-FR", viewport={"width": 375, "height": 812})
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/verifier/")
        page.fill("#id_code", status_code_for(campaign=campaign, patient=patient))
        page.fill("#id_day", "27")
        page.fill("#id_month", "3")
        page.fill("#id_year", "1951")
        page.click("button[type=submit]")
        page.wait_for_selector("#health-remark")

        # when they follow the link to the request form and send it without a contact
        page.click("#access-request-link")
        page.wait_for_selector("#access-request-submit")
        screenshot(page, "status-5-access-request-form-375")
        page.check("input[name=requester][value=patient]")
        page.click("#access-request-submit")
        # then a French error says what is missing, and the page fits the phone's width
        page.wait_for_selector("#access-request-error")
        assert "Indiquez un numéro de téléphone ou une adresse électronique" in page.inner_text("#access-request-error")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        screenshot(page, "status-6-access-request-error-375")

        # when they give a phone number, then the request is recorded and its due date shown
        page.fill("#id_phone", "06 12 34 56 78")
        page.click("#access-request-submit")
        page.wait_for_selector("#access-request-done")
        assert "Votre demande est enregistrée" in page.inner_text("#access-request-done")
        screenshot(page, "status-7-access-request-done-375")
        request = AccessRequest.objects.get()
        assert (request.patient_id, request.contact_phone) == (patient.pk, "+33612345678")
    finally:
        context.close()
