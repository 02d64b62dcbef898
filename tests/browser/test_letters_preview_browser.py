"""The letters preview read by a DPO in Chromium: what will not fit the envelope window, the missing English."""

from __future__ import annotations

import pytest

from tests.factories import BreachFactory, PatientFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


@pytest.fixture
def staff_page(browser):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1366, "height": 768})
    page = context.new_page()
    yield page
    context.close()


def test_the_dpo_sees_the_addresses_that_cannot_fit_and_the_missing_english(
    staff_page,
    log_in,
    screenshot,
    dpo_lab_a,
    lab_a,  # noqa: F811
):
    # given a breach without English texts, two addresses too long for the window and one that fits
    breach = BreachFactory(slug="fuite-apercu", title="Fuite chez le prestataire", description="Un fichier publié.")
    too_long = "Résidence " + "Les Grands Chênes " * 8 + "12 rue de la Paix"
    for first_name in ("Anne", "Paul"):
        PatientFactory(breach=breach, laboratory=lab_a, first_name=first_name, address_line=too_long)
    PatientFactory(breach=breach, laboratory=lab_a, first_name="Yves", address_line="802, rue Besson Bât. B")
    # when the DPO opens the letters preview
    path = f"/admin/letters/preview/{breach.pk}/{lab_a.pk}/"
    log_in(staff_page, dpo_lab_a, path)
    shot = screenshot(staff_page, "letters-preview-1366")
    # then the page says, in French, what is missing and how many addresses cannot fit
    text = staff_page.inner_text("#content-main")
    assert "Version anglaise manquante : titre de la violation, description de la violation" in text.replace(
        "\xa0", " "
    )
    assert "2 adresses ne tiennent pas en 6 lignes de 38 caractères" in text
    assert staff_page.locator("#adresses + .errornote").is_visible()
    # and each one links to the patient's record, which shows the address as stored
    staff_page.locator("#adresses ~ table a").first.click()
    staff_page.wait_for_url("**/admin/patients/patient/*/change/")
    assert too_long.strip() in staff_page.inner_text(".field-address_line")
    assert shot.exists()
