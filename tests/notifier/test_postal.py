from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import tablib

from notifier import launch, postal, selectors
from notifier.models import Campaign, Notification, PrintBatch
from notifier.resources import ReturnedMailResource

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
    pdf = Path(batch.pdf_path).read_bytes()
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == batch.pdf_sha256
    manifest = Path(batch.manifest_path).read_text()
    assert all(n.reference in manifest for n in Notification.objects.filter(campaign=launched_post))
    assert Path(batch.pdf_path).stat().st_mode & 0o077 == 0  # names and addresses: owner only
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
    # given the letters were handed over
    postal.print_batch_hand_over(batch=PrintBatch.objects.get(campaign=launched_post), by=approver)
    first, second, _ = Notification.objects.filter(campaign=launched_post).order_by("pk")
    data = tablib.Dataset(headers=["référence", "date_retour", "motif"])
    data.append([first.reference, "2021-03-15", "npai"])
    data.append(["N999-1-C", "2021-03-15", "npai"])
    data.append([first.reference, "16/03/2021", "npai"])
    data.append([second.reference, "pas une date", "refusé"])
    # when
    resource = ReturnedMailResource()
    with django_capture_on_commit_callbacks(execute=True):
        resource.import_data(data, dry_run=False, raise_errors=True)
    # then
    assert resource.report == {"applied": 1, "unknown": 1, "duplicate": 1, "invalid": 1}
    assert [outcome for _, _, outcome in resource.problems] == ["unknown", "duplicate", "invalid"]
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == S.RETURNED and "n'habite pas" in first.last_error
    assert second.status == S.SENT
    # and the post_then_email fallback sends the email once (campaign reopened, completed again)
    fallback = Notification.objects.get(campaign=launched_post, patient=first.patient, channel="email")
    assert fallback.is_fallback and fallback.status == S.SENT


def test_a_dry_run_of_returned_mail_changes_nothing(launched_post, approver):
    postal.print_batch_hand_over(batch=PrintBatch.objects.get(campaign=launched_post), by=approver)
    first = Notification.objects.filter(campaign=launched_post).order_by("pk").first()
    data = tablib.Dataset([first.reference, "2021-03-15", "npai"], headers=["reference", "return_date", "reason"])
    ReturnedMailResource().import_data(data, dry_run=True, raise_errors=True)
    first.refresh_from_db()
    assert first.status == S.SENT


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
