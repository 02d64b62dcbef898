"""The hand-over plan page and the public communications, as their readers see them (1366 × 768, Chromium)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from labs.access import CNIL_LIAISON, DPO
from notifier import launch, plans
from notifier.models import Campaign
from notifier.public_communications import public_communication_record
from tests.access_fixtures import make_staff
from tests.notifier.test_public_communications import world  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk_1366(desk):
    desk.set_viewport_size({"width": 1366, "height": 768})
    return desk


def test_the_plan_page_shows_day_by_day_and_refuses_a_capacity_of_zero_in_french(
    live_server, desk_1366, screenshot, log_in, axe, settings, make_patients, make_campaign, approver, laboratory
):
    # given a launched campaign of 9 letters in batches of 3, 1 call per batch, 2 calls a day
    settings.CAMPAIGN_PRINT_CHUNK, settings.CAMPAIGN_CALL_RATE = 3, 1 / 3
    settings.CAMPAIGN_CALL_CURVE, settings.POSTAL_DELAY_DAYS = [2, 1], 2
    make_patients(9)
    campaign = make_campaign("post")
    plans.campaign_capacity_set(campaign=campaign, agents=1, calls_per_agent=1, start=None, by=approver)
    launch.campaign_launch(campaign=campaign, by=approver)
    dpo = make_staff("dpo-plan", role=DPO, laboratories=[laboratory])
    # when the DPO opens the plan
    log_in(desk_1366, dpo, f"/admin/notifier/campaign/{campaign.pk}/plan/")
    rows = desk_1366.locator("#plan-days tbody tr")
    assert rows.count() >= 3
    assert "au-dessus de la capacité" not in desk_1366.content()
    screenshot(desk_1366, "campaign-plan")
    assert axe(desk_1366, impacts=("serious", "critical")) == []
    # and declares 0 agents: a French error, nothing changes
    desk_1366.fill("#id_call_centre_agents", "0")
    desk_1366.click("#capacity-form input[type=submit]")
    assert "Le nombre d'agents doit être au moins 1" in desk_1366.inner_text("#capacity-form")
    screenshot(desk_1366, "campaign-plan-bad-capacity")
    assert Campaign.objects.get(pk=campaign.pk).call_capacity == 1


def test_the_cnil_dashboard_lists_public_communications_with_masked_figures(
    live_server,
    desk_1366,
    screenshot,
    log_in,
    world,  # noqa: F811
):
    public_communication_record(case_file=world["case_a"], published_at=timezone.now() - dt.timedelta(days=1),
                                medium="press", where="Ouest-France", text="Avis aux patients", by=None)  # fmt: skip
    liaison = make_staff("liaison-pub", role=CNIL_LIAISON)
    log_in(desk_1366, liaison, "/cnil/")
    section = desk_1366.locator("#cnil-publications")
    section.scroll_into_view_if_needed()
    assert "presse — Ouest-France" in section.inner_text()
    assert "Zorglubovitch" not in desk_1366.content()
    screenshot(desk_1366, "cnil-public-communications")
