"""A DPO prepares an evidence pack from the page, watches it get ready, downloads the zip (1366×768 screenshots)."""

from __future__ import annotations

import hashlib
import subprocess
import zipfile

import pytest
from django.utils import timezone

from evidence.models import EvidencePack
from labs import access
from labs.services import cnil_filing_record
from tests.access_fixtures import make_staff
from tests.factories import BreachFactory, LaboratoryFactory, PatientFactory, case_file_complete

from .conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_dpo_prepares_and_downloads_the_evidence_pack(browser, log_in, screenshot, axe, tmp_path):
    # given a laboratory's filed case file and its DPO
    laboratory = LaboratoryFactory(code="LAB-EV", name="Laboratoire des Lices")
    breach = BreachFactory(slug="fuite-lices", title="Fuite du fichier de résultats")
    case_file = case_file_complete(breach=breach, laboratory=laboratory)
    PatientFactory(breach=breach, laboratory=laboratory)
    dpo = make_staff("dpo-lices", role=access.DPO, laboratories=[laboratory])
    cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo)
    context = browser.new_context(locale="fr-FR", viewport={"width": 1366, "height": 768}, accept_downloads=True)
    page = context.new_page()
    # when the DPO opens the page from the dashboard and presses the button
    log_in(page, dpo, "/tableau-de-bord/")
    page.click("text=Dossiers de preuves")
    screenshot(page, "evidence-before-1366")
    page.click("text=Préparer le dossier de preuves")
    page.wait_for_selector("text=Télécharger le zip", timeout=120_000)
    # then the pack is ready on the page, which is accessible
    pack = EvidencePack.objects.get()
    assert pack.status == "ready" and pack.sha256 in page.inner_text("main")
    screenshot(page, "evidence-ready-1366")
    assert axe(page, impacts=("serious", "critical")) == []
    # and the download is that zip; its filing sheet is a real PDF (rendered for a look)
    with page.expect_download() as info:
        page.click("text=Télécharger le zip")
    target = tmp_path / "dossier.zip"
    info.value.save_as(target)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == pack.sha256
    with zipfile.ZipFile(target) as archive:
        sheet = tmp_path / "fiche.pdf"
        sheet.write_bytes(archive.read("01-notifications-cnil/notification-01-initial.pdf"))
        kit = tmp_path / "kit.pdf"
        kit.write_bytes(archive.read("08-centre-appels/kit-fr.pdf"))
    for pdf, name in ((sheet, "evidence-filing-sheet"), (kit, "evidence-kit-fr")):
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(ARTIFACTS / name)],
                       check=True)  # fmt: skip
    context.close()
