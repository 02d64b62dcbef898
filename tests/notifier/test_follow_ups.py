"""Follow-up campaigns write to the patients not reached or not read, with their first code; a letter back
« décédé » marks the patient, who then leaves every later target and the call list, and is counted apart."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from dashboards.cnil import cnil_counts
from dashboards.stats import campaign_stats
from notifier import launch, postal, selectors, targets
from notifier.models import Campaign, DeliveryEvent, Notification, PrintBatch

pytestmark = pytest.mark.django_db
S = Notification.Status
Target = Campaign.FollowUpTarget


def launched(campaign, by, capture):
    with capture(execute=False):
        return launch.campaign_launch(campaign=campaign, by=by)


@pytest.fixture
def first_campaign(make_patients, make_campaign, approver, django_capture_on_commit_callbacks, settings):
    """Five patients told by a postal campaign, each in a different state today (N = 14 days)."""
    settings.FOLLOW_UP_NOT_READ_DAYS = 14
    returned, unread, read, recent, deceased = make_patients(5)
    campaign = make_campaign("post")
    launched(campaign, approver, django_capture_on_commit_callbacks)
    row = {n.patient_id: n for n in Notification.objects.filter(campaign=campaign)}
    long_ago, lately = timezone.now() - dt.timedelta(days=20), timezone.now() - dt.timedelta(days=2)
    Notification.objects.filter(pk=row[returned.pk].pk).update(status=S.RETURNED, sent_at=long_ago)
    Notification.objects.filter(pk__in=[row[unread.pk].pk, row[read.pk].pk]).update(status=S.SENT, sent_at=long_ago)
    Notification.objects.filter(pk=row[recent.pk].pk).update(status=S.SENT, sent_at=lately)
    Notification.objects.filter(pk=row[deceased.pk].pk).update(
        status=S.RETURNED, sent_at=long_ago, return_reason=Notification.ReturnReason.DECEASED
    )
    deceased.deceased_reported_at = long_ago
    deceased.save()
    DeliveryEvent.objects.create(
        notification=row[read.pk], event_type=DeliveryEvent.EventType.ACKNOWLEDGED, at=lately,
        source=DeliveryEvent.Source.STATUS_PAGE,
    )  # fmt: skip
    return campaign, {"returned": returned, "unread": unread, "read": read, "recent": recent, "deceased": deceased}


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (Target.NOT_REACHED, {"returned"}),
        (Target.NOT_READ, {"unread"}),
        (Target.BOTH, {"returned", "unread"}),
        (Target.ALL, {"returned", "unread", "read", "recent"}),
    ],
)
def test_a_follow_up_targets_exactly_the_patients_its_target_names_never_the_deceased(
    first_campaign, make_campaign, target, expected
):
    # given five patients told once: returned, unread for 20 days, read, sent 2 days ago, deceased
    _, people = first_campaign
    # when a follow-up with this target is prepared
    follow_up = make_campaign("post", is_follow_up=True, follow_up_target=target)
    # then it writes to exactly these patients, and its gate forecast counts them
    names = {name for name, p in people.items() if targets.launch_targets(follow_up).filter(pk=p.pk).exists()}
    assert names == expected
    assert targets.launch_forecast(follow_up).patients == len(expected)


def test_a_follow_up_reaches_each_patient_with_the_code_of_their_first_notice(
    first_campaign, make_campaign, approver, django_capture_on_commit_callbacks
):
    # given the first campaign and a follow-up to those not reached or not read
    first, people = first_campaign
    follow_up = make_campaign("post", is_follow_up=True, follow_up_target=Target.BOTH)
    # when it is launched
    counts = launched(follow_up, approver, django_capture_on_commit_callbacks)
    # then each of its rows carries the digest of the code the patient already holds
    assert counts["patients"] == 2
    digests = dict(Notification.objects.filter(campaign=first).values_list("patient_id", "code_digest"))
    rows = list(Notification.objects.filter(campaign=follow_up).values_list("patient_id", "code_digest"))
    assert {patient_id for patient_id, _ in rows} == {people["returned"].pk, people["unread"].pk}
    assert all(digest == digests[patient_id] for patient_id, digest in rows)


def test_the_not_read_delay_is_the_setting(first_campaign, make_campaign, settings):
    # given a delay of one day: the patient sent a notice 2 days ago has had time to read it
    settings.FOLLOW_UP_NOT_READ_DAYS = 1
    _, people = first_campaign
    follow_up = make_campaign("post", is_follow_up=True, follow_up_target=Target.NOT_READ)
    # then they are targeted too
    assert set(targets.launch_targets(follow_up).values_list("pk", flat=True)) == {
        people["unread"].pk, people["recent"].pk,
    }  # fmt: skip


def test_an_unknown_follow_up_target_is_refused_in_french(make_campaign):
    from notifier.campaigns import CampaignError

    with pytest.raises(CampaignError, match="Destinataires de suivi inconnus"):
        make_campaign("post", is_follow_up=True, follow_up_target="everyone")


@pytest.fixture
def handed_over(make_patients, make_campaign, approver, django_capture_on_commit_callbacks):
    """Two patients, letters only (no email), handed over to La Poste."""
    make_patients(2, email="")
    campaign = make_campaign("post")
    with django_capture_on_commit_callbacks(execute=True):
        launch.campaign_launch(campaign=campaign, by=approver)
    with django_capture_on_commit_callbacks(execute=True):
        postal.print_batch_hand_over(batch=PrintBatch.objects.get(campaign=campaign), by=approver)
    return campaign, list(Notification.objects.filter(campaign=campaign).order_by("pk"))


def test_a_letter_back_deceased_marks_the_patient_who_leaves_follow_ups_and_the_call_list(
    handed_over, make_campaign, approver
):
    # given two letters back: one « Décédé », one moved
    campaign, (dead, moved) = handed_over
    today = timezone.localdate()
    postal.returned_mail_record(reference=dead.reference, returned_on=today, reason="Décédé", by=approver)
    postal.returned_mail_record(reference=moved.reference, returned_on=today, reason="NPAI", by=approver)
    # then the patient, not only the letter, is marked
    dead.patient.refresh_from_db()
    moved.patient.refresh_from_db()
    assert dead.patient.deceased_reported_at is not None and moved.patient.deceased_reported_at is None
    # and follow-ups of any target, and the call list, hold the moved patient only
    for target in Target.values:
        follow_up = make_campaign("post", is_follow_up=True, follow_up_target=target)
        assert dead.patient_id not in set(targets.launch_targets(follow_up).values_list("pk", flat=True))
    assert list(selectors.unreachable_patients(campaign=campaign)) == [moved.patient]
    assert targets.launch_forecast(make_campaign("post", is_follow_up=True)).patients == 1


def test_the_deceased_are_counted_apart_from_the_unreachable_in_reports(handed_over, approver):
    # given one letter back « décédé » and one back « NPAI »
    campaign, (dead, moved) = handed_over
    today = timezone.localdate()
    postal.returned_mail_record(reference=dead.reference, returned_on=today, reason="décédé(e)", by=approver)
    postal.returned_mail_record(reference=moved.reference, returned_on=today, reason="NPAI", by=approver)
    # then the DPO's figures say one unreachable and one deceased, none reached
    stats = campaign_stats(campaigns=[campaign], with_timeline=False)[campaign.pk]
    assert (stats.unreachable_patients, stats.deceased_patients, stats.reached_patients) == (1, 1, 0)
    # and the CNIL liaison's counts too
    per_case = cnil_counts().per_case[(campaign.breach_id, campaign.laboratory_id)]
    assert (per_case["unreachable_patients"], per_case["deceased_patients"]) == (1, 1)


def test_the_admin_add_form_offers_the_follow_up_target_and_refuses_a_wrong_one_in_french(
    admin_client, breach, laboratory
):
    from django.urls import reverse

    url = reverse("admin:notifier_campaign_add")
    page = admin_client.get(url).content.decode()
    assert 'name="follow_up_target"' in page and "non joints et joints sans lecture" in page
    form = {"breach": breach.pk, "laboratory": laboratory.pk, "name": "Relance", "language": "fr",
            "channel_policy": "post", "letter_template": "", "email_template": "breach_notice",
            "is_follow_up": "on", "follow_up_target": "tout_le_monde"}  # fmt: skip
    response = admin_client.post(url, form)
    assert response.status_code == 200 and "Sélectionnez un choix valide" in response.content.decode()
    assert not Campaign.objects.exists()
    response = admin_client.post(url, {**form, "follow_up_target": Target.NOT_REACHED})
    assert response.status_code == 302
    assert Campaign.objects.get().follow_up_target == Target.NOT_REACHED


def test_a_follow_ups_letter_and_email_are_dated_from_the_patients_first_notice(
    first_campaign, make_campaign, approver, django_capture_on_commit_callbacks
):
    from notifier.notice_email import notice_email_message, notice_envelope
    from notifier.postal import letter_data_for_notification

    # given a follow-up, by post and email, to the patients not reached or not read
    first, people = first_campaign
    first_sent = timezone.localdate(Notification.objects.get(campaign=first, patient=people["unread"]).sent_at)
    follow_up = make_campaign("post_and_email", is_follow_up=True, follow_up_target=Target.BOTH)
    launched(follow_up, approver, django_capture_on_commit_callbacks)
    follow_up.refresh_from_db()
    letter_row = Notification.objects.get(campaign=follow_up, patient=people["unread"], channel="post")
    email_row = Notification.objects.get(campaign=follow_up, patient=people["unread"], channel="email")
    # then its letter and its email name the day of the first notice
    assert letter_data_for_notification(notification=letter_row, campaign=follow_up).first_notice_on == first_sent
    body = notice_email_message(notification=email_row).body
    assert "Nous vous avons écrit le" in body and "We wrote to you on" in body
    assert "We wrote to you on" in notice_envelope(notification=email_row).data.decode()  # the sending path
    # and the first campaign's own letter does not
    first_row = Notification.objects.get(campaign=first, patient=people["unread"])
    assert letter_data_for_notification(notification=first_row, campaign=first).first_notice_on is None


def test_the_gate_page_counts_the_follow_ups_target_and_says_whom_it_leaves_out(
    first_campaign, make_campaign, admin_client
):
    import html as html_module

    from django.urls import reverse

    # given a follow-up to the patients not reached (1 of the 4 living patients)
    follow_up = make_campaign("post", approve=False, is_follow_up=True, follow_up_target=Target.NOT_REACHED)
    forecast = targets.launch_forecast(follow_up)
    assert (forecast.patients, forecast.excluded) == (1, 3)
    # when the approval page is opened
    url = reverse("admin:notifier_campaign_changelist")
    page = admin_client.post(url, {"action": "approve", "_selected_action": [follow_up.pk]})
    text = html_module.unescape(page.content.decode())
    # then it says so in French
    assert "hors des destinataires de ce suivi (les patients non joints)" in text
    assert "oui : les patients non joints" in text


def test_a_patient_written_to_again_lately_is_not_yet_a_not_read_target(
    first_campaign, make_campaign, approver, django_capture_on_commit_callbacks
):
    # given a first follow-up to the unread patient, its letter sent 2 days ago
    _, people = first_campaign
    earlier = make_campaign("post", is_follow_up=True, follow_up_target=Target.NOT_READ)
    launched(earlier, approver, django_capture_on_commit_callbacks)
    Notification.objects.filter(campaign=earlier).update(status=S.SENT, sent_at=timezone.now() - dt.timedelta(days=2))
    # when another "not read" follow-up is prepared
    again = make_campaign("post", is_follow_up=True, follow_up_target=Target.NOT_READ)
    # then nobody is targeted yet: the latest notice is too recent
    assert not targets.launch_targets(again).filter(pk=people["unread"].pk).exists()
    assert targets.launch_forecast(again).patients == 0


def test_the_liaison_sees_the_deceased_as_a_masked_count_beside_the_unreachable(handed_over, approver):
    from dashboards.cnil import breach_summaries, cnil_cells, cnil_rows, summary_cells
    from dashboards.exports import cnil_csv

    # given one letter back « décédé »
    campaign, (dead, _moved) = handed_over
    postal.returned_mail_record(
        reference=dead.reference, returned_on=timezone.localdate(), reason="Décédé", by=approver
    )
    rows = cnil_rows()
    # then the per-laboratory cell, the CSV and the breach total say "< 10", never the number one
    (row,) = rows
    assert row.deceased_patients == 1
    assert cnil_cells(row)["deceased"] == "< 10"
    assert summary_cells(breach_summaries(rows)[0])["deceased"] == "< 10"
    header, line = cnil_csv(rows).splitlines()[:2]
    assert "décès signalés (retour courrier)" in header and "< 10" in line
