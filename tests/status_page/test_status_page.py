"""The patient status page: two factors, uniform failures, rate limits, privacy, audit."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from labs.audit import AuditEvent
from labs.storage import private_read
from notifier import launch
from notifier.codes import status_code_for
from notifier.models import Campaign, DeliveryEvent
from patients.categories import Exposure, Sensitive

pytestmark = pytest.mark.django_db

BIRTH = dt.date(1970, 5, 17)


@pytest.fixture
def launched(make_patients, make_campaign, django_capture_on_commit_callbacks):
    """A running campaign with one pregnant patient whose portal password leaked, and one other patient."""
    exposures = int(Exposure.IDENTITY | Exposure.BIRTH_DATE | Exposure.NIR | Exposure.POSTAL_ADDRESS
                    | Exposure.MEDICAL_COMMENT | Exposure.PORTAL_PASSWORD)  # fmt: skip
    patient = make_patients(1, birth_date=BIRTH, exposure_mask=exposures, sensitive_mask=int(Sensitive.PREGNANCY))[0]
    other = make_patients(1, birth_date=dt.date(1985, 1, 2))[0]
    campaign = make_campaign("post_and_email")
    with django_capture_on_commit_callbacks(execute=False):
        launch.campaign_launch(campaign=campaign, by=campaign.created_by)
    return campaign, patient, other


def _post(client, code, birth=BIRTH, lang="fr", **extra):
    return client.post(
        reverse(f"status:check_{lang}"),
        {"code": code, "day": birth.day, "month": birth.month, "year": birth.year},
        **extra,
    )


def _failure_fingerprint(response):
    headers = tuple(sorted((k, v) for k, v in response.headers.items() if k.lower() not in {"content-length"}))
    body = response.content.decode()
    # The CSRF token differs per response by design (masked); everything else must be identical.
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body)
    return response.status_code, headers, body


def test_the_right_code_and_birth_date_open_the_patients_own_notice(client, launched):
    # given
    campaign, patient, _ = launched
    code = status_code_for(campaign=campaign, patient=patient)
    # when
    response = _post(client, code.lower().replace("-", " "))
    # then: a fresh session, then the notice with this patient's categories; the health remark never by its class
    assert response.status_code == 302
    assert response["Location"] == reverse("status:notice_fr")
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "votre numéro de sécurité sociale" in html
    assert "une remarque liée à votre santé" in html
    assert "grossesse" not in html
    assert "Changez dès maintenant le mot de passe" in html
    assert patient.laboratory.name in html
    assert page["Cache-Control"] == "no-store"
    assert "script-src 'self'" in page["Content-Security-Policy"]


def test_session_is_cycled_on_success_and_holds_only_ids(client, launched):
    campaign, patient, _ = launched
    client.get(reverse("status:check_fr"))
    before = client.session.session_key
    _post(client, status_code_for(campaign=campaign, patient=patient))
    session = client.session
    assert session.session_key != before
    assert session["status_notice"] == {"campaign_id": campaign.pk, "patient_id": patient.pk}
    assert session.get_expiry_age() <= 900


def test_unknown_code_wrong_birth_date_and_cancelled_campaign_answer_exactly_alike(client, launched):
    # given three different ways to fail
    campaign, patient, other = launched
    code = status_code_for(campaign=campaign, patient=patient)
    other_code = status_code_for(campaign=campaign, patient=other)
    # when
    unknown = _post(client, "ZZZZ-ZZZZ-ZZZZ-ZZZZ")
    wrong_birth = _post(client, code, birth=dt.date(1970, 5, 18))
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CANCELLED)
    cancelled = _post(client, other_code, birth=dt.date(1985, 1, 2))
    garbage = _post(client, "<script>alert(1)</script>")
    # then: same status, same headers, same body
    fingerprints = {_failure_fingerprint(r) for r in (unknown, wrong_birth, cancelled, garbage)}
    assert len(fingerprints) == 1
    assert unknown.status_code == 200
    assert "Nous n'avons pas pu vérifier" in unknown.content.decode()
    assert "&lt;script&gt;" not in unknown.content.decode()  # nothing typed is echoed back


def test_the_notice_needs_a_verified_session(client, launched):
    response = client.get(reverse("status:notice_fr"))
    assert response.status_code == 302
    assert response["Location"] == reverse("status:check_fr")
    assert client.get(reverse("status:letter_fr")).status_code == 404


def test_a_client_address_is_limited_to_ten_tries_a_minute_even_with_the_right_code(client, launched, settings):
    # given ten failed tries from one address
    campaign, patient, _ = launched
    for _ in range(settings.STATUS_PAGE_TRIES_PER_IP_PER_MINUTE):
        _post(client, "ZZZZ-ZZZZ-ZZZZ-ZZZZ")
    # when the genuine code comes next from the same address, then it is refused like any failure
    limited = _post(client, status_code_for(campaign=campaign, patient=patient))
    assert limited.status_code == 200
    assert "Nous n'avons pas pu vérifier" in limited.content.decode()
    # and another address is not affected
    other = _post(client, status_code_for(campaign=campaign, patient=patient), REMOTE_ADDR="10.1.2.3")
    assert other.status_code == 302


def test_failures_on_one_code_lock_it_for_the_hour_only(client, launched, settings, time_machine):
    # given a code attacked with wrong birth dates from many addresses
    time_machine.move_to(dt.datetime(2026, 11, 22, 10, 5, tzinfo=dt.UTC))
    campaign, patient, _ = launched
    code = status_code_for(campaign=campaign, patient=patient)
    for i in range(settings.STATUS_PAGE_FAILURES_PER_CODE_PER_HOUR):
        _post(client, code, birth=dt.date(1900 + i, 1, 1), REMOTE_ADDR=f"10.0.0.{i}")
    # when the genuine patient tries in the same hour, then refused
    assert _post(client, code, REMOTE_ADDR="10.9.9.9").status_code == 200
    # when they come back the next hour, then it works: not locked out for good
    time_machine.move_to(dt.datetime(2026, 11, 22, 11, 6, tzinfo=dt.UTC))
    assert _post(client, code, REMOTE_ADDR="10.9.9.9").status_code == 302


def test_global_failure_budget_alerts_staff_once(client, launched, settings, mailoutbox):
    settings.STATUS_PAGE_GLOBAL_FAILURES_PER_HOUR = 3
    settings.ADMINS = [("Sécurité", "securite@lab.example")]
    for i in range(6):
        _post(client, "ZZZZ-ZZZZ-ZZZZ-ZZZZ", REMOTE_ADDR=f"10.0.1.{i}")
    alerts = [m for m in mailoutbox if "budget" in m.subject]
    assert len(alerts) == 1


def test_reading_the_notice_and_downloading_the_letter_are_audited(client, launched):
    campaign, patient, _ = launched
    _post(client, status_code_for(campaign=campaign, patient=patient))
    client.get(reverse("status:notice_fr"))
    pdf = client.get(reverse("status:letter_fr"))
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    events = AuditEvent.objects.filter(object_id=str(patient.pk), object_type="patients.patient")
    assert {e.action for e in events} >= {"view", "export"}


def test_acknowledging_records_one_event_however_often_it_is_clicked(client, launched):
    campaign, patient, _ = launched
    _post(client, status_code_for(campaign=campaign, patient=patient))
    for _ in range(3):
        response = client.post(reverse("status:ack_fr"))
    assert response.status_code == 302
    events = DeliveryEvent.objects.filter(source="status_page", event_type="acknowledged")
    assert events.count() == 1
    assert events.get().notification.patient_id == patient.pk
    assert "Vous avez indiqué avoir lu cet avis" in client.get(reverse("status:notice_fr")).content.decode()


def test_english_page_speaks_english(client, launched):
    campaign, patient, _ = launched
    assert "Check your letter" in client.get(reverse("status:check_en")).content.decode()
    response = _post(client, status_code_for(campaign=campaign, patient=patient), lang="en")
    assert response["Location"] == reverse("status:notice_en")
    html = client.get(response["Location"]).content.decode()
    assert "your social security number" in html
    assert "a remark related to your health" in html
    assert "pregnan" not in html


def test_signing_out_ends_the_session(client, launched):
    campaign, patient, _ = launched
    _post(client, status_code_for(campaign=campaign, patient=patient))
    client.post(reverse("status:signout_fr"))
    assert client.get(reverse("status:notice_fr")).status_code == 302


def test_the_code_never_appears_in_a_url_of_the_flow(client, launched):
    campaign, patient, _ = launched
    code = status_code_for(campaign=campaign, patient=patient)
    response = _post(client, code)
    assert code.replace("-", "") not in response["Location"].upper().replace("-", "")


def test_the_status_page_letter_reads_exactly_like_the_printed_one(
    client, make_patients, make_campaign, django_capture_on_commit_callbacks
):
    # given a postal campaign whose print batch was built at launch (eager workers)
    import csv
    import io

    from pypdf import PdfReader

    from notifier.models import PrintBatch

    patient = make_patients(1, birth_date=BIRTH, email="")[0]
    campaign = make_campaign("post")
    with django_capture_on_commit_callbacks(execute=True):
        launch.campaign_launch(campaign=campaign, by=campaign.created_by)
    batch = PrintBatch.objects.get(campaign=campaign)
    # when the patient downloads their letter from the status page
    _post(client, status_code_for(campaign=campaign, patient=patient))
    on_demand = client.get(reverse("status:letter_fr")).content
    # then its text is the text of this patient's pages in the batch
    manifest = list(csv.DictReader(io.StringIO(private_read(batch.manifest_path).decode())))
    first, pages = int(manifest[0]["first_page"]), int(manifest[0]["pages"])
    printed = PdfReader(io.BytesIO(private_read(batch.pdf_path))).pages[first - 1 : first - 1 + pages]
    downloaded = PdfReader(io.BytesIO(on_demand)).pages
    assert [p.extract_text() for p in downloaded] == [p.extract_text() for p in printed]
    assert status_code_for(campaign=campaign, patient=patient) in "".join(p.extract_text() for p in downloaded)
