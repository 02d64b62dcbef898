"""Notices over SMTP: template copies read like Django's build; a lost final dot re-queues; marks carry confirmations."""

from __future__ import annotations

import email
import email.policy
from unittest import mock

import pytest
from django.core.mail import EmailMessage, get_connection

from notifier import codes, launch, notice_email, sending
from notifier.models import Notification

pytestmark = pytest.mark.django_db


def launched(make_patients, make_campaign, approver, capture, **patient_fields) -> Notification:
    make_patients(1, **patient_fields)
    campaign = make_campaign("email")
    with mock.patch("notifier.queue.emails_send_enqueue"), capture(execute=True):
        launch.campaign_launch(campaign=campaign, by=approver)
    return Notification.objects.select_related("campaign__laboratory", "patient").get(campaign=campaign)


def parsed(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


def texts(message: email.message.EmailMessage) -> list[tuple[str, str]]:
    return [
        (part.get_content_type(), part.get_content())
        for part in message.walk()
        if part.get_content_maintype() == "text"
    ]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_template_copy_reads_exactly_like_the_message_django_builds(
    make_patients, make_campaign, approver, django_capture_on_commit_callbacks, language
):
    # given a notice whose phrase is not ASCII (a value the template must carry as UTF-8)
    notification = launched(make_patients, make_campaign, approver, django_capture_on_commit_callbacks)
    Notification.objects.filter(pk=notification.pk).update(language=language)
    notification.refresh_from_db()
    accented = "zèbre forêt îlot"
    django_built = notice_email.notice_email_message(notification=notification)
    with (
        mock.patch("notifier.notice_email.verification_phrase_for_ids", return_value=accented),
        mock.patch("notifier.notice_email.notice_email_message", side_effect=AssertionError("not the template")),
    ):
        # when
        envelope = notice_email.notice_envelope(notification=notification)
    with mock.patch("notifier.notice_email.verification_phrase_for_ids", return_value=accented):
        reference = notice_email.Envelope.of(notice_email.notice_email_message(notification=notification))
    # then the envelope, every header but the date, and each decoded part are the same
    assert (envelope.from_email, envelope.recipients) == (reference.from_email, reference.recipients)
    copy, built = parsed(envelope.data), parsed(reference.data)
    assert sorted(copy.keys()) == sorted(built.keys())
    for header in copy:
        if header not in ("Date", "Content-Type"):
            assert copy[header] == built[header], header
    assert copy.get_content_type() == built.get_content_type() == "multipart/alternative"
    assert texts(copy) == texts(built)
    assert len(texts(copy)) == 2 and all(accented in text for _, text in texts(copy))
    code = codes.status_code_for_ids(breach_id=notification.patient.breach_id, patient_id=notification.patient_id)
    assert all(code in text for _, text in texts(copy))
    assert copy["Message-ID"] == django_built.extra_headers["Message-ID"]
    # and the date is the copy's own, in RFC 5322 form
    assert copy["Date"].datetime is not None and envelope.data.count(b"\r\nDate: ") == 1


def test_two_copies_differ_only_by_their_patient_values(
    make_patients, make_campaign, approver, django_capture_on_commit_callbacks
):
    make_patients(2)
    campaign = make_campaign("email")
    with mock.patch("notifier.queue.emails_send_enqueue"), django_capture_on_commit_callbacks(execute=True):
        launch.campaign_launch(campaign=campaign, by=approver)
    first, second = (notice_email.notice_envelope(notification=row) for row in Notification.objects.order_by("pk"))
    # then each carries its own code, reference, recipient and Message-ID, not the other's
    for own, other in ((first, second), (second, first)):
        own_text = texts(parsed(own.data))[0][1]
        assert parsed(own.data)["To"] != parsed(other.data)["To"]
        assert parsed(own.data)["Message-ID"] != parsed(other.data)["Message-ID"]
        assert own_text != texts(parsed(other.data))[0][1]


def test_an_address_the_template_cannot_carry_as_is_gets_the_django_build(
    make_patients, make_campaign, approver, django_capture_on_commit_callbacks
):
    # given an internationalised address (Django encodes it; raw bytes would not be right)
    notification = launched(
        make_patients, make_campaign, approver, django_capture_on_commit_callbacks, email="zoé@exemple.fr"
    )
    # when
    envelope = notice_email.notice_envelope(notification=notification)
    # then it is Django's own build, recipient encoded by Django
    expected = notice_email.Envelope.of(notice_email.notice_email_message(notification=notification))
    assert envelope.recipients == expected.recipients
    assert texts(parsed(envelope.data)) == texts(parsed(expected.data))


def build_with(subject: str, body: str):
    def build(*, values, to, message_id):
        return EmailMessage(
            subject.format(**values),
            body.format(**values),
            "from@example.org",
            [to],
            headers={"Message-ID": message_id},
        )

    return build


def test_a_template_refuses_itself_when_a_marker_would_not_come_out_verbatim():
    # a value in the subject (an encoded header) and a body long enough for quoted-printable
    in_subject = notice_email.MessageTemplate(build_with("Code {code}", "Votre code : {code}"), ["code"])
    quoted_printable = notice_email.MessageTemplate(build_with("Objet", "x" * 1200 + " {code}"), ["code"])
    fits = notice_email.MessageTemplate(build_with("Objet", "Votre code : {code}"), ["code"])
    # then only the plain one is usable; the others hand every message back to Django
    assert (in_subject.usable, quoted_printable.usable, fits.usable) == (False, False, True)
    assert in_subject.fill({"code": "A"}, to="a@example.org", message_id="<1@example.org>") is None
    filled = fits.fill({"code": "ABCD-1234"}, to="a@example.org", message_id="<1@example.org>")
    assert "Votre code : ABCD-1234" in parsed(filled.data).get_content()
    # and a value with a line break never goes in raw
    assert fits.fill({"code": "A\r\n.\r\n"}, to="a@example.org", message_id="<1@example.org>") is None


def test_a_template_copy_goes_through_the_two_phase_submission(smtp):
    template = notice_email.MessageTemplate(build_with("Objet", "Phrase : {phrase}\n.\nfin"), ["phrase"])
    envelope = template.fill({"phrase": "zèbre forêt"}, to="to@example.org", message_id="<42@example.org>")
    with get_connection() as connection:
        sending.send_two_phase(connection=connection, message=envelope, commit=lambda: True)
    smtp.wait(1)
    (received,) = smtp.received
    message = parsed(received)
    assert message["Message-ID"] == "<42@example.org>"
    assert message.get_content().replace("\r\n", "\n") == "Phrase : zèbre forêt\n.\nfin\n"


def test_a_dot_that_could_not_be_written_puts_the_row_back_and_the_retry_sends_it_once(
    smtp, make_patients, make_campaign, approver, django_capture_on_commit_callbacks, monkeypatch
):
    import smtplib

    from notifier.models import Notification

    notification = launched(make_patients, make_campaign, approver, django_capture_on_commit_callbacks)
    original_send = smtplib.SMTP.send
    failures = []

    def send(self, data):
        if data == b".\r\n" and not failures:
            failures.append(data)
            raise BrokenPipeError("connection reset")
        return original_send(self, data)

    monkeypatch.setattr(smtplib.SMTP, "send", send)
    # when the final dot cannot be written (after the row was marked sent)
    with pytest.raises(sending.TransientSendError):
        sending.notifications_send(notification_ids=[notification.pk])
    # then the row is queued again, not left "sent" for a message the server never got
    notification.refresh_from_db()
    assert (notification.status, failures) == (Notification.Status.QUEUED, [b".\r\n"])
    assert "DotNotSent" in notification.last_error
    # and the retry sends it, once, confirmed
    assert sending.notifications_send(notification_ids=[notification.pk]) == 1
    smtp.wait(1)
    notification.refresh_from_db()
    assert len(smtp.received) == 1 and notification.status == Notification.Status.SENT
    assert notification.provider_message_id == notice_email.message_id_for(notification)


def test_each_mark_carries_the_confirmation_of_the_message_before_it(
    smtp, make_patients, make_campaign, approver, django_capture_on_commit_callbacks, monkeypatch
):
    from notifier.models import Notification

    make_patients(3)
    campaign = make_campaign("email")
    with mock.patch("notifier.queue.emails_send_enqueue"), django_capture_on_commit_callbacks(execute=True):
        launch.campaign_launch(campaign=campaign, by=approver)
    ids = list(Notification.objects.order_by("pk").values_list("pk", flat=True))
    seen: list[tuple[int, list[int]]] = []
    original = sending.SentMark.commit

    def commit(mark):
        seen.append((mark.notification_id, mark.confirm))
        return original(mark)

    monkeypatch.setattr(sending.SentMark, "commit", commit)
    assert sending.notifications_send(notification_ids=ids) == 3
    # then the second mark confirmed the first, the third the second, and the chunk's end the third
    assert seen == [(ids[0], []), (ids[1], [ids[0]]), (ids[2], [ids[1]])]
    assert not Notification.objects.filter(provider_message_id="").exists()


LETTER_ALSO_FR, LETTER_ALSO_EN = "Un courrier vous est aussi adressé par la poste", "also on its way by post"
EMAIL_ONLY_FR, EMAIL_ONLY_EN = "par courriel seulement, sans courrier par la poste", "by email only, with no letter"
RETURNED_FR, RETURNED_EN = "nous est revenu", "came back to us"
WORDS = {
    "letter_also": (LETTER_ALSO_FR, LETTER_ALSO_EN),
    "email_only": (EMAIL_ONLY_FR, EMAIL_ONLY_EN),
    "letter_returned": (RETURNED_FR, RETURNED_EN),
}


def _email_rows(campaign) -> dict[int, Notification]:
    rows = Notification.objects.filter(campaign=campaign, channel="email").select_related(
        "campaign__laboratory", "patient"
    )
    return {row.patient_id: row for row in rows}


def _assert_says(envelope, wording: str) -> None:
    """Both parts of the copy say `wording`'s sentences, in French and in English, and none of the other wordings'."""
    for _, text in texts(parsed(envelope.data)):
        flat = " ".join(text.split())
        for name, sentences in WORDS.items():
            for sentence in sentences:
                assert (sentence in flat) == (name == wording), (wording, sentence)


def test_each_notice_email_says_what_is_true_of_the_post(
    make_patients, make_campaign, approver, django_capture_on_commit_callbacks
):
    from notifier.events import notification_fallback

    # given a post-and-email campaign: one patient with an address, one with none
    with_letter, without_letter = make_patients(2)
    without_letter.address_line = ""
    without_letter.save()
    both = make_campaign("post_and_email")
    # an email-only campaign, and a post-then-email campaign whose letter came back (follow-ups of the same
    # breach: otherwise the launch gate leaves out the patients the first campaign already told)
    email_only = make_campaign("email", is_follow_up=True)
    post_first = make_campaign("post_then_email", is_follow_up=True)
    with mock.patch("notifier.queue.emails_send_enqueue"), django_capture_on_commit_callbacks(execute=True):
        for campaign in (both, email_only, post_first):
            launch.campaign_launch(campaign=campaign, by=approver)
    with mock.patch("notifier.queue.emails_send_enqueue"), django_capture_on_commit_callbacks(execute=True):
        letter = Notification.objects.get(campaign=post_first, patient=with_letter, channel="post")
        returned = notification_fallback(notification=letter)
    returned = Notification.objects.select_related("campaign__laboratory", "patient").get(pk=returned.pk)
    cases = [
        (_email_rows(both)[with_letter.pk], "letter_also"),
        (_email_rows(both)[without_letter.pk], "email_only"),
        (_email_rows(email_only)[with_letter.pk], "email_only"),
        (returned, "letter_returned"),
    ]
    for notification, wording in cases:
        # when each notice is built, from the campaign's cached template and by Django
        assert notice_email.notice_wording(notification) == wording
        envelope = notice_email.notice_envelope(notification=notification)
        built = notice_email.Envelope.of(notice_email.notice_email_message(notification=notification))
        # then each says the wording that is true for that patient, in French and in English, both ways
        _assert_says(envelope, wording)
        assert texts(parsed(envelope.data)) == texts(parsed(built.data))


def test_the_cached_template_of_one_wording_never_serves_another(
    make_patients, make_campaign, approver, django_capture_on_commit_callbacks
):
    # given one campaign whose first patient also gets a letter and whose second does not
    with_letter, without_letter = make_patients(2)
    without_letter.address_line = ""
    without_letter.save()
    campaign = make_campaign("post_and_email")
    with mock.patch("notifier.queue.emails_send_enqueue"), django_capture_on_commit_callbacks(execute=True):
        launch.campaign_launch(campaign=campaign, by=approver)
    rows = _email_rows(campaign)
    # when their notices are filled from the cache one after the other (same laboratory, language, template)
    first = notice_email.notice_envelope(notification=rows[with_letter.pk])
    second = notice_email.notice_envelope(notification=rows[without_letter.pk])
    # then each kept its own wording
    _assert_says(first, "letter_also")
    _assert_says(second, "email_only")
