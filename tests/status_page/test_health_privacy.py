"""The status page never names a health condition, and a minor's page never tells whether there was one.

Whoever holds the letter and knows the birth date reads the page: a spouse, the parents of a minor (who may
keep some care secret from them: Code de la santé publique, art. L.1111-5).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from notifier import launch
from notifier.codes import status_code_for
from patients.categories import Exposure, Sensitive

pytestmark = pytest.mark.django_db

CONDITION_WORDS = [
    "grossesse", "enceinte", "VIH", "HIV", "sida", "cancer", "tumeur", "handicap", "déficience", "sourd",
    "génétique", "genetic", "addiction", "santé mentale", "mental health", "psychiatr", "pregnan", "disabilit",
    "impairment", "séropositi", "traitement", "treatment", "prélèvement", "remarque médicale",
]  # fmt: skip
EVERYTHING = int(
    Exposure.IDENTITY | Exposure.BIRTH_DATE | Exposure.NIR | Exposure.POSTAL_ADDRESS | Exposure.MEDICAL_COMMENT
)
NO_COMMENT = EVERYTHING & ~int(Exposure.MEDICAL_COMMENT)
ADULT = dt.date(1970, 5, 17)
CHILD = dt.date(2012, 4, 2)


@pytest.fixture
def launch_for(make_campaign, django_capture_on_commit_callbacks):
    def go():
        campaign = make_campaign("post_and_email")
        with django_capture_on_commit_callbacks(execute=False):
            launch.campaign_launch(campaign=campaign, by=campaign.created_by)
        return campaign

    return go


def _notice_html(client, campaign, patient, lang):
    client.post(reverse("status:signout_fr"))
    birth = patient.birth_date
    response = client.post(
        reverse(f"status:check_{lang}"),
        {"code": status_code_for(campaign=campaign, patient=patient), "day": birth.day, "month": birth.month,
         "year": birth.year},
    )  # fmt: skip
    assert response.status_code == 302, "the check failed"
    page = client.get(reverse(f"status:notice_{lang}"))
    assert page.status_code == 200
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page.content.decode())


def _condition_words_in(html: str) -> list[str]:
    lowered = html.lower()
    return [word for word in CONDITION_WORDS if word.lower() in lowered]


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("birth", [ADULT, CHILD], ids=["adult", "minor"])
def test_no_status_page_names_a_health_condition_whatever_the_class(client, make_patients, launch_for, lang, birth):
    # given one patient of every sensitive class (and one with all of them)
    patients = [
        make_patients(1, birth_date=birth, exposure_mask=EVERYTHING, sensitive_mask=int(flag))[0] for flag in Sensitive
    ]
    everything = make_patients(1, birth_date=birth, exposure_mask=EVERYTHING, sensitive_mask=0xFF)[0]
    campaign = launch_for()
    # when each opens their notice, then no page names a condition or its class
    for patient in [*patients, everything]:
        html = _notice_html(client, campaign, patient, lang)
        assert _condition_words_in(html) == [], Sensitive(patient.sensitive_mask)
        if birth == ADULT:  # an adult's own page says there was a remark, and how to learn what it said
            assert ("une remarque liée à votre santé" in html) or ("a remark related to your health" in html)
        assert reverse(f"status:access_{lang}") in html


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_a_minors_page_reads_the_same_with_or_without_a_health_remark(client, make_patients, launch_for, lang):
    # given two 14-year-olds with the same exposed data but for the health comment (HIV for one)
    remark = make_patients(1, birth_date=CHILD, exposure_mask=EVERYTHING, sensitive_mask=int(Sensitive.HIV))[0]
    plain = make_patients(1, birth_date=CHILD, exposure_mask=NO_COMMENT, sensitive_mask=0)[0]
    campaign = launch_for()
    # when their parents open each page
    with_remark, without = _notice_html(client, campaign, remark, lang), _notice_html(client, campaign, plain, lang)
    # then the pages are the same, and speak of "your child"
    assert with_remark == without
    assert ("votre enfant" in with_remark) or ("your child" in with_remark)
    assert "commentaire lié" not in with_remark and "comment related" not in with_remark


def test_a_patient_the_leak_calls_enfant_but_adult_on_the_letter_date_gets_the_adult_page(
    client, make_patients, launch_for
):
    # given a patient born in 2004 whose leaked civility is "Enfant", with a health comment
    patient = make_patients(
        1, civility="Enfant", birth_date=dt.date(2004, 1, 5), is_minor=True, exposure_mask=EVERYTHING,
        sensitive_mask=int(Sensitive.PREGNANCY),
    )[0]  # fmt: skip
    campaign = launch_for()
    # when she opens her notice, then it speaks to her, not to her parents
    html = _notice_html(client, campaign, patient, "fr")
    assert "Vos données et la fuite" in html
    assert "votre enfant" not in html
    assert "une remarque liée à votre santé" in html


def test_the_page_decides_minors_on_the_campaigns_letter_date(client, make_patients, launch_for, time_machine):
    # given a campaign launched when the patient was 17, read after their 18th birthday
    time_machine.move_to(dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC))
    patient = make_patients(1, birth_date=dt.date(2008, 11, 22), exposure_mask=EVERYTHING, sensitive_mask=1)[0]
    campaign = launch_for()
    assert timezone.localdate(campaign.launched_at) == dt.date(2026, 11, 20)
    time_machine.move_to(dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC))
    # when the page is opened, then it reads like the letter did: to the parents, without the remark line
    html = _notice_html(client, campaign, patient, "fr")
    assert "Les données de votre enfant" in html
    assert "remarque liée à votre santé" not in html
