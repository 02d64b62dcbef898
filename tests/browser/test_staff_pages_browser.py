"""The staff pages at a 1366×768 desk, in French: no serious or critical axe violation, no column pushed off the
screen or squeezed to a letter per line, and the admin's own pages (errors, « Voir le site ») lead somewhere."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from labs import access
from labs.models import BreachLaboratory
from notifier import campaigns
from patients.categories import Exposure
from tests.access_fixtures import make_staff
from tests.factories import BreachFactory, LaboratoryFactory, PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SERIOUS = ("serious", "critical")
DESK = {"width": 1366, "height": 768}


@pytest.fixture
def staff_world():
    breach = BreachFactory(slug="fuite-bureau", title="Fuite du logiciel de laboratoire (2026)",
                           aware_at=timezone.now() - dt.timedelta(hours=51))  # fmt: skip
    lab = LaboratoryFactory(code="LAB-REMPARTS", name="Laboratoire d'analyses médicales des Remparts de Vannes")
    BreachLaboratory.objects.create(breach=breach, laboratory=lab, aware_at=breach.aware_at, high_risk="yes")
    every_exposure = 0
    for flag in Exposure:
        every_exposure |= int(flag)
    PatientFactory.create_batch(3, breach=breach, laboratory=lab, exposure_mask=every_exposure)
    dpo = make_staff("dpo-remparts", role=access.DPO, laboratories=[lab])
    operator = make_staff("operateur-remparts", role=access.OPERATOR, laboratories=[lab])
    campaign = campaigns.campaign_create(breach=breach, laboratory=lab, name="Information des patients", by=operator)
    liaison = make_staff("liaison-cnil", role=access.CNIL_LIAISON)
    return {"dpo": dpo, "liaison": liaison, "campaign": campaign}


@pytest.fixture
def desk1366(browser):
    context = browser.new_context(locale="fr-FR", viewport=DESK)
    page = context.new_page()
    yield page
    context.close()


def _visit(page, url: str, axe, screenshot, name: str) -> list[str]:
    page.goto(url)
    page.wait_for_load_state()
    screenshot(page, name)
    return axe(page, impacts=SERIOUS)


def test_the_dpos_staff_pages_have_no_serious_accessibility_violation(
    live_server, desk1366, axe, screenshot, log_in, staff_world
):
    page, base = desk1366, live_server.url
    campaign = staff_world["campaign"]
    # given the laboratory's DPO, logged in with their second factor
    log_in(page, staff_world["dpo"], "/admin/")
    found = {"admin-index": axe(page, impacts=SERIOUS)}
    screenshot(page, "staff-admin-index")
    # when they walk the pages they use every day
    pages = {
        "campaign-list": "/admin/notifier/campaign/",
        "campaign-change": f"/admin/notifier/campaign/{campaign.pk}/change/",
        "patients-list": "/admin/patients/patient/",
        "case-file-list": "/admin/labs/breachlaboratory/",
        "dashboard-dpo": "/tableau-de-bord/",
        "delivery-events": "/admin/notifier/deliveryevent/",
        "imports": "/admin/patients/importbatch/",
        "patients-export": "/admin/patients/patient/export/",
    }
    for name, path in pages.items():
        found[name] = _visit(page, base + path, axe, screenshot, f"staff-{name}")
    # then none has a serious or critical violation
    assert {name: violations for name, violations in found.items() if violations} == {}


def test_the_cnil_dashboard_has_no_serious_accessibility_violation(
    live_server, desk1366, axe, screenshot, log_in, staff_world
):
    log_in(desk1366, staff_world["liaison"], "/cnil/")
    screenshot(desk1366, "staff-dashboard-cnil")
    assert axe(desk1366, impacts=SERIOUS) == []


def test_the_72_hour_clock_is_on_screen_on_the_case_file_list_at_1366_px(
    live_server, desk1366, screenshot, log_in, staff_world
):
    # given the DPO on the case-file list, at 1366 px
    log_in(desk1366, staff_world["dpo"], "/admin/labs/breachlaboratory/")
    clock = desk1366.locator("#result_list td.field-deadline").first
    box = clock.bounding_box()
    results = desk1366.locator("#changelist .results").bounding_box()
    screenshot(desk1366, "staff-case-file-list-1366")
    # then the clock column ends inside the list's visible area (not behind its sideways scroll), in the window
    assert box is not None and box["x"] + box["width"] <= min(results["x"] + results["width"], DESK["width"]), (
        box, results)  # fmt: skip
    assert desk1366.evaluate("document.documentElement.scrollWidth") <= DESK["width"]


def test_the_exposed_data_column_of_the_patients_list_reads_as_words(
    live_server, desk1366, screenshot, log_in, staff_world
):
    # given a patient exposed on every category, on the patients list at 1366 px
    log_in(desk1366, staff_world["dpo"], "/admin/patients/patient/")
    cell = desk1366.locator("#result_list td.field-exposure").first
    box = cell.bounding_box()
    screenshot(desk1366, "staff-patients-list-1366")
    # then the column is wide enough for words (not a letter per line), and the list needs no sideways scroll
    assert box is not None and box["width"] >= 220, box
    assert desk1366.evaluate("(r => r.scrollWidth <= r.clientWidth)(document.querySelector('#changelist .results'))")
    assert desk1366.evaluate("document.documentElement.scrollWidth") <= DESK["width"]


def test_the_language_switch_shows_the_admin_in_english_and_back(
    live_server, desk1366, screenshot, log_in, staff_world
):
    # given the DPO on the admin index, in French
    log_in(desk1366, staff_world["dpo"], "/admin/")
    assert desk1366.get_attribute("html", "lang") == "fr"
    # when they press « English », then the same page comes back in English
    desk1366.click("#language-form button")
    desk1366.wait_for_load_state()
    assert desk1366.get_attribute("html", "lang") == "en"
    assert "log out" in desk1366.inner_text("#user-tools").lower()
    screenshot(desk1366, "staff-admin-index-english")
    # and « Français » brings French back
    desk1366.click("#language-form button")
    desk1366.wait_for_load_state()
    assert "déconnexion" in desk1366.inner_text("#user-tools").lower()
