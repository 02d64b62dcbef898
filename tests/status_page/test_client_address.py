"""The status page's per-address limit cannot be dodged with a forged X-Forwarded-For (issue #11, finding 3)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from notifier import launch
from notifier.codes import status_code_for

pytestmark = pytest.mark.django_db

BIRTH = dt.date(1970, 5, 17)


@pytest.fixture
def code(make_patients, make_campaign, django_capture_on_commit_callbacks):
    patient = make_patients(1, birth_date=BIRTH)[0]
    campaign = make_campaign("post_and_email")
    with django_capture_on_commit_callbacks(execute=False):
        launch.campaign_launch(campaign=campaign, by=campaign.created_by)
    return status_code_for(campaign=campaign, patient=patient)


def _try(client, code, **extra):
    data = {"code": code, "day": BIRTH.day, "month": BIRTH.month, "year": BIRTH.year}
    return client.post(reverse("status:check_fr"), data, **extra)


def test_a_new_forged_forwarded_address_per_try_does_not_reset_the_limit(client, code, settings):
    # given the production shape with gunicorn exposed directly (no trusted proxy)
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXIES = []
    limit = settings.STATUS_PAGE_TRIES_PER_IP_PER_MINUTE
    # when one address sends the right code 12 times, each with a new X-Forwarded-For
    answers = [
        _try(client, code, REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code
        for i in range(limit + 2)
    ]
    # then only the first `limit` pass: the forged header is ignored
    assert answers.count(302) == limit
    assert answers[limit:] == [200, 200]


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(client, code, settings):
    # given a reverse proxy at 10.0.0.5 that appends the client's address
    settings.TRUSTED_PROXIES = ["10.0.0.5"]
    limit = settings.STATUS_PAGE_TRIES_PER_IP_PER_MINUTE
    for _ in range(limit):
        _try(client, "ZZZZ-ZZZZ-ZZZZ-ZZZZ", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9")
    # when the limited client forges a left-most entry, then it is still limited
    forged = _try(client, code, REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9")
    assert forged.status_code == 200
    # and another client behind the same proxy is not
    other = _try(client, code, REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.10")
    assert other.status_code == 302
