"""`campaign status` says which rows are stalled and when they go again; `campaign unconfirmed` lists the rest."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
from io import StringIO
from unittest import mock

import pytest
import time_machine
from django.core.management import CommandError, call_command

from notifier import launch, notice_email, sending
from notifier.models import Notification

pytestmark = pytest.mark.django_db
S = Notification.Status
START = dt.datetime(2031, 3, 4, 9, 0, tzinfo=dt.UTC)


def run(*args: str) -> str:
    out = StringIO()
    call_command("campaign", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def email_campaign(make_patients, make_campaign, approver, django_capture_on_commit_callbacks):
    def make(n: int, *, enqueue: bool):
        make_patients(n)
        campaign = make_campaign("email")
        # enqueue: the embedded shape (eager tasks, emails to locmem); otherwise the rows stay queued
        no_broker = contextlib.nullcontext() if enqueue else mock.patch("notifier.queue.emails_send_enqueue")
        with no_broker, django_capture_on_commit_callbacks(execute=True):
            launch.campaign_launch(campaign=campaign, by=approver)
        return campaign

    return make


def test_status_says_in_words_which_rows_a_live_worker_holds_and_which_are_stalled(email_campaign, settings):
    settings.CAMPAIGN_LEASE_SECONDS = 45
    campaign = email_campaign(3, enqueue=False)
    ids = list(Notification.objects.filter(campaign=campaign).values_list("pk", flat=True))
    with time_machine.travel(START, tick=False) as clock:
        # given a worker that claimed the three rows
        token = sending.claim_token()
        sending.notifications_claim(notification_ids=ids, claimed_by=token, lease_seconds=45)
        # when its lease still holds
        clock.shift(10)
        live = run("status", str(campaign.pk))
        live_json = json.loads(run("status", str(campaign.pk), "--json"))
        # then status says they are being sent, by whom, until when
        assert "en cours d'envoi : 3 courriels" in live and token in live and "bloqué" not in live
        assert "en cours (courriel seulement)" in live and "courriel : envoi en cours 3" in live  # words, not codes
        assert live_json["stalled"] == 0
        # when the worker died and its lease ran out 55 s ago
        clock.shift(90)
        stalled = run("status", str(campaign.pk))
        stalled_json = json.loads(run("status", str(campaign.pk), "--json"))
    # then status says they are stalled, since when, and that the repair tick puts them back in the queue
    assert "bloqués : 3 courriels" in stalled and token in stalled
    assert "bail expiré depuis 55 s" in stalled and "remis en file" in stalled
    assert stalled_json["stalled"] == 3
    assert stalled_json["claims"] == [
        {"worker": token, "rows": 3, "lease_until": "2031-03-04T09:00:45+00:00", "stalled": True}
    ]


def sent_with_two_unconfirmed(email_campaign) -> tuple[int, list[Notification], Notification]:
    campaign = email_campaign(3, enqueue=True)
    rows = list(Notification.objects.filter(campaign=campaign).order_by("pk"))
    assert [row.status for row in rows] == [S.SENT] * 3
    # given two rows whose server reply was never recorded (their workers died mid-send)
    Notification.objects.filter(pk__in=[rows[0].pk, rows[2].pk]).update(provider_message_id="")
    return campaign.pk, [rows[0], rows[2]], rows[1]


def test_unconfirmed_lists_each_reference_with_the_message_id_to_look_for_in_the_mail_log(email_campaign):
    campaign_id, unconfirmed, confirmed = sent_with_two_unconfirmed(email_campaign)
    # when
    human = run("unconfirmed", str(campaign_id))
    as_json = json.loads(run("unconfirmed", str(campaign_id), "--json"))
    # then each unconfirmed row is listed with its Message-ID, the confirmed one is not
    for row in unconfirmed:
        assert row.reference in human and notice_email.message_id_for(row) in human
    assert confirmed.reference not in human
    assert "2 courriels envoyés sans accusé du serveur" in human
    assert [item["reference"] for item in as_json["unconfirmed"]] == [row.reference for row in unconfirmed]
    assert as_json["unconfirmed"][0]["message_id"] == notice_email.message_id_for(unconfirmed[0])


def test_unconfirmed_exports_a_formula_safe_csv_with_french_headers(email_campaign):
    campaign_id, unconfirmed, _ = sent_with_two_unconfirmed(email_campaign)
    Notification.objects.filter(pk=unconfirmed[0].pk).update(claimed_by='=HYPERLINK("http://x")')
    # when
    rows = list(csv.reader(StringIO(run("unconfirmed", str(campaign_id), "--csv"))))
    # then
    assert rows[0] == ["référence", "Message-ID", "envoyé le", "réservé par (worker)"]
    assert [row[0] for row in rows[1:]] == [row.reference for row in unconfirmed]
    assert [row[1] for row in rows[1:]] == [notice_email.message_id_for(row) for row in unconfirmed]
    assert rows[1][3] == '\'=HYPERLINK("http://x")'


def test_unconfirmed_of_a_campaign_with_none_says_so(email_campaign):
    campaign = email_campaign(1, enqueue=True)
    assert "aucun courriel envoyé sans accusé du serveur" in run("unconfirmed", str(campaign.pk))


def test_unconfirmed_of_an_unknown_campaign_is_a_clear_french_error(db):
    with pytest.raises(CommandError, match="Campagne inconnue"):
        run("unconfirmed", "999")
    with pytest.raises(CommandError, match="--csv ou --json"):
        run("unconfirmed", "999", "--csv", "--json")
