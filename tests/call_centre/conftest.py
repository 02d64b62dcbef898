"""Fixtures of the call-centre tests: an agent of the laboratory, a launched campaign, its case file."""

from __future__ import annotations

import pytest

from labs import access
from labs.models import BreachLaboratory
from notifier import launch
from tests.access_fixtures import login_verified, make_staff
from tests.factories import case_file_complete


@pytest.fixture
def agent(laboratory):
    return make_staff("agent", role=access.CALL_CENTRE, laboratories=[laboratory])


@pytest.fixture
def agent_client(client, agent):
    return login_verified(client, agent)


@pytest.fixture
def case_file(breach, laboratory) -> BreachLaboratory:
    return case_file_complete(breach=breach, laboratory=laboratory)


@pytest.fixture
def launched(make_patients, make_campaign, django_capture_on_commit_callbacks):
    """A launched campaign of the laboratory with one patient born on 17/05/1970 (the factory's date)."""
    (patient,) = make_patients(1, last_name="Appelant")
    campaign = make_campaign()
    with django_capture_on_commit_callbacks(execute=True):
        launch.campaign_launch(campaign=campaign, by=campaign.approved_by)
    return campaign, patient
