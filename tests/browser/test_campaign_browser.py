"""A laboratory's DPO and operator run a campaign from the admin: create, preview, the launch gate refuses
with its list, the facts are completed, four-eyes approval and launch through their confirmation pages,
pause, follow, resume. Each step is clicked in Chromium, as they would, at a desk's 1366×768."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from labs import access
from labs.models import BreachLaboratory
from notifier import campaigns
from notifier.codes import status_code_digest, status_code_for
from notifier.models import Campaign, Notification
from tests.access_fixtures import make_staff
from tests.factories import BreachFactory, LaboratoryFactory, PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHANGELIST = "/admin/notifier/campaign/"


@pytest.fixture
def lab_world():
    """A breach with a title only, a laboratory with no DPO contact and an empty case file (what the issue
    found launching), 5 patients, one of them already told by an earlier campaign of the breach."""
    breach = BreachFactory(slug="fuite-2026", title="Fuite de données 2026", description="", period_start=None,
                           period_end=None)  # fmt: skip
    lab = LaboratoryFactory(code="REMP", name="Laboratoire des Remparts", dpo_name="", dpo_email="", dpo_phone="")
    other = LaboratoryFactory(code="AUTRE", name="Laboratoire Voisin")
    for laboratory in (lab, other):  # both are parties to the breach (their Art. 33 case files)
        BreachLaboratory.objects.create(breach=breach, laboratory=laboratory, aware_at=breach.aware_at)
    patients = PatientFactory.create_batch(5, breach=breach, laboratory=lab)
    PatientFactory.create_batch(3, breach=breach, laboratory=other)
    dpo = make_staff("dpo-remparts", role=access.DPO, laboratories=[lab])
    operator = make_staff("operateur-remparts", role=access.OPERATOR, laboratories=[lab])
    superuser = make_staff("admin-plateforme", superuser=True)
    earlier = Campaign.objects.create(breach=breach, laboratory=lab, name="Première vague", created_by=dpo,
                                      approved_by=operator, status=Campaign.Status.COMPLETED)  # fmt: skip
    Notification.objects.create(
        campaign=earlier, patient=patients[0], channel="post", status="sent", reference=f"N{earlier.pk}-1-C",
        code_digest=status_code_digest(status_code_for(patient=patients[0])),
    )  # fmt: skip
    return {"breach": breach, "lab": lab, "dpo": dpo, "operator": operator, "superuser": superuser,
            "told": patients[0]}  # fmt: skip


@pytest.fixture
def desk_1366(desk):
    desk.set_viewport_size({"width": 1366, "height": 768})
    return desk


def choose_action(page, campaign_name: str, label: str) -> None:
    """Tick the campaign's row, choose the action, press Go."""
    page.locator("tr", has_text=campaign_name).locator("input.action-select").check()
    page.select_option("select[name=action]", label=label)
    page.click("button[name=index]")
    page.wait_for_load_state()


def run_action(page, campaign_name: str, label: str) -> str:
    """An action that acts at once; returns the messages shown."""
    choose_action(page, campaign_name, label)
    return page.locator("ul.messagelist").inner_text()


def log_out(page) -> None:
    page.click("#logout-form button")
    page.wait_for_load_state()
    page.context.clear_cookies()


def save(page) -> None:
    page.click("input[name=_save]")
    page.wait_for_load_state()
    assert not page.locator(".errornote").count(), page.locator("#content").inner_text()


def test_the_gate_refuses_then_a_second_person_approves_and_the_dpo_launches_through_confirmation_pages(
    live_server, desk_1366, screenshot, log_in, lab_world
):
    desk = desk_1366
    lab, dpo, operator = lab_world["lab"], lab_world["dpo"], lab_world["operator"]
    # given the DPO of the Remparts laboratory, logged in with their second factor
    log_in(desk, dpo, f"{CHANGELIST}add/")
    # then the form offers their laboratory only
    labs_offered = desk.locator("#id_laboratory option").all_inner_texts()
    assert any("Remparts" in text for text in labs_offered) and not any("Voisin" in text for text in labs_offered)
    # when they create a campaign, letters and emails
    desk.select_option("#id_breach", label=str(lab_world["breach"]))
    desk.select_option("#id_laboratory", label=str(lab))
    desk.fill("#id_name", "Information des patients")
    desk.select_option("#id_channel_policy", value=Campaign.ChannelPolicy.POST_AND_EMAIL)
    screenshot(desk, "campaign-1-add")
    save(desk)
    campaign = Campaign.objects.get(name="Information des patients")
    assert (campaign.status, campaign.created_by) == (Campaign.Status.DRAFT, dpo)

    # when they choose "approve": the gate page, not an approval
    choose_action(desk, campaign.name, "Approuver (quatre yeux) / approve")
    missing = desk.locator("#gate-missing li").all_inner_texts()
    screenshot(desk, "campaign-2-gate-refused")
    # then it lists, one line each, what the letter cannot say yet, and four eyes; no confirm button
    for start in ("Ce qui s'est passé", "Quand", "Contact", "Ce que nous avons fait", "Conséquences", "Risque élevé"):
        assert any(line.startswith(start) for line in missing), (start, missing)
    assert "Quatre yeux" in desk.locator("#content").inner_text()
    assert desk.locator("input[value='Oui, approuver']").count() == 0
    # and the breach shared by the laboratories is the platform's to complete: the DPO is told so
    assert "à compléter par l'administrateur de la plateforme" in desk.locator("#gate-missing li").first.inner_text()
    # and the letter preview is one click away, in a new tab (the gate page stays open)
    with desk.context.expect_page() as opened:
        desk.click("#gate-preview")
    preview = opened.value
    preview.set_viewport_size({"width": 1366, "height": 768})
    preview.wait_for_load_state()
    assert "Aperçu des lettres" in preview.title()
    screenshot(preview, "campaign-3-preview")
    preview.close()

    # when the DPO completes their laboratory's DPO contact from the gate's link
    desk.locator("#gate-missing li", has_text="Contact").get_by_role("link", name="Compléter").click()
    desk.wait_for_load_state()
    desk.fill("#id_dpo_name", "Claire Martin")
    desk.fill("#id_dpo_email", "dpo@remparts.example")
    save(desk)
    # and the case file: consequences, a measure, the high-risk decision
    desk.goto(f"{live_server.url}{CHANGELIST}")
    choose_action(desk, campaign.name, "Approuver (quatre yeux) / approve")
    desk.locator("#gate-missing li", has_text="Conséquences").get_by_role("link", name="Compléter").click()
    desk.wait_for_load_state()
    desk.check("input[name=consequences][value=phishing]")
    desk.select_option("#id_high_risk", value=BreachLaboratory.HighRisk.YES)
    desk.fill("#id_high_risk_justification", "Données de santé et numéro de sécurité sociale.")
    desk.fill("#id_measures-0-text", "Accès de l'éditeur coupé ; mots de passe du portail réinitialisés.")
    save(desk)
    log_out(desk)
    # and the platform's superuser completes the breach shared by the laboratories: what happened, and when
    log_in(desk, lab_world["superuser"], f"/admin/labs/breach/{lab_world['breach'].pk}/change/")
    desk.fill("#id_description", "Un fichier de résultats d'analyses a été copié chez l'éditeur du logiciel.")
    desk.fill("#id_period_start", "01/01/2015")
    desk.fill("#id_period_end", "31/12/2020")
    save(desk)
    log_out(desk)

    # when the laboratory's operator (a second person) approves
    log_in(desk, operator, CHANGELIST)
    choose_action(desk, campaign.name, "Approuver (quatre yeux) / approve")
    forecast = " ".join(desk.locator("#gate-forecast").inner_text().split())
    facts = desk.locator("#gate-facts").inner_text()
    screenshot(desk, "campaign-4-approve-confirm")
    # then the page says what will happen: 4 letters, 4 emails, the patient already told left out
    assert desk.locator("#gate-missing").count() == 0
    assert "4 lettres" in forecast and "4 courriels" in forecast, forecast
    assert re.search(r"1 patient exclu : déjà informé par une autre campagne", forecast), forecast
    assert "01/01/2015" in facts or "1 janvier 2015" in facts, facts
    assert "Claire Martin" in facts
    desk.click("input[value='Oui, approuver']")
    desk.wait_for_load_state()
    assert "Campagne approuvée" in desk.locator("ul.messagelist").inner_text()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.APPROVED and campaign.approved_by == operator
    log_out(desk)

    # when the DPO launches it: a confirmation page first
    log_in(desk, dpo, CHANGELIST)
    choose_action(desk, campaign.name, "Lancer / launch")
    assert "Lancer maintenant crée" in desk.locator("#gate-forecast").inner_text()
    assert not Notification.objects.filter(campaign=campaign).exists()
    screenshot(desk, "campaign-5-launch-confirm")
    desk.click("input[value='Oui, lancer maintenant']")
    desk.wait_for_load_state()
    assert "Campagne lancée" in desk.locator("ul.messagelist").inner_text()
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    # then its own laboratory's patients only, the one already told left out: 4 letters, 4 emails
    rows = Notification.objects.filter(campaign=campaign)
    assert rows.filter(channel="post").count() == 4 and rows.filter(channel="email").count() == 4
    assert not rows.filter(patient=lab_world["told"]).exists()
    assert len(mail.outbox) == 4
    # and pauses it; the list shows where it stands
    run_action(desk, campaign.name, "Suspendre / pause")
    row = desk.locator("#result_list tr", has_text=campaign.name)
    screenshot(desk, "campaign-6-paused")
    assert "en pause" in row.inner_text()
    # and the campaign's page tells its story: who created, approved, launched and paused it
    row.locator("th a").click()
    desk.wait_for_load_state()
    trail = desk.locator(".field-trail").inner_text()
    for step in ("création", "approbation (quatre yeux)", "lancement", "mise en pause"):
        assert step in trail, step
    screenshot(desk, "campaign-7-trail")
    # when they resume it
    desk.goto(f"{live_server.url}{CHANGELIST}")
    run_action(desk, campaign.name, "Reprendre / resume")
    campaign.refresh_from_db()
    assert campaign.status in (Campaign.Status.RUNNING, Campaign.Status.COMPLETED)
    actions = [(e.extra["campaign_action"], e.actor_id) for e in campaigns.campaign_trail_events(campaign)]
    assert actions[:5] == [("create", dpo.pk), ("approve", operator.pk), ("launch", dpo.pk), ("pause", dpo.pk),
                           ("resume", dpo.pk)]  # fmt: skip
