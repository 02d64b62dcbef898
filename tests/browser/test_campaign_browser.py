"""A laboratory's DPO and operator run a campaign from the admin: create, four-eyes approval, launch,
pause, follow, resume. Each step is clicked in Chromium, as they would."""

from __future__ import annotations

import pytest
from django.core import mail

from labs import access
from labs.models import BreachLaboratory
from notifier import campaigns
from notifier.models import Campaign, Notification
from tests.access_fixtures import make_staff
from tests.factories import BreachFactory, LaboratoryFactory, PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHANGELIST = "/admin/notifier/campaign/"


@pytest.fixture
def lab_world():
    breach = BreachFactory(slug="fuite-2026", title="Fuite de données 2026")
    lab = LaboratoryFactory(code="REMP", name="Laboratoire des Remparts")
    other = LaboratoryFactory(code="AUTRE", name="Laboratoire Voisin")
    for laboratory in (lab, other):  # both are parties to the breach (their Art. 33 case files)
        BreachLaboratory.objects.create(breach=breach, laboratory=laboratory, aware_at=breach.aware_at)
    PatientFactory.create_batch(4, breach=breach, laboratory=lab)
    PatientFactory.create_batch(3, breach=breach, laboratory=other)
    dpo = make_staff("dpo-remparts", role=access.DPO, laboratories=[lab])
    operator = make_staff("operateur-remparts", role=access.OPERATOR, laboratories=[lab])
    return {"breach": breach, "lab": lab, "other": other, "dpo": dpo, "operator": operator}


def run_action(page, campaign_name: str, label: str) -> str:
    """Tick the campaign's row, choose the action, press Go; returns the messages shown."""
    page.locator("tr", has_text=campaign_name).locator("input.action-select").check()
    page.select_option("select[name=action]", label=label)
    page.click("button[name=index]")
    page.wait_for_load_state()
    return page.locator("ul.messagelist").inner_text()


def log_out(page) -> None:
    page.click("#logout-form button")
    page.wait_for_load_state()
    page.context.clear_cookies()


def test_a_dpo_creates_an_operator_approves_and_the_dpo_launches_pauses_and_follows(
    live_server, desk, screenshot, log_in, lab_world, settings
):
    lab, dpo, operator = lab_world["lab"], lab_world["dpo"], lab_world["operator"]
    # given the DPO of the Remparts laboratory, logged in with their second factor
    log_in(desk, dpo, f"{CHANGELIST}add/")
    # then the form offers their laboratory only
    labs_offered = desk.locator("#id_laboratory option").all_inner_texts()
    assert any("Remparts" in text for text in labs_offered) and not any("Voisin" in text for text in labs_offered)
    # when they create a postal campaign
    desk.select_option("#id_breach", label=str(lab_world["breach"]))
    desk.select_option("#id_laboratory", label=str(lab))
    desk.fill("#id_name", "Information des patients")
    desk.select_option("#id_channel_policy", value=Campaign.ChannelPolicy.POST)
    screenshot(desk, "campaign-admin-add")
    desk.click("input[name=_save]")
    desk.wait_for_url(f"{live_server.url}{CHANGELIST}")
    campaign = Campaign.objects.get()
    assert (campaign.status, campaign.created_by) == (Campaign.Status.DRAFT, dpo)
    # and try to approve it themselves: refused, four eyes
    shown = run_action(desk, campaign.name, "Approuver (quatre yeux) / approve")
    assert "four eyes" in shown or "quatre yeux" in shown
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    log_out(desk)

    # when the laboratory's operator approves it
    log_in(desk, operator, CHANGELIST)
    shown = run_action(desk, campaign.name, "Approuver (quatre yeux) / approve")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.APPROVED and campaign.approved_by == operator, shown
    log_out(desk)

    # and the DPO launches it, then pauses it
    log_in(desk, dpo, CHANGELIST)
    run_action(desk, campaign.name, "Lancer / launch")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    assert Notification.objects.filter(campaign=campaign).count() == 4  # its own laboratory's patients only
    run_action(desk, campaign.name, "Suspendre / pause")
    # then the list shows where it stands: paused, and how far the letters got
    row = desk.locator("#result_list tr", has_text=campaign.name)
    screenshot(desk, "campaign-admin-paused")
    assert "en pause" in row.inner_text()
    progress = row.locator("td.field-progress").inner_text()
    assert progress.endswith("/4"), progress
    # and the campaign's page tells its story: who created, approved, launched and paused it
    row.locator("th a").click()
    desk.wait_for_load_state()
    trail = desk.locator(".field-trail").inner_text()
    for step in ("création", "approbation (quatre yeux)", "lancement", "mise en pause"):
        assert step in trail, step
    screenshot(desk, "campaign-admin-trail")
    # when they resume it
    desk.goto(f"{live_server.url}{CHANGELIST}")
    run_action(desk, campaign.name, "Reprendre / resume")
    campaign.refresh_from_db()
    assert campaign.status in (Campaign.Status.RUNNING, Campaign.Status.COMPLETED)
    actions = [(e.extra["campaign_action"], e.actor_id) for e in campaigns.campaign_trail_events(campaign)]
    assert actions[:5] == [("create", dpo.pk), ("approve", operator.pk), ("launch", dpo.pk), ("pause", dpo.pk),
                           ("resume", dpo.pk)]  # fmt: skip
    assert mail.outbox == []  # a postal campaign sends no email
