"""The ARS / CERT Santé incident report (CSP art. L.1111-8-2): the sheet in the portal form's order, from the case
file as a draft, and frozen as sent when an ARS or CERT Santé notification is recorded. Synthetic data only."""

import datetime as dt
import subprocess

import pytest
from django.urls import reverse
from django.utils import timezone

from labs.audit import AuditEvent
from labs.models import AuthorityNotification
from labs.services import authority_notification_add, cnil_filing_record
from labs.sheets import REGIME_SHEETS, ReportNotFrozenError, ars_sheet_html, ars_sheet_pdf
from tests.factories import PatientFactory

from .helpers import complete_case_file

pytestmark = pytest.mark.django_db

SECTIONS = ["1. Déclarant", "2. L'incident", "3. Impacts", "4. Mesures prises", "5. Autres autorités informées"]


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "fiche.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def _health_lab_case_file(lab):
    lab.finess_ej, lab.finess_eg = "350012345", "350067890"
    lab.save()
    return complete_case_file(lab)


def test_the_ars_sheet_follows_the_report_forms_order_with_finess_impacts_and_the_cnil_filing(
    dpo_lab_a, lab_a, tmp_path
):
    # given a laboratory's case file, filed with the CNIL, and patients imported for it
    case_file = _health_lab_case_file(lab_a)
    cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a, cnil_reference="CNIL-2026-77")
    patient = PatientFactory(breach=case_file.breach, laboratory=lab_a, last_name="Quéméner-Témoin")
    # when its ARS / CERT Santé sheet is printed from the case file
    text = _text(ars_sheet_pdf(case_file), tmp_path)
    # then the sections come in the form's order: declarant, incident, impacts, measures, other authorities
    positions = [text.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    # with the establishment's FINESS numbers, the impacts on the data, the estimate, the CNIL filing cited
    assert "350012345" in text and "350067890" in text
    assert "atteinte à la confidentialité" in text and "1200" in text
    assert "CNIL (notification initiale n°1)" in text and "CNIL-2026-77" in text
    assert "Projet établi depuis le dossier" in text
    # and counts only: nothing about any one patient
    assert patient.last_name not in text


def test_the_sheet_lists_what_the_report_still_lacks(lab_a, tmp_path):
    case_file = complete_case_file(lab_a)  # no FINESS numbers
    text = _text(ars_sheet_pdf(case_file), tmp_path)
    assert "À compléter" in text and "N° FINESS juridique (EJ)" in text.split("1. Déclarant")[0]


def test_recording_an_ars_notification_freezes_the_report_as_sent(dpo_lab_a, lab_a, tmp_path):
    # given a case file reported to the ARS
    case_file = _health_lab_case_file(lab_a)
    sent = authority_notification_add(
        case_file=case_file, authority="ars", notified_at=timezone.now() - dt.timedelta(hours=1),
        reference="ARS-BRE-2026-12", by=dpo_lab_a,
    )  # fmt: skip
    assert sent.snapshot["report"]["reference"] == "ARS-BRE-2026-12"
    # when the case file changes afterwards (a new estimate)
    case_file.people_estimate = 4321
    case_file.save()
    sent.refresh_from_db()
    # then the report as sent keeps what was sent; the draft from the case file shows the new figure
    as_sent = _text(ars_sheet_pdf(sent), tmp_path)
    assert "Signalement transmis à ARS" in as_sent and "ARS-BRE-2026-12" in as_sent
    assert "1200" in as_sent and "4321" not in as_sent
    assert "4321" in ars_sheet_html(case_file)


def test_a_police_complaint_keeps_no_report_and_its_sheet_is_refused_in_french(lab_a):
    case_file = complete_case_file(lab_a)
    complaint = authority_notification_add(case_file=case_file, authority="police", notified_at=timezone.now())
    assert complaint.snapshot is None
    with pytest.raises(ReportNotFrozenError, match="Aucun signalement figé"):
        ars_sheet_pdf(complaint)


def test_the_registry_gives_each_regimes_documents_from_what_they_are_printed_from(dpo_lab_a, lab_a):
    case_file = _health_lab_case_file(lab_a)
    filing = cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a)
    cnil, ars = REGIME_SHEETS["cnil_art33"], REGIME_SHEETS["ars_cert_sante"]
    assert (cnil.source, ars.source) == ("filing", "case_file")
    assert cnil.formats["pdf"](filing).startswith(b"%PDF-")
    assert '"A.1"' in cnil.formats["edpb-json"](filing)
    assert "350012345" in ars.formats["json"](case_file)


# --- the admin --------------------------------------------------------------------------------------------
@pytest.fixture
def dpo_a_client(client, login_verified, dpo_lab_a):
    return login_verified(client, dpo_lab_a)


def test_the_dpo_downloads_the_draft_and_the_version_sent_from_the_case_file_and_both_are_audited(
    dpo_a_client, dpo_lab_a, lab_a, tmp_path
):
    case_file = _health_lab_case_file(lab_a)
    sent = authority_notification_add(case_file=case_file, authority="cert_sante", notified_at=timezone.now())
    page = dpo_a_client.get(reverse("admin:labs_breachlaboratory_change", args=[case_file.pk])).content.decode()
    url = reverse("admin:labs_breachlaboratory_ars_pdf", args=[case_file.pk])
    assert "Fiche ARS / CERT Santé (PDF)" in page and f"{url}?notification={sent.pk}" in page
    draft = dpo_a_client.get(url)
    as_sent = dpo_a_client.get(url, {"notification": sent.pk})
    assert draft.status_code == as_sent.status_code == 200
    assert "Signalement transmis à CERT Santé" in _text(as_sent.content, tmp_path)
    events = AuditEvent.objects.filter(action="export", extra__format="ars_pdf", laboratory=lab_a)
    assert sorted(str(e.extra.get("notification")) for e in events) == sorted(["None", str(sent.pk)])


@pytest.mark.parametrize("bad", ["abc", "999999", ""])
def test_a_bad_or_foreign_notification_number_is_not_found(dpo_a_client, lab_a, lab_b, bad):
    case_file = complete_case_file(lab_a)
    other = authority_notification_add(case_file=complete_case_file(lab_b), authority="ars", notified_at=timezone.now())
    url = reverse("admin:labs_breachlaboratory_ars_pdf", args=[case_file.pk])
    assert dpo_a_client.get(url, {"notification": bad}).status_code == 404
    # another case file's report, even a readable one, is not served through this one
    assert dpo_a_client.get(url, {"notification": other.pk}).status_code == 404


def test_the_version_sent_of_a_complaint_redirects_with_a_french_message(dpo_a_client, lab_a):
    case_file = complete_case_file(lab_a)
    complaint = authority_notification_add(case_file=case_file, authority="police", notified_at=timezone.now())
    url = reverse("admin:labs_breachlaboratory_ars_pdf", args=[case_file.pk])
    response = dpo_a_client.get(url, {"notification": complaint.pk}, follow=True)
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Aucun signalement figé pour cette autorité" in response.content.decode()


def test_an_ars_report_recorded_in_the_case_file_form_is_frozen(dpo_a_client, lab_a):
    # given the case file's page, where the DPO records the report to the ARS in "Autres autorités informées"
    case_file = _health_lab_case_file(lab_a)
    aware = timezone.localtime(case_file.aware_at)
    measure = case_file.measures.get()
    response = dpo_a_client.post(
        reverse("admin:labs_breachlaboratory_change", args=[case_file.pk]),
        {
            "aware_at_0": aware.strftime("%d/%m/%Y"), "aware_at_1": aware.strftime("%H:%M:%S"),
            "nature_confidentiality": "on", "cause": "external_malicious", "description": case_file.description,
            "data_categories": case_file.data_categories, "health_data": "on",
            "people_estimate": "1200", "records_estimate": "1500", "consequences": ["phishing"],
            "high_risk": "yes", "high_risk_justification": "Données de santé et NIR.",
            "cnil_decision": "undecided", "exemption": "none", "people_informed": "not_yet",
            "measures-TOTAL_FORMS": "1", "measures-INITIAL_FORMS": "1",
            "measures-0-id": measure.pk, "measures-0-case_file": case_file.pk, "measures-0-kind": "taken",
            "measures-0-text": measure.text, "measures-0-recorded_at_0": "01/12/2026",
            "measures-0-recorded_at_1": "08:00:00",
            "filings-TOTAL_FORMS": "0", "filings-INITIAL_FORMS": "0",
            "obligations-TOTAL_FORMS": "0", "obligations-INITIAL_FORMS": "0",
            "public_communications-TOTAL_FORMS": "0", "public_communications-INITIAL_FORMS": "0",
            "authority_notifications-TOTAL_FORMS": "1", "authority_notifications-INITIAL_FORMS": "0",
            "authority_notifications-0-case_file": case_file.pk, "authority_notifications-0-authority": "ars",
            "authority_notifications-0-notified_at_0": "01/12/2026",
            "authority_notifications-0-notified_at_1": "09:30:00",
            "authority_notifications-0-reference": "ARS-35-0042",
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    # then the notification keeps the report as sent
    sent = AuthorityNotification.objects.get(case_file=case_file)
    assert sent.snapshot["report"]["reference"] == "ARS-35-0042"
    assert sent.snapshot["declarant"]["finess_eg"] == "350067890"
