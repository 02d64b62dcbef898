"""WCAG 2.1 AA (RGAA 4.1) on the public pages, checked by axe-core in Chromium, as a patient sees them.

Each status page (check, failure, notice, right-of-access form, its error) is checked on a desktop at 100 %,
at 200 % zoom (a 1280 px window zoomed twice: 640 CSS px, device scale 2) and on a 375×812 phone: no
violation at all. The birth-date fields line up whatever the width, and nothing needs a sideways scroll.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import caches

from notifier import campaigns, launch
from notifier.codes import status_code_for
from patients.categories import Exposure, Sensitive
from tests.factories import BreachFactory, LaboratoryFactory, PatientFactory, case_file_complete

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# name → (viewport, device scale factor): a desktop, the same desktop zoomed to 200 %, a small phone.
SIZES = {
    "100": ({"width": 1280, "height": 900}, 1),
    "200": ({"width": 640, "height": 450}, 2),
    "375": ({"width": 375, "height": 812}, 1),
}


@pytest.fixture
def patient_with_notice(django_user_model):
    caches["ratelimit"].clear()
    laboratory = LaboratoryFactory(code="LABAX", name="Laboratoire de la Rade", dpo_phone="02 98 00 00 00")
    breach = BreachFactory(slug="fuite-a11y", description="Un fichier de patients a été copié sans autorisation.")
    patient = PatientFactory(
        breach=breach, laboratory=laboratory, first_name="Anne", last_name="Kerjean", birth_date=dt.date(1948, 11, 5),
        exposure_mask=int(Exposure.IDENTITY | Exposure.BIRTH_DATE | Exposure.NIR | Exposure.MEDICAL_COMMENT),
        sensitive_mask=int(Sensitive.CANCER),
    )  # fmt: skip
    author = django_user_model.objects.create_user("auteur", password="x" * 16, is_staff=True)
    approver = django_user_model.objects.create_user("approbateur", password="x" * 16, is_staff=True)
    case_file_complete(breach=breach, laboratory=laboratory)  # what the launch gate asks (Art. 34(2))
    campaign = campaigns.campaign_create(breach=breach, laboratory=laboratory, name="Information", by=author)
    campaigns.campaign_approve(campaign=campaign, by=approver)
    launch.campaign_launch(campaign=campaign, by=author)
    return status_code_for(campaign=campaign, patient=patient)


def _context(browser, size: str):
    viewport, scale = SIZES[size]
    return browser.new_context(locale="fr-FR", viewport=viewport, device_scale_factor=scale)


def _check(page, base: str, code: str, *, birth: tuple[str, str, str]) -> None:
    page.goto(f"{base}/verifier/")
    page.fill("#id_code", code)
    page.fill("#id_day", birth[0])
    page.fill("#id_month", birth[1])
    page.fill("#id_year", birth[2])
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("size", SIZES)
def test_every_status_page_has_no_accessibility_violation(
    live_server, browser, axe, screenshot, patient_with_notice, size
):
    context = _context(browser, size)
    page = context.new_page()
    found = {}
    try:
        # given the check page, empty
        page.goto(f"{live_server.url}/verifier/")
        found["check"] = axe(page)
        assert _fits(page)
        screenshot(page, f"a11y-status-check-{size}")
        # when the birth date is wrong: the failure message
        _check(page, live_server.url, patient_with_notice, birth=("1", "1", "1950"))
        page.wait_for_selector("#check-error")
        found["failure"] = axe(page)
        screenshot(page, f"a11y-status-failure-{size}")
        # when it is right: the notice
        _check(page, live_server.url, patient_with_notice, birth=("5", "11", "1948"))
        page.wait_for_selector("#exposed-categories")
        found["notice"] = axe(page)
        assert _fits(page)
        screenshot(page, f"a11y-status-notice-{size}")
        # the right-of-access form, then its error
        page.click("#access-request-link")
        page.wait_for_selector("#access-request-submit")
        found["access-request"] = axe(page)
        page.check("input[name=requester][value=patient]")
        page.click("#access-request-submit")
        page.wait_for_selector("#access-request-error")
        found["access-request-error"] = axe(page)
        assert _fits(page)
        screenshot(page, f"a11y-status-access-request-error-{size}")
        # and the English check page
        page.goto(f"{live_server.url}/check/")
        found["check-en"] = axe(page)
    finally:
        context.close()
    # then axe finds nothing, on any of them
    assert {name: violations for name, violations in found.items() if violations} == {}


@pytest.mark.parametrize("size", SIZES)
def test_the_birth_date_fields_sit_on_one_line_under_their_legend(live_server, browser, screenshot, size):
    context = _context(browser, size)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/verifier/")
        boxes = [page.locator(f"#{field}").bounding_box() for field in ("id_day", "id_month", "id_year")]
        hint = page.locator("#birth-hint").bounding_box()
        screenshot(page, f"status-check-birth-{size}")
    finally:
        context.close()
    # then day, month and year share one top edge, left to right, all below the hint
    assert len({round(box["y"]) for box in boxes}) == 1, boxes
    assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]
    assert all(box["y"] >= hint["y"] + hint["height"] for box in boxes), (hint, boxes)


def test_axe_reports_an_unlabelled_field_and_low_contrast(page, axe):
    # given a page with the two faults most often met on forms: a field without a label, grey on grey
    page.set_content(
        '<!doctype html><html lang="fr"><head><title>Essai</title></head><body><main><h1>Essai</h1>'
        '<input type="text" name="x"><p style="color:#aaa;background:#bbb">Texte pâle</p></main></body></html>'
    )
    # when axe runs, then it names both (so a clean page above means something)
    found = " ".join(axe(page))
    assert "label" in found and "color-contrast" in found


@pytest.mark.parametrize("size", ["100", "375"])
def test_the_error_and_lockout_pages_have_no_accessibility_violation(
    live_server, browser, axe, screenshot, settings, size, django_user_model
):
    settings.AXES_FAILURE_LIMIT = 1
    django_user_model.objects.create_user("dpo-essai", password="x" * 16, is_staff=True)
    context = _context(browser, size)
    page = context.new_page()
    found = {}
    try:
        # given an address that leads nowhere
        page.goto(f"{live_server.url}/verifier/page-perdue/")
        assert "Page introuvable" in page.inner_text("h1")
        found["404"] = axe(page)
        assert _fits(page)
        screenshot(page, f"a11y-error-404-{size}")
        # and a staff log-in locked after a wrong password
        for _ in range(2):
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", "dpo-essai")
            page.fill("#id_password", "mauvais mot de passe")
            page.click("input[type=submit]:not([name=otp_challenge])")
            page.wait_for_load_state()
        assert "Connexion bloquée" in page.inner_text("h1")
        assert "60 minutes" in page.inner_text("#lockout")
        found["lockout"] = axe(page)
        assert _fits(page)
        screenshot(page, f"a11y-admin-lockout-{size}")
    finally:
        context.close()
    assert {name: violations for name, violations in found.items() if violations} == {}
