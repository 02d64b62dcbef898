from __future__ import annotations

import html
import re

import pytest
from django.core import mail
from django.urls import reverse

from notifier import campaigns, launch
from notifier.models import Campaign, Notification

pytestmark = pytest.mark.django_db


def act(admin_client, action: str, campaign: Campaign, **extra):
    url = reverse("admin:notifier_campaign_changelist")
    return admin_client.post(url, {"action": action, "_selected_action": [campaign.pk], **extra}, follow=False)


def confirm(admin_client, action: str, campaign: Campaign):
    """The confirm button of the gate page: the same action posted again with confirm=yes."""
    return act(admin_client, action, campaign, confirm="yes")


def test_the_admin_approves_and_launches_through_the_same_services(
    admin_client, make_patients, make_campaign, django_capture_on_commit_callbacks
):
    # given a draft created by alice and 2 patients with an email
    make_patients(2)
    campaign = make_campaign("email", approve=False)
    # when the (other) admin user approves then launches it from the change list, confirming each
    confirm(admin_client, "approve", campaign)
    with django_capture_on_commit_callbacks(execute=True):
        confirm(admin_client, "launch", campaign)
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
        confirm(admin_client, "launch", campaign)
    response = act(admin_client, "export_call_centre_list", campaign)
    body = response.content.decode()
    assert response["Content-Type"].startswith("text/csv")
    assert "Injoignable" in body and "02 99 11 22 33" in body  # the national format (issue 14)
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


# --- the gate and confirmation pages in front of approve and launch ------------------------------------
def _text(response) -> str:
    return html.unescape(response.content.decode())


def test_approve_opens_a_page_listing_what_is_missing_and_changes_nothing(
    admin_client, make_patients, make_campaign, breach, laboratory
):
    # given a draft whose breach has a title only and whose laboratory has no DPO contact
    make_patients(2)
    breach.description, breach.period_start, breach.period_end = "", None, None
    breach.save()
    laboratory.dpo_name = laboratory.dpo_email = laboratory.dpo_phone = ""
    laboratory.save()
    campaign = make_campaign(approve=False)
    # when the approve action is chosen
    response = act(admin_client, "approve", campaign)
    # then a page lists each missing element on its own line, in French, with where to complete it
    page = _text(response)
    assert response.status_code == 200
    assert "Approbation impossible" in page
    for line in ("Ce qui s'est passé", "Quand : la période", "Contact : le laboratoire n'a pas de délégué"):
        assert line in page, line
    assert reverse("admin:labs_laboratory_change", args=[laboratory.pk]) in page
    assert 'value="Oui, approuver"' not in page
    # and posting the confirmation anyway is refused in French, the campaign still a draft
    refused = confirm(admin_client, "approve", campaign)
    assert refused.status_code == 200 and "Approbation refusée" in _text(refused)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT


def test_the_confirmation_page_says_how_many_letters_emails_and_exclusions_then_approves(
    admin_client, make_patients, make_campaign, approver, breach, laboratory, django_capture_on_commit_callbacks
):
    # given 2 patients told by a first campaign, then 3 new patients, one without an email
    make_patients(2)
    first = make_campaign("post_and_email")
    with django_capture_on_commit_callbacks(execute=False):
        launch.campaign_launch(campaign=first, by=approver)
    make_patients(2)
    make_patients(1, email="")
    campaign = make_campaign("post_and_email", approve=False)
    # when the approve action is chosen
    page = _text(act(admin_client, "approve", campaign))
    # then the page says what the launch will create, and links to the letter preview
    forecast = page[page.index('id="gate-forecast"') : page.index("Ce que la lettre dira")]
    forecast = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", forecast))
    assert "3 lettres" in forecast and "2 courriels" in forecast
    assert "2 patients exclus : déjà informés par une autre campagne" in forecast
    assert reverse("letters:preview", args=[breach.pk, laboratory.pk]) in page
    assert "Fuite de données" in page or breach.title in page
    assert 'value="Oui, approuver"' in page
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT  # nothing yet
    # when confirmed
    response = confirm(admin_client, "approve", campaign)
    # then approved, back to the list
    assert response.status_code == 302
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.APPROVED


def test_the_launch_page_confirms_before_writing_any_row(
    admin_client, make_patients, make_campaign, django_capture_on_commit_callbacks
):
    make_patients(2)
    campaign = make_campaign("post")
    page = _text(act(admin_client, "launch", campaign))
    assert "Lancer maintenant crée" in page and 'value="Oui, lancer maintenant"' in page
    assert not Notification.objects.exists()
    with django_capture_on_commit_callbacks(execute=False):
        assert confirm(admin_client, "launch", campaign).status_code == 302
    assert Notification.objects.filter(campaign=campaign).count() == 2


def test_the_creator_is_told_four_eyes_on_the_page_and_offered_no_button(
    client, make_patients, make_campaign, author, login_verified
):
    make_patients(1)
    campaign = make_campaign(approve=False)
    login_verified(client, author)
    page = _text(act(client, "approve", campaign))
    assert "Quatre yeux : vous avez créé cette campagne" in page
    assert 'value="Oui, approuver"' not in page


def test_two_campaigns_selected_at_once_are_asked_one_at_a_time(admin_client, make_patients, make_campaign):
    make_patients(1)
    campaigns_ = [make_campaign(approve=False), make_campaign(approve=False)]
    url = reverse("admin:notifier_campaign_changelist")
    response = admin_client.post(
        url, {"action": "approve", "_selected_action": [c.pk for c in campaigns_]}, follow=True
    )
    assert response.status_code == 200
    assert "Choisissez une seule campagne" in _text(response)
    assert not Campaign.objects.filter(status=Campaign.Status.APPROVED).exists()


def test_the_campaign_page_shows_what_is_missing_before_approval(admin_client, make_campaign, breach):
    breach.description = ""
    breach.save()
    campaign = make_campaign(approve=False)
    page = _text(admin_client.get(reverse("admin:notifier_campaign_change", args=[campaign.pk])))
    assert "Ce qui s'est passé : la description en langage clair de la violation est vide." in page
