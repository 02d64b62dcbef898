"""Right-of-access requests (GDPR Art. 15): made from the status page, answered by the laboratory's DPO."""

from __future__ import annotations

import datetime as dt
import html
import smtplib

import pytest
from django.urls import reverse

from labs.audit import AuditEvent
from notifier import launch
from notifier.codes import status_code_for
from patients.categories import Exposure, Sensitive
from status_page import access_requests
from status_page.access_requests import AccessRequestError, access_due_on
from status_page.models import AccessRequest
from status_page.views import ACCESS_REQUESTS_PER_PATIENT_PER_DAY
from tests.factories import BreachFactory, PatientFactory

from .test_health_privacy import CONDITION_WORDS

pytestmark = pytest.mark.django_db

BIRTH = dt.date(1970, 5, 17)
HEALTH = int(Exposure.IDENTITY | Exposure.BIRTH_DATE | Exposure.MEDICAL_COMMENT)


@pytest.fixture
def verified(client, make_patients, make_campaign, django_capture_on_commit_callbacks):
    """A client verified on the status page as a patient whose file held an HIV remark."""
    patient = make_patients(1, birth_date=BIRTH, exposure_mask=HEALTH, sensitive_mask=int(Sensitive.HIV))[0]
    campaign = make_campaign("post_and_email")
    with django_capture_on_commit_callbacks(execute=False):
        launch.campaign_launch(campaign=campaign, by=campaign.created_by)
    code = status_code_for(campaign=campaign, patient=patient)
    response = client.post(
        reverse("status:check_fr"), {"code": code, "day": BIRTH.day, "month": BIRTH.month, "year": BIRTH.year}
    )
    assert response.status_code == 302
    return client, campaign, patient


def _ask(client, lang="fr", **data):
    fields = {"requester": "patient", "phone": "", "email": "", **data}
    return client.post(reverse(f"status:access_{lang}"), fields)


@pytest.fixture
def on_31_january(time_machine):
    time_machine.move_to(dt.datetime(2027, 1, 31, 10, 0, tzinfo=dt.UTC))


def test_a_verified_patient_asks_and_the_dpo_gets_a_neutral_email(
    on_31_january, verified, mailoutbox, django_capture_on_commit_callbacks
):
    # given a patient verified on 31 January
    client, campaign, patient = verified
    # when they leave a phone number
    with django_capture_on_commit_callbacks(execute=True):
        response = _ask(client, phone="06 12 34 56 78")
    # then the request is queued for their laboratory, due one month later (28 February), and confirmed
    assert response.status_code == 302
    row = AccessRequest.objects.get()
    assert (row.patient, row.laboratory, row.campaign) == (patient, patient.laboratory, campaign)
    assert (row.status, row.contact_phone, row.contact_email) == ("received", "+33612345678", "")
    assert row.due_on == dt.date(2027, 2, 28)
    assert row.dpo_notified_at is not None
    page = client.get(response["Location"]).content.decode()
    assert "Votre demande est enregistrée" in page and "28 février 2027" in page
    # and the DPO is told, without the patient's name or anything about health
    (email,) = mailoutbox
    assert email.to == [patient.laboratory.dpo_email]
    assert f"n° {row.pk}" in email.subject and "28/02/2027" in email.subject
    text = (email.subject + email.body).lower()
    assert patient.last_name.lower() not in text and patient.first_name.lower() not in text
    assert [word for word in CONDITION_WORDS if word.lower() in text] == []
    assert f"/admin/status_page/accessrequest/{row.pk}/change/" in email.body
    # and the request is in the audit trail
    assert AuditEvent.objects.filter(action="access_request.received", object_id=str(row.pk)).exists()


def test_the_request_form_needs_a_verified_session(client, db):
    # given nobody verified, when the form is opened or posted, then back to the check, and nothing recorded
    assert client.get(reverse("status:access_fr"))["Location"] == reverse("status:check_fr")
    assert _ask(client, phone="0612345678")["Location"] == reverse("status:check_fr")
    assert AccessRequest.objects.count() == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Indiquez un numéro de téléphone ou une adresse électronique pour recevoir la réponse."),
        ({"phone": "12"}, "Ce numéro de téléphone n'est pas valide."),
        ({"phone": "x" * 60}, "Ce numéro de téléphone n'est pas valide."),
        ({"email": "jean.dupont@"}, "Cette adresse électronique n'est pas valide."),
        ({"email": "a@b.fr", "requester": "voisin"}, "Indiquez qui fait la demande."),
        ({"email": "a@b.fr", "requester": ""}, "Indiquez qui fait la demande."),
    ],
)
def test_bad_input_gets_a_clear_french_error_and_records_nothing(verified, data, message):
    client, _, _ = verified
    # when the form is posted with bad input
    response = _ask(client, **data)
    # then the form comes back with a French message, never a 500, and nothing is recorded
    assert response.status_code == 200
    assert message in html.unescape(response.content.decode())
    assert AccessRequest.objects.count() == 0


def test_bad_input_on_the_english_page_gets_an_english_error(verified):
    client, _, _ = verified
    response = _ask(client, lang="en", email="nope")
    assert response.status_code == 200
    assert "This email address is not valid." in response.content.decode()


def test_the_same_request_sent_twice_is_one_request_and_one_email(
    verified, mailoutbox, django_capture_on_commit_callbacks
):
    client, _, _ = verified
    # when the patient sends the same request twice (a double click, a reload)
    with django_capture_on_commit_callbacks(execute=True):
        first = _ask(client, email="Marie.Durand@Example.fr")
        second = _ask(client, email="marie.durand@example.fr")
    # then one request, one email, and both answers are the same confirmation
    assert AccessRequest.objects.count() == 1
    assert len(mailoutbox) == 1
    assert first["Location"] == second["Location"]


def test_requests_are_rate_limited_per_address_like_the_page(verified, settings):
    client, _, _ = verified
    settings.STATUS_PAGE_TRIES_PER_IP_PER_MINUTE = 3
    # given three tries from one address
    for _ in range(3):
        _ask(client, phone="12")
    # when a fourth, valid one comes, then it is refused with a French message and not recorded
    response = _ask(client, phone="06 12 34 56 78")
    assert response.status_code == 429
    assert "Trop de demandes en peu de temps" in response.content.decode()
    assert AccessRequest.objects.count() == 0


def test_a_patient_can_ask_only_a_few_times_a_day(verified):
    client, _, _ = verified
    for i in range(ACCESS_REQUESTS_PER_PATIENT_PER_DAY):
        assert _ask(client, email=f"proche{i}@example.fr", REMOTE_ADDR=f"10.0.0.{i}").status_code == 302
    response = _ask(client, email="encore@example.fr", REMOTE_ADDR="10.0.1.1")
    assert response.status_code == 429
    assert AccessRequest.objects.count() == ACCESS_REQUESTS_PER_PATIENT_PER_DAY


def test_a_minors_request_is_flagged_for_the_dpo(
    client, make_patients, make_campaign, django_capture_on_commit_callbacks
):
    # given a 14-year-old's parent on the status page
    child = make_patients(1, birth_date=dt.date(2012, 4, 2), exposure_mask=HEALTH, sensitive_mask=1)[0]
    campaign = make_campaign("post_and_email")
    with django_capture_on_commit_callbacks(execute=False):
        launch.campaign_launch(campaign=campaign, by=campaign.created_by)
    client.post(
        reverse("status:check_fr"),
        {"code": status_code_for(campaign=campaign, patient=child), "day": 2, "month": 4, "year": 2012},
    )
    # when the parent asks
    _ask(client, requester="representative", phone="0612345678")
    # then the DPO sees a parent asking about a minor (CSP art. L.1111-5)
    row = AccessRequest.objects.get()
    assert (row.requester, row.patient_was_minor) == ("representative", True)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (dt.date(2027, 1, 31), dt.date(2027, 2, 28)),
        (dt.date(2028, 1, 31), dt.date(2028, 2, 29)),
        (dt.date(2027, 3, 31), dt.date(2027, 4, 30)),
        (dt.date(2027, 12, 15), dt.date(2028, 1, 15)),
    ],
)
def test_the_answer_is_due_one_month_after_receipt(received, due):
    assert access_due_on(received) == due


# --- the DPO's side -----------------------------------------------------------------------------------


@pytest.fixture
def request_of_lab_a(lab_a):
    patient = PatientFactory(breach=BreachFactory(slug="acces"), laboratory=lab_a, birth_date=BIRTH)
    row, created = access_requests.access_request_create(
        patient_id=patient.pk, campaign_id=None, requester="patient", contact_phone="+33612345678", contact_email=""
    )
    assert created
    return row


def test_notifying_the_dpo_twice_sends_one_email(request_of_lab_a, mailoutbox):
    assert access_requests.access_request_dpo_notify(access_request_id=request_of_lab_a.pk) is True
    assert access_requests.access_request_dpo_notify(access_request_id=request_of_lab_a.pk) is False
    assert len(mailoutbox) == 1
    assert AuditEvent.objects.filter(action="access_request.dpo_notified").count() == 1


def test_a_failed_notification_is_released_for_the_retry(request_of_lab_a, monkeypatch, mailoutbox):
    # given an SMTP server that hangs up once
    def hang_up(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("bye")

    monkeypatch.setattr(access_requests, "send_mail", hang_up)
    with pytest.raises(smtplib.SMTPServerDisconnected):
        access_requests.access_request_dpo_notify(access_request_id=request_of_lab_a.pk)
    # then the row is not marked, and the retry sends it
    request_of_lab_a.refresh_from_db()
    assert request_of_lab_a.dpo_notified_at is None
    monkeypatch.undo()
    assert access_requests.access_request_dpo_notify(access_request_id=request_of_lab_a.pk) is True
    assert len(mailoutbox) == 1


def test_nothing_is_answered_before_the_identity_check_and_a_refusal_needs_a_reason(request_of_lab_a, dpo_lab_a):
    row = request_of_lab_a
    with pytest.raises(AccessRequestError, match="Vérifiez d'abord l'identité"):
        access_requests.access_request_answer(access_request=row, by=dpo_lab_a)
    with pytest.raises(AccessRequestError, match="Un refus doit être motivé"):
        access_requests.access_request_refuse(access_request=row, by=dpo_lab_a, reason="  ")
    with pytest.raises(AccessRequestError, match="comment l'identité a été vérifiée"):
        access_requests.access_request_identity_check(access_request=row, by=dpo_lab_a, note="")
    row.refresh_from_db()
    assert row.status == "received"


def test_each_step_is_taken_once_and_audited(request_of_lab_a, dpo_lab_a):
    row = request_of_lab_a
    access_requests.access_request_identity_check(access_request=row, by=dpo_lab_a, note="rappel au numéro du dossier")
    with pytest.raises(AccessRequestError, match="déjà « identité vérifiée »"):
        access_requests.access_request_identity_check(access_request=row, by=dpo_lab_a, note="encore")
    access_requests.access_request_answer(access_request=row, by=dpo_lab_a)
    with pytest.raises(AccessRequestError):
        access_requests.access_request_refuse(access_request=row, by=dpo_lab_a, reason="trop tard")
    row.refresh_from_db()
    assert (row.status, row.identity_checked_by, row.closed_by) == ("answered", dpo_lab_a, dpo_lab_a)
    actions = list(
        AuditEvent.objects.filter(object_type="status_page.accessrequest", object_id=str(row.pk))
        .order_by("at", "id")
        .values_list("action", "actor_username")
    )
    assert actions == [
        ("access_request.received", ""),
        ("access_request.identity_checked", "dpo-a"),
        ("access_request.answered", "dpo-a"),
    ]


def test_the_dpo_of_the_laboratory_works_the_queue_in_the_admin(client, login_verified, dpo_lab_a, request_of_lab_a):
    # given the DPO of laboratory A
    login_verified(client, dpo_lab_a)
    url = reverse("admin:status_page_accessrequest_change", args=[request_of_lab_a.pk])
    # when they open the queue and the request
    listing = client.get(reverse("admin:status_page_accessrequest_changelist"))
    page = client.get(url)
    # then they see it (the read audited), with its due date
    assert listing.status_code == 200 and f"n° {request_of_lab_a.pk}" in listing.content.decode()
    assert page.status_code == 200 and "+33612345678" in page.content.decode()
    assert AuditEvent.objects.filter(action="view", object_id=str(request_of_lab_a.pk), actor=dpo_lab_a).exists()
    # when they record the identity check without saying how, then a French error and nothing changes
    response = client.post(url, {"step": "identity_checked", "note": "", "reason": ""})
    assert response.status_code == 200
    assert "Indiquez comment l'identité a été vérifiée." in html.unescape(response.content.decode())
    request_of_lab_a.refresh_from_db()
    assert request_of_lab_a.status == "received"
    # when they record it properly, then answer
    assert client.post(url, {"step": "identity_checked", "note": "pièce d'identité", "reason": ""}).status_code == 302
    assert client.post(url, {"step": "answered", "note": "", "reason": ""}).status_code == 302
    request_of_lab_a.refresh_from_db()
    assert request_of_lab_a.status == "answered"
    assert request_of_lab_a.identity_checked_by == dpo_lab_a


def test_a_refusal_in_the_admin_needs_a_reason(client, login_verified, dpo_lab_a, request_of_lab_a):
    login_verified(client, dpo_lab_a)
    url = reverse("admin:status_page_accessrequest_change", args=[request_of_lab_a.pk])
    response = client.post(url, {"step": "refused", "note": "", "reason": ""})
    assert response.status_code == 200 and "Un refus doit être motivé" in response.content.decode()
    assert client.post(url, {"step": "refused", "note": "", "reason": "identité non établie"}).status_code == 302
    request_of_lab_a.refresh_from_db()
    assert (request_of_lab_a.status, request_of_lab_a.refusal_reason) == ("refused", "identité non établie")


@pytest.mark.parametrize("who", ["dpo_lab_b", "cnil_liaison", "operator_lab_a"])
def test_nobody_else_sees_the_request(client, login_verified, request_of_lab_a, who, request):
    # given another laboratory's DPO, the CNIL liaison, and an operator of the same laboratory
    login_verified(client, request.getfixturevalue(who))
    # when they try the request and the queue, then it is not there for them
    change = client.get(reverse("admin:status_page_accessrequest_change", args=[request_of_lab_a.pk]))
    listing = client.get(reverse("admin:status_page_accessrequest_changelist"))
    assert change.status_code in (403, 404)
    assert listing.status_code == 403 or f"n° {request_of_lab_a.pk}" not in listing.content.decode()


def test_requests_are_never_added_by_hand(client, login_verified, dpo_lab_a):
    login_verified(client, dpo_lab_a)
    assert client.get(reverse("admin:status_page_accessrequest_add")).status_code == 403
