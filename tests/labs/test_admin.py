import datetime as dt
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from labs.audit import AuditEvent
from labs.models import BreachLaboratory, CnilFiling
from labs.selectors import REGISTER_COLUMNS
from labs.services import cnil_filing_record
from tests.factories import BreachFactory

from .helpers import complete_case_file

pytestmark = pytest.mark.django_db


@pytest.fixture
def dpo_a_client(client, login_verified, dpo_lab_a):
    return login_verified(client, dpo_lab_a)


def test_the_case_file_list_shows_the_clock_of_the_dpos_laboratory_only(dpo_a_client, lab_a, lab_b):
    # given an open case file at A due in 5 hours, and one at B
    breach = BreachFactory(aware_at=timezone.now() - dt.timedelta(hours=67))
    BreachLaboratory.objects.create(breach=breach, laboratory=lab_a, aware_at=breach.aware_at)
    BreachLaboratory.objects.create(breach=breach, laboratory=lab_b, aware_at=breach.aware_at)
    # when the DPO of A opens the list, filtered on "due in 24 h"
    response = dpo_a_client.get(reverse("admin:labs_breachlaboratory_changelist") + "?deadline=due24")
    # then A's row is there with its time left, in the "less than 24 h" colour, and B's is not
    page = response.content.decode()
    assert response.status_code == 200
    assert "Laboratoire A" in page and "Laboratoire B" not in page
    assert "reste 04 h" in page and "#a64b00" in page


def test_the_overdue_filter_keeps_only_unfiled_case_files_past_their_deadline(dpo_a_client, lab_a):
    # given an overdue case file and one filed on time, both at A
    overdue = BreachLaboratory.objects.create(
        breach=BreachFactory(title="Retard"), laboratory=lab_a, aware_at=timezone.now() - dt.timedelta(hours=80)
    )
    filed = complete_case_file(lab_a, breach=BreachFactory(title="Notifiée"))
    cnil_filing_record(case_file=filed, submitted_at=timezone.now(), by=None)
    # when filtered on overdue, then only the overdue one is listed, in red
    page = dpo_a_client.get(reverse("admin:labs_breachlaboratory_changelist") + "?deadline=overdue").content.decode()
    assert reverse("admin:labs_breachlaboratory_change", args=[overdue.pk]) in page
    assert reverse("admin:labs_breachlaboratory_change", args=[filed.pk]) not in page
    assert "dépassé de" in page


def test_the_case_file_page_lists_items_to_complete_and_accepts_an_initial_filing_with_what_is_known(
    dpo_a_client, lab_a
):
    # given an empty case file
    case_file = BreachLaboratory.objects.create(breach=BreachFactory(), laboratory=lab_a, aware_at=timezone.now())
    # when the DPO opens it and files
    page = dpo_a_client.get(reverse("admin:labs_breachlaboratory_change", args=[case_file.pk])).content.decode()
    now = timezone.localtime()
    response = dpo_a_client.post(
        reverse("admin:labs_breachlaboratory_file", args=[case_file.pk]),
        {"submitted_at_0": now.strftime("%d/%m/%Y"), "submitted_at_1": now.strftime("%H:%M:%S")},
    )
    # then the page lists the items « à compléter » and the initial filing is recorded with them
    assert "élément(s) à compléter" in page and "représentant légal" in page
    filing = CnilFiling.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{filing.pk}/change/")
    assert "représentant légal" in filing.snapshot["missing"]


def test_the_dpo_files_through_the_admin_and_prints_the_sheet(dpo_a_client, lab_a):
    # given a complete case file
    case_file = complete_case_file(lab_a)
    now = timezone.localtime()
    # when the DPO records the initial filing
    response = dpo_a_client.post(
        reverse("admin:labs_breachlaboratory_file", args=[case_file.pk]),
        {
            "submitted_at_0": now.strftime("%d/%m/%Y"),
            "submitted_at_1": now.strftime("%H:%M:%S"),
            "cnil_reference": "R-42",
        },
    )
    filing = CnilFiling.objects.get()
    # then it is recorded, and the sheet comes as JSON (the frozen snapshot) and as a PDF
    assert response.status_code == 302
    as_json = dpo_a_client.get(reverse("admin:labs_cnilfiling_sheet_json", args=[filing.pk]))
    as_pdf = dpo_a_client.get(reverse("admin:labs_cnilfiling_sheet_pdf", args=[filing.pk]))
    assert json.loads(as_json.content)["filing"]["cnil_reference"] == "R-42"
    assert as_pdf["Content-Type"] == "application/pdf" and as_pdf.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="export", object_type="labs.cnilfiling").count() == 2


def test_a_filing_cannot_be_changed_through_the_admin(admin_client, lab_a):
    # given a filing, when even a superuser posts a change, then it is refused and nothing changes
    filing = cnil_filing_record(case_file=complete_case_file(lab_a), submitted_at=timezone.now(), by=None)
    response = admin_client.post(reverse("admin:labs_cnilfiling_change", args=[filing.pk]), {"cnil_reference": "X"})
    delete = admin_client.post(reverse("admin:labs_cnilfiling_delete", args=[filing.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert delete.status_code == 403
    assert CnilFiling.objects.get().cnil_reference == ""


def test_the_cnil_liaison_reads_case_files_but_cannot_change_them(client, login_verified, cnil_liaison, lab_a):
    # given a case file, when the CNIL liaison opens it and posts a change
    case_file = complete_case_file(lab_a)
    login_verified(client, cnil_liaison)
    url = reverse("admin:labs_breachlaboratory_change", args=[case_file.pk])
    view = client.get(url)
    change = client.post(url, {"description": "x"})
    # then they can read it but not change it
    assert view.status_code == 200
    assert change.status_code == 403
    case_file.refresh_from_db()
    assert case_file.description != "x"


def test_the_register_exports_as_csv_and_pdf_for_the_dpos_laboratory(dpo_a_client, lab_a, lab_b):
    # given case files at A and B
    complete_case_file(lab_a, breach=BreachFactory(title="Fuite A"))
    complete_case_file(lab_b, breach=BreachFactory(title="Fuite B"))
    # when the DPO of A exports the register as CSV and PDF
    csv = dpo_a_client.post(
        reverse("admin:labs_breachlaboratory_export"),
        {"format": "0", "resource": "0", **{f"breachregisterresource_{key}": "on" for key, _ in REGISTER_COLUMNS}},
    )
    pdf = dpo_a_client.get(reverse("admin:labs_breachlaboratory_register_pdf"))
    # then the CSV has the register's columns and A's line only; the PDF is a PDF
    text = csv.content.decode("utf-8-sig")
    assert csv.status_code == 200, text[:500]
    assert "décision de notification" in text and "Fuite A" in text and "Fuite B" not in text
    assert pdf.content.startswith(b"%PDF")


def test_history_pages_are_scoped_and_cannot_revert(client, login_verified, dpo_lab_a, cnil_liaison, lab_a):
    # given a case file changed once (two historical versions)
    case_file = complete_case_file(lab_a)
    case_file.description = "Complétée."
    case_file.save()
    first = case_file.history.earliest()
    url = reverse("admin:labs_breachlaboratory_simple_history", args=[case_file.pk, first.pk])
    # when its DPO reads the history and the CNIL liaison tries to revert to the first version
    login_verified(client, dpo_lab_a)
    listing = client.get(reverse("admin:labs_breachlaboratory_history", args=[case_file.pk]))
    version = client.get(url)
    login_verified(client, cnil_liaison)
    revert = client.post(url, {"description": first.description})
    # then reading works, reverting is refused and nothing changed
    assert (listing.status_code, version.status_code, revert.status_code) == (200, 200, 403)
    case_file.refresh_from_db()
    assert case_file.description == "Complétée."


def test_the_dpo_completes_a_case_file_through_the_admin_form(dpo_a_client, lab_a):
    # given A's laboratory details complete and an empty case file
    from labs.selectors import case_file_missing

    lab_a.siren, lab_a.legal_representative_name = "552100554", "Jeanne Durand"
    lab_a.save()
    case_file = BreachLaboratory.objects.create(breach=BreachFactory(), laboratory=lab_a, aware_at=timezone.now())
    aware = timezone.localtime(case_file.aware_at)
    data = {
        "aware_at_0": aware.strftime("%d/%m/%Y"),
        "aware_at_1": aware.strftime("%H:%M:%S"),
        "started_at_0": "01/03/2026",
        "started_at_1": "08:00:00",
        "discovered_at_0": aware.strftime("%d/%m/%Y"),
        "discovered_at_1": aware.strftime("%H:%M:%S"),
        "cause": "external_malicious",
        "nature_confidentiality": "on",
        "discovery": "Presse.",
        "description": "Fichier publié.",
        "data_categories": "identité, NIR",
        "people_estimate": "120",
        "records_estimate": "150",
        "consequences": ["phishing", "identity_theft"],
        "cnil_decision": "notify",
        "cnil_decision_reason": "Risque pour les personnes.",
        "high_risk": "yes",
        "high_risk_justification": "Santé et NIR.",
        "exemption": "none",
        "measures-TOTAL_FORMS": "1",
        "measures-INITIAL_FORMS": "0",
        "measures-0-recorded_at_0": aware.strftime("%d/%m/%Y"),
        "measures-0-recorded_at_1": aware.strftime("%H:%M:%S"),
        "measures-0-kind": "taken",
        "measures-0-text": "Comptes réinitialisés.",
        "filings-TOTAL_FORMS": "0",
        "filings-INITIAL_FORMS": "0",
        "authority_notifications-TOTAL_FORMS": "0",
        "authority_notifications-INITIAL_FORMS": "0",
        "obligations-TOTAL_FORMS": "0",
        "obligations-INITIAL_FORMS": "0",
        "public_communications-TOTAL_FORMS": "0",
        "public_communications-INITIAL_FORMS": "0",
        "people_informed": "not_yet",
    }
    # (an exemption (c) without a recorded public communication is refused, in French, and saves nothing)
    url = reverse("admin:labs_breachlaboratory_change", args=[case_file.pk])
    refused = dpo_a_client.post(url, {**data, "exemption": "c", "exemption_justification": "Adresses inconnues."})
    assert refused.status_code == 200
    assert "exige une communication publique" in str(refused.context["adminform"].form.errors["exemption"])
    # when the DPO saves the form
    response = dpo_a_client.post(url, data)
    # then it is saved, complete, the decision signed by the DPO, the measure by them too
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    case_file.refresh_from_db()
    assert case_file_missing(case_file) == []
    assert case_file.consequences == ["phishing", "identity_theft"]
    assert case_file.cnil_decided_by.username == "dpo-a"
    assert case_file.measures.get().recorded_by.username == "dpo-a"


def test_a_high_risk_decision_without_justification_is_refused_on_the_form(dpo_a_client, lab_a):
    # given a case file, when the DPO says "no high risk" without a reason
    case_file = BreachLaboratory.objects.create(breach=BreachFactory(), laboratory=lab_a, aware_at=timezone.now())
    aware = timezone.localtime(case_file.aware_at)
    response = dpo_a_client.post(
        reverse("admin:labs_breachlaboratory_change", args=[case_file.pk]),
        {
            "aware_at_0": aware.strftime("%d/%m/%Y"),
            "aware_at_1": aware.strftime("%H:%M:%S"),
            "high_risk": "no",
            "cnil_decision": "undecided",
            "exemption": "none",
            "measures-TOTAL_FORMS": "0",
            "measures-INITIAL_FORMS": "0",
            "filings-TOTAL_FORMS": "0",
            "filings-INITIAL_FORMS": "0",
            "authority_notifications-TOTAL_FORMS": "0",
            "authority_notifications-INITIAL_FORMS": "0",
            "obligations-TOTAL_FORMS": "0",
            "obligations-INITIAL_FORMS": "0",
            "public_communications-TOTAL_FORMS": "0",
            "public_communications-INITIAL_FORMS": "0",
            "people_informed": "not_yet",
        },
    )
    # then the form comes back with the error and nothing is saved
    assert response.status_code == 200
    assert "Justifiez la décision" in response.content.decode()
    case_file.refresh_from_db()
    assert case_file.high_risk == "undecided"


def test_the_admin_is_french_by_default_and_english_on_request(dpo_a_client, lab_a):
    # given an open case file of A
    BreachLaboratory.objects.create(breach=BreachFactory(), laboratory=lab_a, aware_at=timezone.now())
    url = reverse("admin:labs_breachlaboratory_changelist")
    # when the list is asked without a language, then after choosing English with the admin's switch
    french = dpo_a_client.get(url, headers={"accept-language": "en"}).content.decode()  # a browser's wish is no choice
    dpo_a_client.post(reverse("admin:set_language"), {"language": "en", "next": url})
    english = dpo_a_client.get(url).content.decode()
    # then the column, the clock and the filters follow the language
    assert "Échéance CNIL" in french and "reste 2 j" in french and "dans les 24 h" in french
    assert "CNIL deadline" in english
    assert "2 d " in english and "left" in english and "due within 24 h" in english
