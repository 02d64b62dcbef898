from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from django.utils import timezone

from labs.storage import private_read, private_storage
from notifier import launch, postal, selectors
from notifier.models import Campaign, DeliveryEvent, Notification, PrintBatch
from notifier.resources import ReturnedMailLine

pytestmark = pytest.mark.django_db
S = Notification.Status


@pytest.fixture
def launched_post(make_patients, make_campaign, approver, django_capture_on_commit_callbacks):
    """A running post_then_email campaign of 3 patients whose letters are in one built print batch."""
    make_patients(3)
    campaign = make_campaign("post_then_email")
    with django_capture_on_commit_callbacks(execute=True):
        launch.campaign_launch(campaign=campaign, by=approver)
    return Campaign.objects.get(pk=campaign.pk)


def test_launch_puts_letters_in_a_built_print_batch_with_its_checksums(launched_post):
    (batch,) = PrintBatch.objects.filter(campaign=launched_post)
    assert batch.built_at is not None and batch.letter_count == 3
    assert batch.pdf_path == f"print/campaign-{launched_post.pk}/batch-0001.pdf"  # a storage key, not a path
    pdf = private_read(batch.pdf_path)
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == batch.pdf_sha256
    manifest = private_read(batch.manifest_path).decode()
    assert all(n.reference in manifest for n in Notification.objects.filter(campaign=launched_post))
    # names and addresses: owner only, in a folder only the owner may list
    path = Path(private_storage().path(batch.pdf_path))
    assert path.stat().st_mode & 0o077 == 0 and path.parent.stat().st_mode & 0o077 == 0
    assert selectors.campaign_counts(campaign=launched_post) == {"post": {"queued": 3}}


def test_handing_over_a_batch_marks_its_letters_sent_once_and_completes_the_campaign(launched_post, approver):
    batch = PrintBatch.objects.get(campaign=launched_post)
    assert postal.print_batch_hand_over(batch=batch, by=approver) == 3
    assert postal.print_batch_hand_over(batch=batch, by=approver) == 0
    assert selectors.campaign_counts(campaign=launched_post) == {"post": {"sent": 3}}
    assert Campaign.objects.get(pk=launched_post.pk).status == Campaign.Status.COMPLETED


def test_returned_mail_applies_good_rows_and_reports_unknown_duplicate_and_unreadable_ones(
    launched_post, approver, django_capture_on_commit_callbacks
):
    # given the letters were handed over (today)
    postal.print_batch_hand_over(batch=PrintBatch.objects.get(campaign=launched_post), by=approver)
    first, second, _ = Notification.objects.filter(campaign=launched_post).order_by("pk")
    today = timezone.localdate()
    lines = [
        ReturnedMailLine(2, first.reference, today.isoformat(), "npai"),
        ReturnedMailLine(3, "N999-1-C", today.isoformat(), "npai"),
        ReturnedMailLine(4, first.reference, f"{today:%d/%m/%Y}", "npai"),
        ReturnedMailLine(5, second.reference, "pas une date", "refusé"),
    ]
    # when
    with django_capture_on_commit_callbacks(execute=True):
        report = postal.returned_mail_import(lines=lines, by=None, apply=True)
    # then
    assert report.counts == {"appliqués": 1, "inconnus": 1, "doublons": 1, "invalides": 1}
    assert [(row.line, row.outcome) for row in report.not_applied] == [(3, "unknown"), (4, "duplicate"), (5, "invalid")]
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == S.RETURNED and "n'habite pas" in first.last_error
    assert first.return_reason == Notification.ReturnReason.MOVED
    assert second.status == S.SENT
    # and the post_then_email fallback sends the email once (campaign reopened, completed again)
    fallback = Notification.objects.get(campaign=launched_post, patient=first.patient, channel="email")
    assert fallback.is_fallback and fallback.status == S.SENT


def test_a_preview_of_returned_mail_changes_nothing(launched_post, approver):
    postal.print_batch_hand_over(batch=PrintBatch.objects.get(campaign=launched_post), by=approver)
    first = Notification.objects.filter(campaign=launched_post).order_by("pk").first()
    line = ReturnedMailLine(2, first.reference, timezone.localdate().isoformat(), "npai")
    report = postal.returned_mail_import(lines=[line], by=approver, apply=False)
    first.refresh_from_db()
    assert report.counts["appliqués"] == 1 and first.status == S.SENT
    assert not DeliveryEvent.objects.filter(notification=first, event_type="returned").exists()


def test_a_return_before_the_hand_over_or_of_a_letter_never_handed_over_is_invalid(launched_post, approver):
    letter = Notification.objects.filter(campaign=launched_post).first()
    today = timezone.localdate()
    assert (
        postal.returned_mail_record(reference=letter.reference, returned_on=today, reason="", by=approver) == "invalid"
    )
    postal.print_batch_hand_over(batch=PrintBatch.objects.get(campaign=launched_post), by=approver)
    yesterday = today - dt.timedelta(days=1)
    assert postal.returned_mail_record(reference=letter.reference, returned_on=yesterday, reason="", by=approver) == (
        "invalid"
    )
    letter.refresh_from_db()
    assert letter.status == S.SENT


@pytest.mark.parametrize(
    ("written", "code"),
    [("Décédé", "deceased"), ("DECEDEE", "deceased"), ("décédé(e)", "deceased"), ("deceased", "deceased"),
     ("N'habite pas à l'adresse indiquée", "moved"), ("NPAI", "moved"), ("Refusé", "refused"),
     ("Destinataire inconnu à l'adresse", "unknown_recipient"), ("Adresse incomplète", "incomplete"),
     ("Boîte aux lettres non identifiable", "no_letterbox"), ("", "other"), ("pli abîmé", "other")],
)  # fmt: skip
def test_a_written_reason_is_read_as_la_poste_means_it(written, code):
    assert postal.return_reason_for(written) == code


def test_the_call_centre_list_holds_patients_reached_on_no_channel(
    make_patients, make_campaign, approver, django_capture_on_commit_callbacks
):
    make_patients(2)
    (lost,) = make_patients(1, email="", address_line="", landline_phone="+33299112233")
    campaign = make_campaign("post_and_email")
    with django_capture_on_commit_callbacks(execute=True):
        launch.campaign_launch(campaign=campaign, by=approver)
    assert list(selectors.unreachable_patients(campaign=campaign)) == [lost]


def test_a_returned_letter_of_another_laboratory_is_unknown_to_a_dpo(launched_post, approver, dpo_lab_b):
    # given a DPO of another laboratory (not a superuser)
    postal.print_batch_hand_over(batch=PrintBatch.objects.get(campaign=launched_post), by=approver)
    letter = Notification.objects.filter(campaign=launched_post).first()
    # when they report its return
    outcome = postal.returned_mail_record(reference=letter.reference, returned_on=letter.created_at.date(),
                                          reason="npai", by=dpo_lab_b)  # fmt: skip
    # then nothing is applied
    letter.refresh_from_db()
    assert outcome == "unknown" and letter.status == S.SENT
