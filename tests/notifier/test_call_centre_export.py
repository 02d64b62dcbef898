"""The campaign admin's call-centre list: the same file as the dashboard's, formula-safe, one header."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from labs.audit import AuditEvent
from notifier import launch
from notifier.models import Notification
from notifier.resources import call_centre_dataset
from patients.models import Patient

pytestmark = pytest.mark.django_db

HOSTILE_LAST, HOSTILE_FIRST = '=HYPERLINK("http://x")', "+cmd|' /C calc'!A0"


def _export(admin_client, action, campaigns):
    url = reverse("admin:notifier_campaign_changelist")
    return admin_client.post(url, {"action": action, "_selected_action": [c.pk for c in campaigns]})


@pytest.fixture
def launched(make_patients, make_campaign, django_capture_on_commit_callbacks):
    """A campaign whose one unreachable patient (no email, no address) has a name a spreadsheet would run."""

    def make_launched(**kwargs):
        campaign = make_campaign(**kwargs)
        with django_capture_on_commit_callbacks(execute=True):
            launch.campaign_launch(campaign=campaign, by=campaign.approved_by)
        return campaign

    make_patients(1)
    make_patients(1, email="", address_line="", last_name=HOSTILE_LAST, first_name=HOSTILE_FIRST,
                  landline_phone="+33299112233", mobile_phone="")  # fmt: skip
    return make_launched


def test_the_admins_csv_call_list_neutralises_formulas_and_keeps_phone_numbers(admin_client, launched):
    # given a launched campaign with the hostile patient unreachable
    campaign = launched()
    # when the call-centre list is exported as CSV
    response = _export(admin_client, "export_call_centre_list", [campaign])
    # then the names are text, the phone number readable
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["nom"], r["prénom"], r["téléphone"]) for r in rows] == [
        (f"'{HOSTILE_LAST}", f"'{HOSTILE_FIRST}", "02 99 11 22 33")
    ]


def test_the_admins_xlsx_call_list_has_no_formula_cell(admin_client, launched):
    # given
    campaign = launched()
    # when the call-centre list is exported as XLSX
    response = _export(admin_client, "export_call_centre_list_xlsx", [campaign])
    # then no cell is a formula and the names read as written
    assert response["Content-Disposition"].endswith('centre-appels.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    values = list(sheet.values)
    assert values[0][:3] == ("référence du courrier", "civilité", "nom")
    assert values[1][2:4] == (f"'{HOSTILE_LAST}", f"'{HOSTILE_FIRST}")


def test_several_campaigns_export_as_one_list_with_one_header_row(admin_client, launched):
    # given two launched campaigns of the same laboratory, the same patient unreachable in both
    first, second = launched(), launched()
    # when both are selected for the export
    response = _export(admin_client, "export_call_centre_list", [first, second])
    # then one header row, the patient once (phoned once), and each campaign's trail records the export
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [line[0] for line in lines].count("référence du courrier") == 1
    assert [line[2] for line in lines[1:]] == [f"'{HOSTILE_LAST}"]
    assert AuditEvent.objects.filter(action="campaign", extra__campaign_action="export_call_centre").count() == 2


def _csv_rows(dataset):
    return list(csv.DictReader(io.StringIO(dataset.export("csv"))))


def test_the_call_list_has_french_headers_the_reason_and_the_letter_reference(make_patients, launched):
    # given a launched campaign: one patient reached by email, one unreachable with a mobile
    make_patients(1, email="", address_line="", landline_phone="", mobile_phone="+33612345678", last_name="Mobile")
    campaign = launched()
    # when the list is built
    rows = [r for r in _csv_rows(call_centre_dataset(campaigns=[campaign])) if r["nom"] == "Mobile"]
    # then French headers, the national format, why they were not reached and the reference of their notice
    assert list(rows[0]) == ["référence du courrier", "civilité", "nom", "prénom", "téléphone", "autre téléphone",
                             "motif (non joint)", "code postal", "ville"]  # fmt: skip
    assert rows[0]["téléphone"] == "06 12 34 56 78"
    assert rows[0]["motif (non joint)"] == "courrier : injoignable"
    expected = Notification.objects.get(campaign=campaign, patient__last_name="Mobile").reference
    assert rows[0]["référence du courrier"] == expected


def test_the_call_list_leaves_out_patients_with_no_phone(make_patients, launched):
    # given an unreachable patient with no phone at all
    make_patients(1, email="", address_line="", landline_phone="", mobile_phone="", last_name="Sansphone")
    campaign = launched()
    # when / then only those who can be phoned are listed
    names = [r["nom"] for r in _csv_rows(call_centre_dataset(campaigns=[campaign]))]
    assert "Sansphone" not in names
    assert names == [f"'{HOSTILE_LAST}"]


def test_the_call_list_leaves_out_a_patient_whose_letter_came_back_deceased(make_patients, launched):
    # given a patient whose letter came back « décédé », with a phone
    (dead,) = make_patients(1, email="", landline_phone="+33299000000", last_name="Defunt")
    campaign = launched()
    # (what postal.returned_mail_record writes for « décédé »: the letter's reason and the patient's mark)
    Notification.objects.filter(campaign=campaign, patient=dead).update(
        status=Notification.Status.RETURNED, return_reason=Notification.ReturnReason.DECEASED
    )
    Patient.objects.filter(pk=dead.pk).update(deceased_reported_at=campaign.created_at)
    # when / then they are not phoned
    names = [r["nom"] for r in _csv_rows(call_centre_dataset(campaigns=[campaign]))]
    assert "Defunt" not in names


def test_a_returned_letter_gives_its_return_reason(make_patients, launched):
    # given a patient whose letter came back, address unknown
    (moved,) = make_patients(1, email="", landline_phone="+33299000001", mobile_phone="", last_name="Parti")
    campaign = launched()
    Notification.objects.filter(campaign=campaign, patient=moved).update(
        status=Notification.Status.RETURNED, return_reason=Notification.ReturnReason.MOVED
    )
    # when
    (row,) = [r for r in _csv_rows(call_centre_dataset(campaigns=[campaign])) if r["nom"] == "Parti"]
    # then the agent can say why
    assert row["motif (non joint)"] == "courrier revenu : n'habite pas à l'adresse indiquée (NPAI)"
    assert row["téléphone"] == "02 99 00 00 01"
