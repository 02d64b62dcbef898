"""An agent opens one notice by letter reference + birth date: uniform failure, rate-limited, audited."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.urls import reverse

from call_centre.lookup import FAILURE, LOOKUPS_PER_AGENT_PER_HOUR
from labs.audit import AuditEvent
from notifier.models import Notification
from tests.access_fixtures import login_verified, make_staff
from tests.factories import LaboratoryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counters():
    caches["ratelimit"].clear()


def _post(client, reference, day=17, month=5, year=1970):
    return client.post(
        reverse("call_centre:notice"), {"reference": reference, "day": day, "month": month, "year": year}
    )


def _reference(campaign, patient):
    return Notification.objects.filter(campaign=campaign, patient=patient).order_by("-channel").first().reference


def test_the_reference_and_the_birth_date_open_the_notice_and_the_read_is_audited(agent_client, agent, launched):
    # given
    campaign, patient = launched
    reference = _reference(campaign, patient)
    # when the agent types what the caller reads out (lower case, spaces: as people type)
    response = _post(agent_client, f" {reference.lower()} ")
    # then the notice shows, nothing medical, and the trail has the look-up
    page = response.content.decode()
    assert response.status_code == 200 and "Appelant" in page and f"Avis {reference}" in page
    event = AuditEvent.objects.get(actor=agent, action="lookup")
    assert event.extra["found"] is True and event.object_id == str(patient.pk)


@pytest.mark.parametrize("what", ["wrong birth date", "unknown reference", "another laboratory"])
def test_every_failure_reads_the_same(agent_client, launched, make_patients, what):
    # given
    campaign, patient = launched
    reference = _reference(campaign, patient)
    if what == "another laboratory":
        Notification.objects.filter(reference=reference).update(reference="N999-1-C")
        reference = "N999-1-C"
        campaign.laboratory = LaboratoryFactory(code="AILLEURS")
        campaign.save(update_fields=["laboratory"])
    if what == "unknown reference":
        reference = "N0-0-C"
    year = 1971 if what == "wrong birth date" else 1970
    # when
    response = _post(agent_client, reference, year=year)
    # then one message, no name
    page = response.content.decode()
    assert response.status_code == 200
    assert FAILURE.split(",")[0] in page and "Appelant" not in page


def test_the_agent_is_stopped_after_too_many_tries_even_with_the_right_answer(agent_client, agent, launched):
    # given an agent who spent the hour's tries
    campaign, patient = launched
    for _ in range(LOOKUPS_PER_AGENT_PER_HOUR):
        _post(agent_client, "N0-0-C")
    # when the right reference and date come
    page = _post(agent_client, _reference(campaign, patient)).content.decode()
    # then the same failure, and the trail says it was the limit
    assert "Appelant" not in page and FAILURE.split(",")[0] in page
    assert AuditEvent.objects.filter(actor=agent, action="lookup", extra__rate_limited=True).count() == 1


def test_bad_input_gets_french_errors_not_a_500(agent_client):
    response = agent_client.post(reverse("call_centre:notice"), {"reference": "", "day": "abc", "month": "13"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Saisissez la référence imprimée sur la lettre." in page
    assert "Saisissez un nombre." in page and "Mois : valeur trop grande." in page
    assert "Saisissez l&#x27;année de naissance." in page


def test_the_form_has_no_name_field_and_the_page_lists_no_notice(agent_client, launched):
    page = agent_client.get(reverse("call_centre:notice")).content.decode()
    assert 'name="last_name"' not in page and 'name="reference"' in page
    assert "Appelant" not in page


def test_a_dpo_may_not_open_a_notice_by_reference(client, laboratory, launched):
    # the DPO has the admin for that; this door is the call centre's
    dpo = make_staff("dpo-x", role="DPO", laboratories=[laboratory])
    login_verified(client, dpo)
    assert client.get(reverse("call_centre:notice")).status_code == 403
