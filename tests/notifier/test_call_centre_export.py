"""The campaign admin's call-centre list: the same file as the dashboard's, formula-safe, one header."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from labs.audit import AuditEvent
from notifier import launch

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
                  landline_phone="+33299112233")  # fmt: skip
    return make_launched


def test_the_admins_csv_call_list_neutralises_formulas_and_keeps_phone_numbers(admin_client, launched):
    # given a launched campaign with the hostile patient unreachable
    campaign = launched()
    # when the call-centre list is exported as CSV
    response = _export(admin_client, "export_call_centre_list", [campaign])
    # then the names are text, the phone number readable
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["last_name"], r["first_name"], r["landline_phone"]) for r in rows] == [
        (f"'{HOSTILE_LAST}", f"'{HOSTILE_FIRST}", "+33299112233")
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
    assert values[0][:3] == ("id", "civility", "last_name")
    assert values[1][2:4] == (f"'{HOSTILE_LAST}", f"'{HOSTILE_FIRST}")


def test_several_campaigns_export_as_one_list_with_one_header_row(admin_client, launched):
    # given two launched campaigns of the same laboratory, the same patient unreachable in both
    first, second = launched(), launched()
    # when both are selected for the export
    response = _export(admin_client, "export_call_centre_list", [first, second])
    # then one header row, the patient once (phoned once), and each campaign's trail records the export
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [line[0] for line in lines].count("id") == 1
    assert [line[2] for line in lines[1:]] == [f"'{HOSTILE_LAST}"]
    assert AuditEvent.objects.filter(action="campaign", extra__campaign_action="export_call_centre").count() == 2
