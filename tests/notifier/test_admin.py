from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from notifier import campaigns
from notifier.models import Campaign

pytestmark = pytest.mark.django_db


def act(admin_client, action: str, campaign: Campaign):
    url = reverse("admin:notifier_campaign_changelist")
    return admin_client.post(url, {"action": action, "_selected_action": [campaign.pk]}, follow=False)


def test_the_admin_approves_and_launches_through_the_same_services(
    admin_client, make_patients, make_campaign, django_capture_on_commit_callbacks
):
    # given a draft created by alice and 2 patients with an email
    make_patients(2)
    campaign = make_campaign("email", approve=False)
    # when the (other) admin user approves then launches it from the change list
    act(admin_client, "approve", campaign)
    with django_capture_on_commit_callbacks(execute=True):
        act(admin_client, "launch", campaign)
    # then
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.COMPLETED
    assert len(mail.outbox) == 2
    actions = [event.extra["campaign_action"] for event in campaigns.campaign_trail_events(campaign)]
    assert actions[:3] == ["create", "approve", "launch"]


def test_the_admin_pages_of_the_engine_answer(admin_client, make_patients, make_campaign):
    make_patients(1)
    make_campaign()
    for name in ("campaign", "notification", "deliveryevent", "printbatch"):
        url = reverse(f"admin:notifier_{name}_changelist")
        assert admin_client.get(url).status_code == 200, name
    assert admin_client.get(reverse("admin:notifier_notification_import")).status_code == 200


def test_the_call_centre_list_exports_unreachable_patients_with_their_phones(
    admin_client, make_patients, make_campaign, django_capture_on_commit_callbacks
):
    make_patients(1)
    make_patients(1, email="", address_line="", last_name="Injoignable", landline_phone="+33299112233")
    campaign = make_campaign()
    with django_capture_on_commit_callbacks(execute=True):
        act(admin_client, "launch", campaign)
    response = act(admin_client, "export_call_centre_list", campaign)
    body = response.content.decode()
    assert response["Content-Type"].startswith("text/csv")
    assert "Injoignable" in body and "+33299112233" in body
    assert body.count("\n") == 2  # header + the one unreachable patient
    assert "export_call_centre" in [
        event.extra["campaign_action"] for event in campaigns.campaign_trail_events(campaign)
    ]


def test_the_add_form_refuses_an_unknown_email_template_with_a_field_error(admin_client, breach, laboratory):
    url = reverse("admin:notifier_campaign_add")
    form = {"breach": breach.pk, "laboratory": laboratory.pk, "name": "Vague 1", "language": "fr",
            "channel_policy": "post", "letter_template": "", "email_template": "inexistant",
            }  # fmt: skip
    response = admin_client.post(url, form)
    assert response.status_code == 200
    assert "unknown email template" in response.content.decode()
    assert not Campaign.objects.exists()
    # and with the real one, the campaign is created by the same service (trail, pinned letter version)
    response = admin_client.post(url, {**form, "email_template": "breach_notice"})
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.letter_template and campaign.email_template == "breach_notice"
    assert [event.extra["campaign_action"] for event in campaigns.campaign_trail_events(campaign)] == ["create"]
