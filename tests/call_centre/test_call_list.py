"""The kit page's outbound call list: what the laboratory hands the call centre, never what an agent opens."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from labs import access
from labs.audit import AuditEvent
from notifier import launch
from notifier.models import Notification
from tests.access_fixtures import login_verified, make_staff
from tests.factories import LaboratoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def unreachable(make_patients, make_campaign, django_capture_on_commit_callbacks):
    """A launched campaign: one patient reachable by post, one with only a phone, one deceased with a phone."""
    make_patients(1)
    (phoned,) = make_patients(1, email="", address_line="", last_name="Sansadresse", mobile_phone="+33612345678")
    (deceased,) = make_patients(1, email="", address_line="", last_name="Défunt", mobile_phone="+33698765432")
    campaign = make_campaign()
    with django_capture_on_commit_callbacks(execute=True):
        launch.campaign_launch(campaign=campaign, by=campaign.approved_by)
    deceased.deceased_reported_at = campaign.created_at
    deceased.save(update_fields=["deceased_reported_at"])
    return campaign, phoned


def _url(campaign, fmt):
    return reverse("call_centre:call_list", args=[campaign.laboratory_id, campaign.breach_id, fmt])


def test_the_dpo_downloads_the_call_list_from_the_kit_page(client, laboratory, unreachable):
    # given the laboratory's DPO on the kit page
    campaign, phoned = unreachable
    dpo = make_staff("dpo-liste", role=access.DPO, laboratories=[laboratory])
    login_verified(client, dpo)
    page = client.get(reverse("call_centre:kit", args=[laboratory.pk, campaign.breach_id]))
    assert _url(campaign, "csv") in page.content.decode()
    # when the CSV is downloaded
    response = client.get(_url(campaign, "csv"))
    # then it lists the patient with only a phone, in the national format, and not the deceased one
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["nom"], r["téléphone"]) for r in rows] == [("Sansadresse", "06 12 34 56 78")]
    reference = Notification.objects.get(patient=phoned, channel=Notification.Channel.POST).reference
    assert rows[0]["référence du courrier"] == reference
    # and the campaign's trail says who took it
    assert AuditEvent.objects.filter(actor=dpo, extra__campaign_action="export_call_centre").count() == 1


def test_the_xlsx_call_list_is_a_workbook(client, laboratory, unreachable):
    campaign, _ = unreachable
    login_verified(client, make_staff("ope-liste", role=access.OPERATOR, laboratories=[laboratory]))
    response = client.get(_url(campaign, "xlsx"))
    values = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.values)
    assert values[0][0] == "référence du courrier"
    assert [row[2] for row in values[1:]] == ["Sansadresse"]


def test_an_agent_sees_the_kit_without_the_list_button_and_is_refused_the_list(agent_client, laboratory, unreachable):
    campaign, _ = unreachable
    page = agent_client.get(reverse("call_centre:kit", args=[laboratory.pk, campaign.breach_id]))
    assert page.status_code == 200
    assert "Liste d'appels sortants" not in page.content.decode()
    assert agent_client.get(_url(campaign, "csv")).status_code == 403


def test_another_laboratorys_dpo_gets_a_404_and_an_unknown_format_a_404(client, unreachable):
    campaign, _ = unreachable
    other = make_staff("dpo-autre", role=access.DPO, laboratories=[LaboratoryFactory(code="LABZ")])
    login_verified(client, other)
    assert client.get(_url(campaign, "csv")).status_code == 404
    login_verified(client, make_staff("dpo-a", role=access.DPO, laboratories=[campaign.laboratory]))
    assert client.get(_url(campaign, "pdf")).status_code == 404
