from __future__ import annotations

import base64
import json
from unittest import mock

import pytest
from django.utils import timezone

from notifier import launch
from notifier.models import DeliveryEvent, Notification

pytestmark = pytest.mark.django_db
S = Notification.Status
URL = "/anymail/sparkpost/tracking/"


@pytest.fixture
def sent_email(make_patients, make_campaign, approver, django_capture_on_commit_callbacks):
    """One email notification, sent, in a running email_then_post campaign."""
    make_patients(2)
    campaign = make_campaign("email_then_post")
    with django_capture_on_commit_callbacks(execute=True):
        launch.campaign_launch(campaign=campaign, by=approver)
    return Notification.objects.filter(campaign=campaign).order_by("pk").first()


def auth(settings, secret: str | None = None) -> dict[str, str]:
    token = base64.b64encode((secret or settings.ANYMAIL["WEBHOOK_SECRET"]).encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def esp_event(notification: Notification, event: str, event_id: str, **extra) -> dict:
    """A SparkPost-shaped tracking event (anymail parses it; our metadata comes back in rcpt_meta)."""
    body = {
        "type": event, "event_id": event_id, "rcpt_to": "someone@example.org",
        "timestamp": str(int(timezone.now().timestamp())), "transmission_id": notification.provider_message_id,
        "rcpt_meta": {"notification_id": str(notification.pk)}, **extra,
    }  # fmt: skip
    return {"msys": {"message_event": body}}


def post(client, settings, events, django_capture_on_commit_callbacks, **headers):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(URL, data=json.dumps(events), content_type="application/json", **(headers or auth(settings)))


def test_a_delivered_event_marks_the_email_delivered(client, settings, sent_email, django_capture_on_commit_callbacks):
    response = post(client, settings, [esp_event(sent_email, "delivery", "ev-1")], django_capture_on_commit_callbacks)
    assert response.status_code == 200
    sent_email.refresh_from_db()
    assert sent_email.status == S.DELIVERED


def test_a_replayed_event_is_recorded_once(client, settings, sent_email, django_capture_on_commit_callbacks):
    event = esp_event(sent_email, "delivery", "ev-dup")
    post(client, settings, [event, event], django_capture_on_commit_callbacks)
    post(client, settings, [event], django_capture_on_commit_callbacks)
    assert DeliveryEvent.objects.filter(notification=sent_email, source="esp").count() == 1


def test_a_late_delivered_never_overrides_a_bounce_and_the_bounce_falls_back_to_post(
    client, settings, sent_email, django_capture_on_commit_callbacks
):
    # given the bounce arrives first, then an out-of-order "delivered"
    bounce = esp_event(sent_email, "bounce", "ev-b", bounce_class="10", raw_reason="550 mailbox unavailable")
    post(client, settings, [bounce], django_capture_on_commit_callbacks)
    post(client, settings, [esp_event(sent_email, "delivery", "ev-d")], django_capture_on_commit_callbacks)
    # then
    sent_email.refresh_from_db()
    assert sent_email.status == S.BOUNCED
    assert "550" in sent_email.last_error
    fallback = Notification.objects.get(campaign=sent_email.campaign, patient=sent_email.patient, channel="post")
    assert fallback.is_fallback and fallback.status == S.QUEUED and fallback.print_batch is not None
    assert DeliveryEvent.objects.filter(notification=sent_email).count() == 2


def test_a_webhook_with_bad_credentials_is_rejected_and_changes_nothing(
    client, settings, sent_email, django_capture_on_commit_callbacks
):
    response = post(client, settings, [esp_event(sent_email, "bounce", "ev-x")], django_capture_on_commit_callbacks,
                    **auth(settings, "intruder:guess"))  # fmt: skip
    assert 400 <= response.status_code < 500
    sent_email.refresh_from_db()
    assert sent_email.status == S.SENT
    assert not DeliveryEvent.objects.exists()


def test_the_webhook_answers_without_applying_inline(client, settings, sent_email, django_capture_on_commit_callbacks):
    # given the apply task is deferred (not run)
    with mock.patch("notifier.tasks.delivery_event_apply_task.delay") as deferred:
        post(client, settings, [esp_event(sent_email, "delivery", "ev-q")], django_capture_on_commit_callbacks)
    # then the event is recorded, its id handed to a task, the row not yet changed
    event = DeliveryEvent.objects.get()
    deferred.assert_called_once_with(event.pk)
    assert not event.applied
    sent_email.refresh_from_db()
    assert sent_email.status == S.SENT


def test_the_esp_saying_it_has_the_message_settles_a_row_its_worker_left_in_sending(
    client, settings, sent_email, django_capture_on_commit_callbacks
):
    from django.core import mail

    # given a worker that died after the ESP's API accepted the message, before marking the row sent
    Notification.objects.filter(pk=sent_email.pk).update(status=S.SENDING, sending_at=timezone.now())
    sent_before = len(mail.outbox)
    # when the ESP's "injection" (anymail: queued) event arrives
    post(client, settings, [esp_event(sent_email, "injection", "ev-q")], django_capture_on_commit_callbacks)
    # then the row is sent, and the tick, long after, neither re-queues nor re-sends it
    sent_email.refresh_from_db()
    assert sent_email.status == S.SENT
    later = timezone.now() + timezone.timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        launch.campaigns_tick(now=later)
    sent_email.refresh_from_db()
    assert sent_email.status == S.SENT and len(mail.outbox) == sent_before
