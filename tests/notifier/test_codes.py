from __future__ import annotations

import re

from notifier import codes


def test_a_status_code_is_80_bits_of_crockford_base32_in_four_groups():
    # given / when
    code = codes.status_code_for_ids(campaign_id=1, patient_id=42)
    # then
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}", code)
    assert len(code.replace("-", "")) * 5 == 80


def test_the_same_patient_and_campaign_always_get_the_same_code_so_reprints_match():
    assert codes.status_code_for_ids(campaign_id=3, patient_id=7) == codes.status_code_for_ids(
        campaign_id=3, patient_id=7
    )


def test_codes_differ_between_patients_and_between_campaigns():
    seen = {codes.status_code_for_ids(campaign_id=c, patient_id=p) for c in range(1, 4) for p in range(1, 200)}
    assert len(seen) == 3 * 199


def test_the_code_depends_on_the_secret(settings):
    before = codes.status_code_for_ids(campaign_id=1, patient_id=1)
    settings.STATUS_CODE_SECRET = "another-secret"  # noqa: S105 (a test value)
    assert codes.status_code_for_ids(campaign_id=1, patient_id=1) != before


def test_the_digest_forgives_case_spaces_hyphens_and_look_alike_letters():
    # given a code containing 0 and 1 (or forced through a code that does)
    code = "AB01-CD01-EF01-GH01"
    # when the patient types it sloppily
    typed = "ab o1 cdOl - efOI ghoL"
    # then both give the same digest
    assert codes.status_code_digest(typed) == codes.status_code_digest(code)


def test_a_wrong_or_malformed_code_never_matches_a_real_one():
    real = codes.status_code_for_ids(campaign_id=1, patient_id=1)
    digest = codes.status_code_digest(real)
    assert codes.status_code_digest(real[:-1] + ("0" if real[-1] != "0" else "1")) != digest
    assert codes.status_code_digest("") != digest
    assert codes.status_code_digest("not a code at all") != digest
    assert codes.normalise_status_code("UUUU-UUUU-UUUU-UUUU") == ""


def test_the_verification_phrase_is_three_common_words_stable_per_patient():
    phrase = codes.verification_phrase_for_ids(campaign_id=2, patient_id=5)
    assert len(phrase.split()) == 3
    assert all(word in codes.PHRASE_WORDS for word in phrase.split())
    assert phrase == codes.verification_phrase_for_ids(campaign_id=2, patient_id=5)
    phrases = {codes.verification_phrase_for_ids(campaign_id=2, patient_id=p) for p in range(100)}
    assert len(phrases) > 90


def test_the_bulk_digests_of_the_launch_equal_the_one_by_one_digests():
    patient_ids = list(range(1, 500)) + [10**9 + 7]
    bulk = codes.status_code_digests_for(campaign_id=12, patient_ids=patient_ids)
    one_by_one = [
        codes.status_code_digest(codes.status_code_for_ids(campaign_id=12, patient_id=p)) for p in patient_ids
    ]
    assert bulk == one_by_one
