"""A DPO reads their obligations on the dashboard and in the admin, assesses one "not required" and files another,
in Chromium at 1366 × 768; screenshots in test-artifacts/screenshots/obligations-*.png."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from labs import access
from labs.models import AuthorityNotification, BreachLaboratory, Obligation
from labs.obligation_services import obligations_open
from tests.access_fixtures import make_staff
from tests.factories import BreachFactory, LaboratoryFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk(browser):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1366, "height": 768})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def world(settings):
    settings.NOTIFIER_REGIMES = {
        **settings.NOTIFIER_REGIMES,
        "nis2": {**settings.NOTIFIER_REGIMES["nis2"], "enabled": True},
    }
    lab = LaboratoryFactory(code="LAB-OBL", name="Laboratoire des Remparts", dpo_email="dpo@remparts.example")
    aware = timezone.now() - dt.timedelta(hours=30)
    breach = BreachFactory(slug="fuite-obligations", title="Fuite du logiciel de laboratoire", aware_at=aware)
    case_file = BreachLaboratory.objects.create(breach=breach, laboratory=lab, aware_at=aware)
    obligations_open(case_file=case_file)
    dpo = make_staff("dpo-remparts", role=access.DPO, laboratories=[lab])
    return case_file, dpo


def test_a_dpo_sees_assesses_and_files_each_obligation_with_its_clock(
    live_server, desk, log_in, screenshot, axe, world
):
    case_file, dpo = world
    # given the DPO logged in on their dashboard
    log_in(desk, dpo, "/tableau-de-bord/")
    table = desk.locator("table.obligations")
    # then each of the four obligations is listed with its state and clock
    assert table.locator("tbody tr").count() == 4
    assert "« sans délai » — écoulé : 1 j 06 h" in table.inner_text()
    assert "alerte précoce : échéance" in table.inner_text()  # NIS2, past its 24 h: late
    assert table.locator(".ob-late").count() == 1
    screenshot(desk, "obligations-dpo-dashboard")
    assert axe(desk, impacts=("serious", "critical")) == []
    # when they open the ARS obligation and assess it "not required" without a rationale, then a French error
    ars = Obligation.objects.get(case_file=case_file, regime="ars_cert_sante")
    desk.goto(f"{live_server.url}/admin/labs/obligation/{ars.pk}/assess/")
    desk.check("input[value=not_required]")
    desk.click("input[type=submit]")
    assert "« Non requise » exige un motif écrit." in desk.inner_text("body")
    screenshot(desk, "obligations-assess-refused")
    # when they file the NIS2 early warning instead, then its clock moves to the notification
    nis2 = Obligation.objects.get(case_file=case_file, regime="nis2")
    desk.goto(f"{live_server.url}/admin/labs/obligation/{nis2.pk}/file/")
    desk.select_option("#id_step", "early_warning")
    desk.fill("#id_reference", "CERTFR-2026-0001")
    desk.click("input[type=submit]")
    desk.wait_for_url(f"{live_server.url}/admin/labs/obligation/{nis2.pk}/change/")
    body = desk.inner_text("body")
    assert "alerte précoce : échéance" in body and "déposée le" in body and "(hors délai)" in body
    assert AuthorityNotification.objects.get(obligation=nis2).late is True
    screenshot(desk, "obligations-admin-nis2")
