"""A DPO and the CNIL liaison log in through the admin (password + TOTP) and read their dashboards."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache

from dashboards import cnil
from labs import access
from labs.models import BreachLaboratory, CnilFiling
from notifier.models import Campaign, Notification
from tests.access_fixtures import make_staff
from tests.browser.conftest import ARTIFACTS
from tests.factories import BreachFactory, LaboratoryFactory, PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

S = Notification.Status
AWARE = dt.datetime(2026, 3, 2, 7, 30, tzinfo=dt.UTC)
SURNAME = "Quéméneur-Test"


def _campaign(breach, laboratory, author, patients, *, start_hour, returned_every, delivered_every):
    campaign = Campaign.objects.create(
        breach=breach, laboratory=laboratory, name=f"Information des patients — {laboratory.code}",
        created_by=author, status=Campaign.Status.RUNNING,
    )  # fmt: skip
    rows = []
    for i, patient in enumerate(patients):
        sent_at = AWARE + dt.timedelta(hours=start_hour + i // 6)
        if i % returned_every == 0:
            status = S.RETURNED
        elif i % delivered_every == 0:
            status = S.DELIVERED
        elif i > len(patients) - 5:
            status, sent_at = S.PENDING, None
        else:
            status = S.SENT
        rows.append(
            Notification(
                campaign=campaign,
                patient=patient,
                channel=Notification.Channel.POST,
                status=status,
                reference=f"B{laboratory.code}-{i}",
                code_digest=f"{laboratory.pk:08x}{i:056x}",
                sent_at=sent_at,
            )  # fmt: skip
        )
        if i % 3 == 0:
            rows.append(
                Notification(
                    campaign=campaign,
                    patient=patient,
                    channel=Notification.Channel.EMAIL,
                    status=S.BOUNCED if i % 9 == 0 else S.DELIVERED,
                    reference=f"B{laboratory.code}-{i}-e",
                    code_digest=f"{laboratory.pk:08x}{i:056x}",
                    sent_at=AWARE + dt.timedelta(hours=start_hour - 2),
                )  # fmt: skip
            )
    Notification.objects.bulk_create(rows)
    return campaign


@pytest.fixture
def desk(browser):
    """Staff pages are looked at on a common laptop screen: 1366 × 768."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1366, "height": 768}, accept_downloads=True)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def dashboards_world(django_user_model):
    cache.delete(cnil.CNIL_COUNTS_CACHE_KEY)  # the counts snapshot of another test's data must not be shown
    breach = BreachFactory(slug="fuite-navigateur", title="Fuite du logiciel de laboratoire (2026)", aware_at=AWARE)
    lab_a = LaboratoryFactory(code="LAB-A", name="Laboratoire des Remparts")
    lab_b = LaboratoryFactory(code="LAB-B", name="Laboratoire du Port")
    lab_c = LaboratoryFactory(code="LAB-C", name="Laboratoire de la Gare")
    author = django_user_model.objects.create_user("auteur", password="x" * 16, is_staff=True)
    case_a = BreachLaboratory.objects.create(breach=breach, laboratory=lab_a, aware_at=AWARE, high_risk="yes")
    BreachLaboratory.objects.create(breach=breach, laboratory=lab_b, aware_at=AWARE, high_risk="undecided")
    # the Gare laboratory learnt of it 51 hours ago (its processor's notice came late): due in 21 hours
    BreachLaboratory.objects.create(
        breach=breach, laboratory=lab_c, aware_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=51)
    )
    submitted = AWARE + dt.timedelta(hours=30)
    CnilFiling.objects.create(
        case_file=case_a, sequence=1, kind="initial", submitted_at=submitted, late=False, snapshot={},
        cnil_reference="CNIL-2026-0042",
    )  # fmt: skip
    BreachLaboratory.objects.filter(pk=case_a.pk).update(first_filed_at=submitted, filed_late=False)
    patients_a = PatientFactory.create_batch(60, breach=breach, laboratory=lab_a, last_name=SURNAME)
    patients_b = PatientFactory.create_batch(6, breach=breach, laboratory=lab_b, last_name=SURNAME)
    PatientFactory.create_batch(25, breach=breach, laboratory=lab_c, last_name=SURNAME)
    _campaign(breach, lab_a, author, patients_a, start_hour=20, returned_every=7, delivered_every=2)
    _campaign(breach, lab_b, author, patients_b, start_hour=50, returned_every=5, delivered_every=2)
    dpo = make_staff("dpo-remparts", role=access.DPO, laboratories=[lab_a, lab_c])
    liaison = make_staff("liaison-cnil", role=access.CNIL_LIAISON)
    return {"dpo": dpo, "liaison": liaison}


def test_a_dpo_logs_in_with_totp_and_sees_their_laboratorys_dashboard(
    live_server, desk, screenshot, dashboards_world, log_in
):
    # given the DPO of the Remparts laboratory
    dpo = dashboards_world["dpo"]
    # when they log in through the admin with their second factor and open the dashboard
    log_in(desk, dpo, "/tableau-de-bord/")
    screenshot(desk, "dashboard-dpo")
    desk.screenshot(path=str(ARTIFACTS / "dashboard-dpo-1366x768.png"))  # what the DPO sees first
    # then they see their laboratories' case files, the one due in 21 hours on top, flagged, each a link
    body = desk.inner_text("main")
    assert "Laboratoire des Remparts" in body and "Laboratoire de la Gare" in body
    assert "Laboratoire du Port" not in body
    first = desk.locator("table.todo tbody tr").first
    assert "Laboratoire de la Gare" in first.inner_text() and "échéance dans moins de 24 h" in first.inner_text()
    assert first.locator("a").first.get_attribute("href").startswith("/admin/labs/breachlaboratory/")
    assert "À compléter" in body
    assert "déposée dans les délais" in body and "CNIL-2026-0042" in body
    assert desk.locator("svg.chart").count() == 2
    assert desk.locator("svg.chart rect.st-returned").count() >= 1
    # and the delivery report downloads
    with desk.expect_download() as download:
        desk.click("text=rapport des envois (CSV)")
    assert download.value.suggested_filename.endswith(".csv")


def test_the_cnil_liaison_logs_in_and_sees_masked_aggregates_without_names(
    live_server, desk, screenshot, dashboards_world, log_in
):
    # given the CNIL liaison
    liaison = dashboards_world["liaison"]
    # when they log in and open their dashboard
    log_in(desk, liaison, "/cnil/")
    screenshot(desk, "dashboard-cnil")
    # then every laboratory is listed, small counts masked, no patient name anywhere
    body = desk.inner_text("main")
    for name in ("Laboratoire des Remparts", "Laboratoire du Port", "Laboratoire de la Gare"):
        assert name in body
    assert "< 10" in body
    assert SURNAME not in desk.content()
    assert "à déposer, dans les délais" in body
    # with the rates and their denominators, « aucune campagne » for the Gare, the hours to the first filing
    assert "aucune campagne" in body
    assert "30 h" in body  # the Remparts filed 30 hours after awareness
    assert "(< 10 / 60)" in body or "/ 60)" in body  # unreachable patients over the 60 written to
    assert desk.locator("svg.chart").count() == 2
    # and the laboratories' table fits a 1366 × 768 screen: no column cut off on the right
    desk.locator("#labs-caption").scroll_into_view_if_needed()
    desk.screenshot(path=str(ARTIFACTS / "dashboard-cnil-table-1366x768.png"))
    region = desk.locator("div.scroll[role=region]")
    assert region.evaluate("el => el.scrollWidth <= el.clientWidth")
    # when they sort by patients, descending (the biggest laboratory first)
    desk.click("th a:has-text('Patients concernés')")
    desk.wait_for_url("**tri=patients&ordre=asc")
    desk.click("th a:has-text('Patients concernés')")
    desk.wait_for_url("**tri=patients&ordre=desc")
    assert desk.get_attribute("th[aria-sort]", "aria-sort") == "descending"
    first_row = desk.locator("table.sortable tbody tr").first.inner_text()
    assert "Laboratoire des Remparts" in first_row
    screenshot(desk, "dashboard-cnil-sorted")
