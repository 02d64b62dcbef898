from __future__ import annotations

import re

import pytest
from django.core.cache import caches

from notifier import codes, launch
from notifier.models import Campaign, Notification


def test_a_status_code_is_80_bits_of_crockford_base32_in_four_groups():
    # given / when
    code = codes.status_code_for_ids(breach_id=1, patient_id=42)
    # then
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}", code)
    assert len(code.replace("-", "")) * 5 == 80


def test_the_same_patient_and_breach_always_get_the_same_code_so_reprints_match():
    assert codes.status_code_for_ids(breach_id=3, patient_id=7) == codes.status_code_for_ids(breach_id=3, patient_id=7)


def test_codes_differ_between_patients_and_between_breaches():
    seen = {codes.status_code_for_ids(breach_id=b, patient_id=p) for b in range(1, 4) for p in range(1, 200)}
    assert len(seen) == 3 * 199


def test_the_code_depends_on_the_secret(settings):
    before = codes.status_code_for_ids(breach_id=1, patient_id=1)
    settings.STATUS_CODE_SECRET = "another-secret"  # noqa: S105 (a test value)
    assert codes.status_code_for_ids(breach_id=1, patient_id=1) != before


def test_the_digest_forgives_case_spaces_hyphens_and_look_alike_letters():
    # given a code containing 0 and 1 (or forced through a code that does)
    code = "AB01-CD01-EF01-GH01"
    # when the patient types it sloppily
    typed = "ab o1 cdOl - efOI ghoL"
    # then both give the same digest
    assert codes.status_code_digest(typed) == codes.status_code_digest(code)


def test_a_wrong_or_malformed_code_never_matches_a_real_one():
    real = codes.status_code_for_ids(breach_id=1, patient_id=1)
    digest = codes.status_code_digest(real)
    assert codes.status_code_digest(real[:-1] + ("0" if real[-1] != "0" else "1")) != digest
    assert codes.status_code_digest("") != digest
    assert codes.status_code_digest("not a code at all") != digest
    assert codes.normalise_status_code("UUUU-UUUU-UUUU-UUUU") == ""


def test_the_verification_phrase_is_three_common_words_stable_per_patient():
    phrase = codes.verification_phrase_for_ids(breach_id=2, patient_id=5)
    assert len(phrase.split()) == 3
    assert all(word in codes.PHRASE_WORDS for word in phrase.split())
    assert phrase == codes.verification_phrase_for_ids(breach_id=2, patient_id=5)
    phrases = {codes.verification_phrase_for_ids(breach_id=2, patient_id=p) for p in range(100)}
    assert len(phrases) > 90


def test_the_bulk_digests_of_the_launch_equal_the_one_by_one_digests():
    patient_ids = list(range(1, 500)) + [10**9 + 7]
    bulk = codes.status_code_digests_for(breach_id=12, patient_ids=patient_ids)
    one_by_one = [codes.status_code_digest(codes.status_code_for_ids(breach_id=12, patient_id=p)) for p in patient_ids]
    assert bulk == one_by_one


# --- one code per patient and breach, whatever the campaign ---------------------------------------------
@pytest.fixture
def two_campaigns(make_patients, make_campaign, approver, django_capture_on_commit_callbacks):
    """A patient told by a first campaign, then by a follow-up of the same breach (both launched)."""
    (patient,) = make_patients(1)
    first = make_campaign("post_and_email")
    with django_capture_on_commit_callbacks(execute=False):
        launch.campaign_launch(campaign=first, by=approver)
    follow_up = make_campaign("post_and_email", is_follow_up=True)
    with django_capture_on_commit_callbacks(execute=False):
        launch.campaign_launch(campaign=follow_up, by=approver)
    return patient, first, follow_up


@pytest.mark.django_db
def test_a_follow_up_campaign_prints_and_stores_the_same_code_as_the_first(two_campaigns):
    # given a patient told twice about one breach
    patient, first, follow_up = two_campaigns
    # when their codes are derived for each campaign
    code = codes.status_code_for(campaign=first, patient=patient)
    # then it is one code, one phrase, and every row of both campaigns looks it up
    assert codes.status_code_for(campaign=follow_up, patient=patient) == code
    assert codes.verification_phrase_for(campaign=follow_up, patient=patient) == codes.verification_phrase_for(
        campaign=first, patient=patient
    )
    digests = set(Notification.objects.filter(patient=patient).values_list("code_digest", flat=True))
    assert digests == {codes.status_code_digest(code)}
    assert set(Notification.objects.filter(patient=patient).values_list("campaign_id", flat=True)) == {
        first.pk,
        follow_up.pk,
    }


@pytest.mark.django_db
def test_the_status_page_opens_the_latest_open_campaign_of_the_code(two_campaigns):
    from status_page.services import notice_verify

    caches["ratelimit"].clear()
    patient, first, follow_up = two_campaigns
    code = codes.status_code_for(patient=patient)
    # when the patient types the one code they hold
    notice = notice_verify(code=code, birth_date=patient.birth_date, client_ip="192.0.2.10")
    # then the page shows the follow-up, the latest campaign still open
    assert notice is not None and (notice.campaign_id, notice.patient_id) == (follow_up.pk, patient.pk)
    # and once the follow-up is cancelled, the same code still opens the first campaign
    Campaign.objects.filter(pk=follow_up.pk).update(status=Campaign.Status.CANCELLED)
    notice = notice_verify(code=code, birth_date=patient.birth_date, client_ip="192.0.2.11")
    assert notice is not None and notice.campaign_id == first.pk


@pytest.mark.django_db
def test_a_campaign_of_another_breach_cannot_derive_a_patients_code(make_patients, breach, laboratory):
    from tests.factories import BreachFactory

    (patient,) = make_patients(1)
    other_breach = BreachFactory(slug="autre-fuite")
    stray = Campaign(pk=999, breach=other_breach, laboratory=laboratory)
    # then a mismatch is a programming error, said loudly rather than a wrong code printed
    with pytest.raises(ValueError, match="violation"):
        codes.status_code_for(campaign=stray, patient=patient)
