from __future__ import annotations

import base64
import json
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client
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


# --- bad input: a 4xx, never a 500; in a batch, the good events still count -------------------------
def sendgrid_event(notification: Notification, event: str, event_id: str, **extra) -> dict:
    """A SendGrid-shaped event (our metadata comes back merged into the event, as SendGrid does)."""
    return {"event": event, "timestamp": int(timezone.now().timestamp()), "sg_event_id": event_id,
            "anymail_id": notification.provider_message_id, "notification_id": str(notification.pk), **extra}  # fmt: skip


@pytest.fixture
def two_sent_emails(make_patients, make_campaign, approver, django_capture_on_commit_callbacks):
    make_patients(2)
    campaign = make_campaign("email_then_post")
    with django_capture_on_commit_callbacks(execute=True):
        launch.campaign_launch(campaign=campaign, by=approver)
    return list(Notification.objects.filter(campaign=campaign, channel="email").order_by("pk"))


def test_one_bad_element_in_a_sendgrid_batch_loses_only_itself(
    client, settings, two_sent_emails, django_capture_on_commit_callbacks, caplog
):
    # given a batch: a good event, a timestamp that is not a number, a bare string, another good event
    first, second = two_sent_emails
    batch = [sendgrid_event(first, "delivered", "sg-1"), {"event": "delivered", "timestamp": "hier"}, "x",
             sendgrid_event(second, "delivered", "sg-2")]  # fmt: skip
    # when posted with the right credentials
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/anymail/sendgrid/tracking/", data=json.dumps(batch), content_type="application/json",
                               **auth(settings))  # fmt: skip
    # then both good events are applied, the two bad ones counted and logged (their kind, not their content)
    assert response.status_code == 200
    assert response.json() == {"recus": 2, "rejetes": 2}
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == S.DELIVERED
    assert "SendGrid webhook: one event rejected (TypeError)" in caplog.text
    assert "hier" not in caplog.text


def test_one_bad_element_in_a_sparkpost_batch_loses_only_itself(
    client, settings, two_sent_emails, django_capture_on_commit_callbacks
):
    # given a SparkPost batch with a number, an event of two classes, an inbound message, and two good events
    first, second = two_sent_emails
    bad_classes = {"msys": {"message_event": {}, "track_event": {}}}
    inbound = {"msys": {"relay_message": {"msg_from": "someone@example.org"}}}
    batch = [7, esp_event(first, "delivery", "sp-1"), bad_classes, inbound, esp_event(second, "bounce", "sp-2")]
    # when posted
    response = post(client, settings, batch, django_capture_on_commit_callbacks)
    # then the two good events are applied
    assert response.status_code == 200
    assert response.json() == {"recus": 2, "rejetes": 3}
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (S.DELIVERED, S.BOUNCED)


def test_a_batch_with_no_readable_event_is_a_400_and_records_nothing(
    client, settings, sent_email, django_capture_on_commit_callbacks
):
    response = post(client, settings, [7, "x", {"msys": []}], django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert "aucun événement lisible" in response.content.decode()
    assert not DeliveryEvent.objects.exists()


@pytest.mark.parametrize(
    ("url", "body", "status", "message"),
    [
        ("/anymail/sparkpost/tracking/", b'[{"msys": {', 400, "contenu du webhook illisible"),
        ("/anymail/sparkpost/tracking/", b"\xff\xfe\x80", 400, "contenu du webhook illisible"),
        ("/anymail/mailgun/tracking/", b"{}", 404, "point d'accès non configuré"),  # no signing key here
        ("/anymail/mandrill/tracking/", b"{}", 404, "point d'accès non configuré"),
        ("/anymail/sendgrid/inbound/", b"{}", 404, ""),  # no mail is received: not mounted
        ("/anymail/nope/tracking/", b"[]", 404, ""),
    ],
)
def test_malformed_unconfigured_or_unknown_webhooks_are_a_4xx_with_a_french_line(settings, url, body, status, message):
    # given a client that shows the 500 page rather than raising
    client = Client(raise_request_exception=False)
    # when the request is posted with the right credentials
    response = client.post(url, data=body, content_type="application/json", **auth(settings))
    # then it is refused with the expected 4xx and, for the webhook endpoints, one French line
    assert response.status_code == status
    assert message in response.content.decode("utf-8", "replace")
    assert b"Traceback" not in response.content


def test_an_event_with_odd_metadata_and_no_time_is_still_recorded_by_its_message_id(
    client, settings, sent_email, django_capture_on_commit_callbacks
):
    # given a SparkPost event whose metadata is a list (not an object) and whose timestamp is missing
    event = esp_event(sent_email, "delivery", "ev-odd", rcpt_meta=["notification_id", "1"])
    del event["msys"]["message_event"]["timestamp"]
    # when posted
    response = post(client, settings, [event], django_capture_on_commit_callbacks)
    # then it is found by the provider's message id and applied
    assert response.status_code == 200
    sent_email.refresh_from_db()
    assert sent_email.status == S.DELIVERED


def test_a_database_failure_is_still_a_500_so_that_the_provider_retries(settings, sent_email):
    # given the events table is unavailable
    client = Client(raise_request_exception=False)
    with mock.patch("notifier.webhooks.delivery_event_record", side_effect=OperationalError("database is down")):
        # when an event arrives
        response = client.post(URL, data=json.dumps([esp_event(sent_email, "delivery", "ev-db")]),
                               content_type="application/json", **auth(settings))  # fmt: skip
    # then the answer is a 5xx: the provider keeps the batch and sends it again
    assert response.status_code == 500
