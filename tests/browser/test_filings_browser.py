"""A DPO files an initial CNIL notification with what is known, completes the case file, files a complementary
one that cites the initial, and prints the register: clicked in Chromium at 1366×768, as they would."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest
from django.utils import timezone

from labs import access
from labs.models import BreachLaboratory, CnilFiling
from tests.access_fixtures import make_staff
from tests.browser.conftest import ARTIFACTS
from tests.factories import BreachFactory, LaboratoryFactory, PatientFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CASE_FILES = "/admin/labs/breachlaboratory/"
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture
def staff_page(browser):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1366, "height": 768}, accept_downloads=True)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def filing_world(settings, tmp_path):
    breach = BreachFactory(
        slug="fuite-logiciel",
        title="Fuite du logiciel de laboratoire",
        aware_at=timezone.now() - dt.timedelta(hours=30),
    )
    lab = LaboratoryFactory(code="REMP", name="Laboratoire des Remparts", siren="552100554")
    case_file = BreachLaboratory.objects.create(
        breach=breach, laboratory=lab, aware_at=breach.aware_at, nature_confidentiality=True,
        description="Fichier de patients publié sur un forum.", data_categories="identité, NIR, date de naissance",
        health_data=True, people_estimate=1200, records_estimate=1500, minors_estimate=80,
    )  # fmt: skip
    PatientFactory.create_batch(2, breach=breach, laboratory=lab)
    dpo = make_staff("dpo-remparts", role=access.DPO, laboratories=[lab])
    return {"case_file": case_file, "lab": lab, "dpo": dpo}


def test_a_dpo_files_an_initial_then_a_complementary_notification_and_prints_the_register(
    live_server, staff_page, screenshot, log_in, filing_world, tmp_path
):
    page, case_file = staff_page, filing_world["case_file"]
    change = f"{CASE_FILES}{case_file.pk}/change/"
    # given the DPO of the Remparts laboratory on the case-file list: the register's links are there
    log_in(page, filing_world["dpo"], CASE_FILES)
    assert page.locator("a.register_pdf_link").is_visible()
    assert page.locator("a.export_link").text_content() == "Registre CSV / XLSX"
    screenshot(page, "filings-case-file-list-1366")
    # when they open the case file: the Art. 33(3) items still missing are « à compléter », filing is offered
    page.goto(f"{live_server.url}{change}")
    checklist = page.locator(".field-checklist").inner_text()
    assert "à compléter" in checklist and "représentant légal" in checklist and "mesures prises" in checklist
    screenshot(page, "filings-case-file-page-1366")
    page.get_by_role("link", name="Enregistrer la notification initiale").click()
    page.wait_for_load_state()
    # and they record the initial notification with the CNIL's reference and its receipt
    page.fill("#id_cnil_reference", "CNIL-2026-004217")
    page.set_input_files("#id_receipt", {"name": "accuse-cnil.pdf", "mimeType": "application/pdf", "buffer": PDF})
    screenshot(page, "filings-initial-form-1366")
    page.get_by_role("button", name="Enregistrer la notification initiale").click()
    page.wait_for_load_state()
    # then the filing's page shows what is still to complete, the receipt, and the text sent
    initial = CnilFiling.objects.get()
    assert initial.kind == "initial" and initial.receipt_name
    assert "représentant légal" in page.locator(".field-to_complete").inner_text()
    assert "télécharger le PDF" in page.locator(".field-receipt").inner_text()
    screenshot(page, "filings-initial-filed-1366")

    # when the DPO completes the case file (start and discovery, cause, a measure) and saves it
    page.goto(f"{live_server.url}{change}")
    start = timezone.localtime(case_file.aware_at - dt.timedelta(days=2))
    discovered = timezone.localtime(case_file.aware_at - dt.timedelta(hours=1))
    page.fill("#id_started_at_0", start.strftime("%d/%m/%Y"))
    page.fill("#id_started_at_1", start.strftime("%H:%M:%S"))
    page.fill("#id_discovered_at_0", discovered.strftime("%d/%m/%Y"))
    page.fill("#id_discovered_at_1", discovered.strftime("%H:%M:%S"))
    page.select_option("#id_cause", value="external_malicious")
    page.locator("#measures-group a.addlink, #measures-group .add-row a").first.click()
    page.fill("#id_measures-0-text", "Accès du sous-traitant coupés, mots de passe du portail réinitialisés.")
    page.click("input[name=_continue]")
    page.wait_for_load_state()
    assert "modifié" in page.locator("ul.messagelist").inner_text().lower()
    # and files a complementary notification: the page cites the initial and lists what changed
    page.get_by_role("link", name="Déposer une notification complémentaire").click()
    page.wait_for_load_state()
    body = page.locator("#content-main").inner_text()
    assert "référence CNIL CNIL-2026-004217" in body
    changes = page.locator("table.changes").inner_text()
    assert "Origine (cause)" in changes and "acte externe malveillant" in changes and "Mesures" in changes
    screenshot(page, "filings-complement-form-1366")
    page.get_by_role("button", name="Enregistrer la notification complémentaire").click()
    page.wait_for_load_state()
    # then the complement is recorded, citing the initial, with its changes frozen
    complement = CnilFiling.objects.get(sequence=2)
    assert complement.snapshot["filing"]["initial"]["cnil_reference"] == "CNIL-2026-004217"
    assert "CNIL-2026-004217" in page.locator(".field-initial_reference").inner_text()
    assert "acte externe malveillant" in page.locator(".field-changes").inner_text()
    screenshot(page, "filings-complement-filed-1366")

    # when they go back to the list and print the register
    page.goto(f"{live_server.url}{CASE_FILES}")
    with page.expect_download() as download:
        page.click("a.register_pdf_link")
    path = tmp_path / "registre.pdf"
    download.value.save_as(path)
    # then the PDF holds the case file with both filings and their reference
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    squashed = "".join(text.split())  # values wrap inside their column
    assert "LaboratoiredesRemparts" in squashed and "CNIL-2026-004217" in squashed
    assert "complémentairen°2" in squashed
    shots = tmp_path / "registre"
    subprocess.run(["pdftoppm", "-r", "80", "-png", "-f", "1", "-l", "1", str(path), str(shots)], check=True)
    (ARTIFACTS / "filings-register-pdf-page1.png").write_bytes(next(tmp_path.glob("registre*.png")).read_bytes())
