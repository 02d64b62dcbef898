from __future__ import annotations

import datetime as dt
import re
import smtplib
from pathlib import Path
from unittest import mock

import pytest
from django.core import mail
from django.db import models
from django.utils import timezone

from notifier import campaigns, codes, launch, selectors, sending
from notifier.models import Campaign, Notification

pytestmark = pytest.mark.django_db
S = Notification.Status


def launched(campaign, by, capture):
    with capture(execute=True):
        return launch.campaign_launch(campaign=campaign, by=by)


def test_the_creator_cannot_approve_their_own_campaign(make_campaign, author):
    # given a draft created by alice
    campaign = make_campaign(approve=False)
    # when alice tries to approve it, then it is refused and stays a draft
    with pytest.raises(campaigns.CampaignError, match="quatre yeux|Quatre yeux"):
        campaigns.campaign_approve(campaign=campaign, by=author)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT


def test_a_second_staff_member_approves_and_the_trail_says_who(make_campaign, approver, author):
    campaign = make_campaign()
    assert campaign.status == Campaign.Status.APPROVED
    assert campaign.approved_by == approver
    trail = [(e.extra["campaign_action"], e.actor_username) for e in campaigns.campaign_trail_events(campaign)]
    assert trail == [("create", author.username), ("approve", approver.username)]


def test_a_draft_cannot_be_launched(make_campaign, approver, django_capture_on_commit_callbacks):
    campaign = make_campaign(approve=False)
    with pytest.raises(campaigns.CampaignError):
        launched(campaign, approver, django_capture_on_commit_callbacks)
    assert not Notification.objects.exists()


def test_launch_creates_one_row_per_patient_and_usable_channel(
    make_patients, make_campaign, approver, django_capture_on_commit_callbacks
):
    # given 3 patients with address and email, 1 without email, 1 with neither address nor email
    make_patients(3)
    make_patients(1, email="")
    make_patients(1, email="", address_line="")
    campaign = make_campaign("post_and_email")
    # when
    counts = launched(campaign, approver, django_capture_on_commit_callbacks)
    # then
    assert counts == {"patients": 5, "post": 4, "email": 3, "unreachable": 1, "excluded": 0}
    by = selectors.campaign_counts(campaign=campaign)
    assert by == {"email": {"sent": 3}, "post": {"queued": 4, "unreachable": 1}}  # letters in a print batch
    assert len(mail.outbox) == 3
    assert selectors.unreachable_patients(campaign=campaign).count() == 1


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("post", {"post": 2, "email": 0, "unreachable": 1}),
        ("email", {"post": 0, "email": 2, "unreachable": 1}),
        ("post_then_email", {"post": 2, "email": 0, "unreachable": 1}),
        ("email_then_post", {"post": 0, "email": 2, "unreachable": 1}),
    ],
)
def test_each_channel_policy_picks_its_primary_channel(
    policy, expected, make_patients, make_campaign, approver, django_capture_on_commit_callbacks
):
    make_patients(2)
    make_patients(1, email="", address_line="")
    counts = launched(make_campaign(policy), approver, django_capture_on_commit_callbacks)
    assert {k: counts[k] for k in expected} == expected


def test_launching_twice_is_refused_and_creates_nothing_twice(
    make_patients, make_campaign, approver, django_capture_on_commit_callbacks
):
    make_patients(4)
    campaign = make_campaign()
    launched(campaign, approver, django_capture_on_commit_callbacks)
    with pytest.raises(campaigns.CampaignError):
        launched(campaign, approver, django_capture_on_commit_callbacks)
    assert Notification.objects.filter(campaign=campaign).count() == 8
    assert len(mail.outbox) == 4


def test_the_email_is_neutral_and_carries_the_code_only_in_its_body(
    make_patients, make_campaign, approver, django_capture_on_commit_callbacks
):
    # given a patient whose leaked data includes a sensitive class
    (patient,) = make_patients(1, sensitive_mask=2, first_name="Zoé", last_name="Quintal")
    campaign = make_campaign("email")
    # when
    launched(campaign, approver, django_capture_on_commit_callbacks)
    # then
    (message,) = mail.outbox
    code = codes.status_code_for(campaign=campaign, patient=patient)
    html = message.alternatives[0][0]
    assert code in message.body and code in html
    assert codes.verification_phrase_for(campaign=campaign, patient=patient) in message.body
    assert "/verifier/" in message.body
    assert "href" not in html and "?" + code not in html and "#" + code not in html
    assert not message.attachments
    for word in ("VIH", "HIV", "Quintal", "Zoé", "grossesse", "cancer"):
        assert word not in message.subject + message.body + html
    assert "numéro de sécurité sociale" in message.body and "social security number" in message.body
    notification = Notification.objects.get(patient=patient)
    assert notification.provider_message_id == message.extra_headers["Message-ID"]
    assert notification.code_digest == codes.status_code_digest(code.lower().replace("-", " "))


def test_sending_one_notification_twice_sends_one_message(
    make_patients, make_campaign, approver, django_capture_on_commit_callbacks
):
    make_patients(1)
    campaign = make_campaign("email")
    with mock.patch("notifier.queue.emails_send_enqueue"):
        launched(campaign, approver, django_capture_on_commit_callbacks)
    notification = Notification.objects.get(campaign=campaign)
    # when
    first = sending.notification_send(notification_id=notification.pk)
    second = sending.notification_send(notification_id=notification.pk)
    # then
    assert (first, second) == (True, False)
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert notification.status == S.SENT and notification.attempts == 1


def test_a_paused_campaign_claims_nothing_until_resumed(
    make_patients, make_campaign, approver, django_capture_on_commit_callbacks
):
    make_patients(3)
    campaign = make_campaign("email")
    with mock.patch("notifier.queue.emails_send_enqueue"):
        launched(campaign, approver, django_capture_on_commit_callbacks)
    campaigns.campaign_pause(campaign=campaign, by=approver)
    ids = list(Notification.objects.values_list("pk", flat=True))
    # when a send task runs while paused
    assert sending.notifications_send(notification_ids=ids) == 0
    assert len(mail.outbox) == 0
    # then resuming sends everything once and completes the campaign
    with django_capture_on_commit_callbacks(execute=True):
        campaigns.campaign_resume(campaign=campaign, by=approver)
    assert len(mail.outbox) == 3
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED


def test_cancel_stops_what_is_not_sent_and_keeps_what_is(
    make_patients, make_campaign, approver, django_capture_on_commit_callbacks
):
    make_patients(2)
    campaign = make_campaign("post_and_email")
    launched(campaign, approver, django_capture_on_commit_callbacks)
    campaigns.campaign_cancel(campaign=campaign, by=approver)
    assert selectors.campaign_counts(campaign=campaign) == {"email": {"sent": 2}, "post": {"cancelled": 2}}


def test_a_provider_outage_keeps_rows_queued_and_a_later_retry_sends_once(
    make_patients, make_campaign, approver, django_capture_on_commit_callbacks
):
    make_patients(2)
    campaign = make_campaign("email")
    with mock.patch("notifier.queue.emails_send_enqueue"):
        launched(campaign, approver, django_capture_on_commit_callbacks)
    ids = list(Notification.objects.order_by("pk").values_list("pk", flat=True))
    # when the SMTP server drops the connection
    outage = mock.patch("django.core.mail.EmailMessage.send", side_effect=smtplib.SMTPServerDisconnected("gone"))
    with outage, pytest.raises(sending.TransientSendError):
        sending.notifications_send(notification_ids=ids)
    # then nothing is lost: the row is queued again with its attempt counted
    assert list(Notification.objects.order_by("pk").values_list("status", "attempts")) == [(S.QUEUED, 1), (S.QUEUED, 0)]
    assert sending.notifications_send(notification_ids=ids) == 2
    assert len(mail.outbox) == 2


def test_a_refused_recipient_is_bounced_and_falls_back_to_post(
    make_patients, make_campaign, approver, django_capture_on_commit_callbacks
):
    (patient,) = make_patients(1)
    campaign = make_campaign("email_then_post")
    refused = smtplib.SMTPRecipientsRefused({patient.email: (550, b"no such user")})
    with mock.patch("django.core.mail.EmailMessage.send", side_effect=refused):
        launched(campaign, approver, django_capture_on_commit_callbacks)
    assert selectors.campaign_counts(campaign=campaign) == {"email": {"bounced": 1}, "post": {"queued": 1}}
    assert Notification.objects.get(channel="post").is_fallback


def test_the_tick_requeues_a_row_left_sending_by_a_dead_worker_and_completes_the_campaign(
    make_patients, make_campaign, approver, django_capture_on_commit_callbacks
):
    make_patients(1)
    campaign = make_campaign("email")
    with mock.patch("notifier.queue.emails_send_enqueue"):
        launched(campaign, approver, django_capture_on_commit_callbacks)
    # given a worker died after claiming the row
    long_ago = timezone.now() - dt.timedelta(hours=1)
    Notification.objects.update(status=S.SENDING, sending_at=long_ago, attempts=1)
    # when the periodic task runs
    result = launch.campaigns_tick()
    # then the row is sent once and the campaign completes from database counts
    assert result["requeued"] == 1
    assert len(mail.outbox) == 1
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED


def test_a_row_interrupted_too_often_ends_failed(
    make_patients, make_campaign, approver, django_capture_on_commit_callbacks, settings
):
    make_patients(1)
    campaign = make_campaign("email")
    with mock.patch("notifier.queue.emails_send_enqueue"):
        launched(campaign, approver, django_capture_on_commit_callbacks)
    Notification.objects.update(
        status=S.SENDING, sending_at=timezone.now() - dt.timedelta(hours=1), attempts=settings.CAMPAIGN_MAX_ATTEMPTS
    )
    assert launch.campaigns_tick()["failed"] == 1
    assert Notification.objects.get().status == S.FAILED
    assert len(mail.outbox) == 0


def test_every_action_the_engine_writes_to_the_trail_has_a_french_label():
    # given the source of every module that writes to the campaign trail
    root = Path(campaigns.__file__).resolve().parents[1]
    sources = "".join(path.read_text() for app in ("notifier", "dashboards") for path in (root / app).rglob("*.py"))
    actions = set(re.findall(r'campaign_trail\(\s*(?:campaign=)?[\w.()=]+,\s*(?:action=)?"(\w+)"', sources))
    # then each action it records is labelled for the campaign's page
    assert {"create", "approve", "launch", "handover", "export_call_centre"} <= actions
    assert actions - set(campaigns.TRAIL_LABELS) == set()


def test_the_launchs_copy_writes_or_defaults_in_the_database_every_required_column():
    # given the columns PostgreSQL's COPY writes at launch (SQLite's bulk_create fills the rest in Python)
    written = set(launch._LAUNCH_COLUMNS) | {"id"}
    # then every NOT NULL column left out of the COPY has a database default, or the launch fails on PostgreSQL
    left_out = [
        field.column
        for field in Notification._meta.concrete_fields
        if field.column not in written and not field.null and field.db_default is models.NOT_PROVIDED
    ]
    assert left_out == []
