"""Claims carry a lease: a dead worker's rows are sending again within about a minute, never sent twice.

SQLite, one thread: the "workers" are successive calls with their own claims, and time-machine moves the
clock past a lease instead of waiting for it.
"""

from __future__ import annotations

import datetime as dt
import time
from unittest import mock

import pytest
import time_machine
from django.core.mail import get_connection
from django.utils import timezone

from notifier import launch, notice_email, sending
from notifier.models import Notification

pytestmark = pytest.mark.django_db
S = Notification.Status
START = dt.datetime(2031, 3, 4, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def email_rows(make_patients, make_campaign, approver, django_capture_on_commit_callbacks):
    """Queued email rows of a running campaign; the broker is left out (each test hands ids over itself)."""

    def make(n: int) -> list[int]:
        make_patients(n)
        campaign = make_campaign("email")
        with mock.patch("notifier.queue.emails_send_enqueue"), django_capture_on_commit_callbacks(execute=True):
            launch.campaign_launch(campaign=campaign, by=approver)
        return list(Notification.objects.filter(campaign=campaign).order_by("pk").values_list("pk", flat=True))

    return make


def statuses(ids: list[int]) -> list[str]:
    return list(Notification.objects.filter(pk__in=ids).order_by("pk").values_list("status", flat=True))


def test_a_dead_workers_rows_are_queued_again_once_their_lease_runs_out_and_not_before(smtp, email_rows, settings):
    settings.CAMPAIGN_LEASE_SECONDS = 45
    ids = email_rows(3)
    with time_machine.travel(START, tick=False) as clock:
        # given a worker that claimed three rows over SMTP and was then killed (nothing after its claim)
        token = sending.claim_token()
        assert sending.notifications_claim(notification_ids=ids, claimed_by=token, lease_seconds=45) == ids
        # when the tick runs while the lease still holds
        clock.shift(44)
        with mock.patch("notifier.queue.emails_send_enqueue") as enqueue:
            launch.campaigns_tick()
        # then the rows stay with their worker
        assert statuses(ids) == [S.SENDING] * 3 and not enqueue.called
        # and once the lease has run out (45 s, far below CAMPAIGN_STUCK_SECONDS) the tick takes them back
        clock.shift(2)
        with mock.patch("notifier.queue.emails_send_enqueue") as enqueue:
            result = launch.campaigns_tick()
        assert result["released"] == 3
        assert statuses(ids) == [S.QUEUED] * 3
        enqueue.assert_called_once_with(notification_ids=ids)
        assert not Notification.objects.filter(pk__in=ids).exclude(claimed_by="").exists()
    # and the next worker sends each of them once
    assert sending.notifications_send(notification_ids=ids) == 3
    smtp.wait(3)
    assert len(smtp.received) == 3 and statuses(ids) == [S.SENT] * 3


def test_a_late_first_worker_cannot_mark_a_row_taken_back_and_its_message_is_dropped(smtp, email_rows, settings):
    settings.CAMPAIGN_LEASE_SECONDS = 45
    (row_id,) = email_rows(1)
    original_commit = sending.SentMark.commit
    second: dict[str, str] = {}
    with time_machine.travel(START, tick=False) as clock:

        def first_worker_stalls_before_its_mark(mark):
            # worker A has written the body, not the dot, and hangs past its lease...
            clock.shift(60)
            with mock.patch("notifier.queue.emails_send_enqueue"):
                assert launch.campaigns_tick()["released"] == 1
            # ...meanwhile worker B claims the row again (and is itself about to send it)
            second["token"] = sending.claim_token()
            assert sending.notifications_claim(notification_ids=[row_id], claimed_by=second["token"], lease_seconds=45)
            return original_commit(mark)  # then A's mark comes, late

        with mock.patch.object(sending.SentMark, "commit", first_worker_stalls_before_its_mark):
            # when worker A sends the row
            sent_by_a = sending.notifications_send(notification_ids=[row_id])
        # then A's mark was refused (CommitRefused): its final dot never went out, the server dropped it
        assert sent_by_a == 0
        time.sleep(0.3)
        assert smtp.received == []
        assert Notification.objects.get(pk=row_id).status == S.SENDING
        # and B, going on, sends the row: one message in all, confirmed, under B's claim
        row = Notification.objects.select_related("campaign__laboratory", "patient").get(pk=row_id)
        with get_connection() as connection:
            assert sending._send_claimed(row, connection, claimed_by=second["token"]) is None
    smtp.wait(1)
    time.sleep(0.2)
    assert len(smtp.received) == 1
    row.refresh_from_db()
    assert (row.status, row.claimed_by, row.attempts) == (S.SENT, second["token"], 2)
    assert notice_email.message_id_for(row).encode() in smtp.received[0]


def test_a_live_worker_renews_its_lease_and_keeps_its_rows_through_a_long_chunk(smtp, email_rows, settings):
    settings.CAMPAIGN_LEASE_SECONDS = 30
    ids = email_rows(6)
    original_send = sending._send_claimed
    refused: list[int] = []
    with time_machine.travel(START, tick=False) as clock:

        def slow_send(notification, connection, **kwargs):
            clock.shift(12)  # each message takes 12 s: the chunk lasts 72 s, more than twice the lease
            with mock.patch("notifier.queue.emails_send_enqueue"):
                launch.campaigns_tick()
            outcome = original_send(notification, connection, **kwargs)
            if outcome is False:
                refused.append(notification.pk)
            return outcome

        with mock.patch.object(sending, "_send_claimed", side_effect=slow_send):
            sent = sending.notifications_send(notification_ids=ids)
    # then no row was taken from the working worker: all sent, once each
    assert (sent, refused) == (6, [])
    smtp.wait(6)
    assert len(smtp.received) == 6 and statuses(ids) == [S.SENT] * 6


def test_an_smtp_claim_is_short_and_an_esp_claim_lasts_until_its_webhook_can_settle_the_row(smtp, email_rows, settings):
    settings.CAMPAIGN_LEASE_SECONDS, settings.CAMPAIGN_STUCK_SECONDS = 45, 600
    ids = email_rows(2)
    leases: list[float] = []

    def record(notification, connection, **kwargs):
        row = Notification.objects.get(pk=notification.pk)
        leases.append((row.lease_until - row.sending_at).total_seconds())
        return True

    with mock.patch.object(sending, "_send_claimed", side_effect=record):
        # when one row goes over SMTP (two phases: a late mark is refused) and one through an ESP's API
        sending.notifications_send(notification_ids=ids[:1])
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        sending.notifications_send(notification_ids=ids[1:])
    # then the SMTP claim is taken back after 45 s, the ESP one (a call that cannot be taken back) after 600 s
    assert leases == [45.0, 600.0]


def test_rows_claimed_before_leases_existed_are_still_taken_back_after_the_stuck_threshold(email_rows, settings):
    ids = email_rows(1)
    # given a row left in sending without a lease (claimed by a worker of the previous version)
    Notification.objects.filter(pk__in=ids).update(
        status=S.SENDING, sending_at=timezone.now() - dt.timedelta(seconds=settings.CAMPAIGN_STUCK_SECONDS + 5),
        attempts=1, lease_until=None,
    )  # fmt: skip
    with mock.patch("notifier.queue.emails_send_enqueue") as enqueue:
        result = launch.campaigns_tick()
    assert result["released"] == 1 and enqueue.called
