"""A laboratory's DPO takes a print batch out of the building and brings the returned mail back in, in
Chromium at a desk's size (1366×768): download the batch (PDF + manifest), hand it over through its
confirmation page, import La Poste's French returned-mail file (`;`, cp1252, French headers, one
« décédé », one unknown reference, one bad date), read the French preview, confirm, read the report; the
fallback email goes out to the patient whose letter came back « n'habite pas à l'adresse indiquée »."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

from labs import access
from labs.audit import AuditEvent
from notifier import campaigns, launch
from notifier.models import Campaign, Notification, PrintBatch
from tests.access_fixtures import make_staff
from tests.factories import BreachFactory, LaboratoryFactory, PatientFactory, case_file_complete

from .conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
S = Notification.Status


@pytest.fixture
def staff_page(browser):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1366, "height": 768}, accept_downloads=True)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def running_campaign():
    """A launched post_then_email campaign of the Remparts laboratory: 3 letters in one built batch."""
    breach = BreachFactory(slug="fuite-2026", title="Fuite de données 2026")
    lab = LaboratoryFactory(code="REMP", name="Laboratoire des Remparts")
    case_file_complete(breach=breach, laboratory=lab)  # what the launch gate asks
    for last_name in ("Durand", "Lefèvre", "Morvan"):
        PatientFactory(breach=breach, laboratory=lab, last_name=last_name)
    dpo = make_staff("dpo-remparts", role=access.DPO, laboratories=[lab])
    operator = make_staff("operateur-remparts", role=access.OPERATOR, laboratories=[lab])
    campaign = campaigns.campaign_create(breach=breach, laboratory=lab, name="Information des patients", by=operator,
                                         channel_policy=Campaign.ChannelPolicy.POST_THEN_EMAIL)  # fmt: skip
    campaign = campaigns.campaign_approve(campaign=campaign, by=dpo)
    launch.campaign_launch(campaign=campaign, by=dpo)
    return {"campaign": campaign, "dpo": dpo, "lab": lab}


def returned_mail_file(letters: list[Notification]) -> bytes:
    moved, deceased, bad_date = letters
    today = f"{timezone.localdate():%d/%m/%Y}"
    rows = [
        "Référence;Date de retour;Motif",
        f"{moved.reference};{today};N'habite pas à l'adresse indiquée",
        f"{deceased.reference};{today};Décédé",
        f"N999-999-C;{today};NPAI",
        f"{bad_date.reference};32/13/2026;Refusé",
    ]
    return ("\r\n".join(rows) + "\r\n").encode("cp1252")


def test_a_dpo_downloads_hands_over_and_imports_the_returned_mail(
    live_server, staff_page, screenshot, log_in, running_campaign, tmp_path
):
    page, dpo, campaign = staff_page, running_campaign["dpo"], running_campaign["campaign"]
    batch = PrintBatch.objects.get(campaign=campaign)
    letters = list(Notification.objects.filter(campaign=campaign).order_by("patient__last_name"))
    assert batch.built_at is not None and [n.status for n in letters] == [S.QUEUED] * 3

    # given the DPO on the print batches' list
    log_in(page, dpo, "/admin/notifier/printbatch/")
    listing = page.locator("#result_list").inner_text()
    assert "lot 1 sur 1 — campagne «\u00a0Information des patients\u00a0» (REMP)" in listing
    assert "prêt à remettre" in listing and "/print/" not in page.content()
    screenshot(page, "print-batches-list")

    # when they open the batch and download its PDF and manifest
    page.locator("#result_list tbody th a").first.click()
    page.wait_for_url(f"**/admin/notifier/printbatch/{batch.pk}/change/**")
    screenshot(page, "print-batch-page")
    body = page.locator("#content").inner_text()
    assert "Empreinte du PDF" in body and batch.pdf_sha256[:8] in body and "3" in body
    assert batch.pdf_path not in page.content()
    with page.expect_download() as pdf_download:
        page.click("text=Télécharger le PDF des lettres")
    pdf = tmp_path / pdf_download.value.suggested_filename
    pdf_download.value.save_as(pdf)
    with page.expect_download() as manifest_download:
        page.click("text=Télécharger le manifeste (CSV)")
    manifest = tmp_path / manifest_download.value.suggested_filename
    manifest_download.value.save_as(manifest)
    # then they hold the printer's files, intact, and the downloads are in the audit trail
    assert pdf.name == f"lot-01-REMP-campagne-{campaign.pk}.pdf"
    assert hashlib.sha256(pdf.read_bytes()).hexdigest() == batch.pdf_sha256
    assert all(letter.reference in manifest.read_text(encoding="utf-8") for letter in letters)
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, object_id=str(batch.pk)).count() == 2
    if shutil.which("pdftoppm"):  # the first letter as the printer will see it
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(ARTIFACTS / "print-batch-pdf")],
                       check=True)  # fmt: skip

    # when they hand it over: a confirmation page first
    with page.expect_navigation():
        page.click("text=Remettre ce lot à l'imprimeur / La Poste…")
    confirmation = page.locator("#content").inner_text()
    screenshot(page, "print-batch-hand-over-confirm")
    assert "3 lettres" in confirmation and "ne peut pas être annulée" in confirmation
    assert Notification.objects.filter(campaign=campaign, status=S.SENT).count() == 0
    with page.expect_navigation():
        page.click("text=Oui, marquer 3 lettres comme remises")
    assert "1 lot(s) remis" in page.locator("ul.messagelist").inner_text()
    screenshot(page, "print-batch-handed-over")
    assert Notification.objects.filter(campaign=campaign, status=S.SENT).count() == 3

    # when they import La Poste's returned-mail file
    page.goto(f"{live_server.url}/admin/notifier/notification/")
    page.click("a.import_link")
    page.wait_for_url("**/admin/notifier/notification/import/")
    screenshot(page, "returned-mail-import")
    page.set_input_files("#id_import_file", files=[{"name": "retours-la-poste.csv", "mimeType": "text/csv",
                                                    "buffer": returned_mail_file(letters)}])  # fmt: skip
    with page.expect_navigation():
        page.click("text=Voir l'aperçu")
    # then a French preview, a reason on every line, and nothing written yet
    preview = page.locator("#content").inner_text()
    screenshot(page, "returned-mail-preview")
    for expected in ("sera appliqué", "courriel de repli sera envoyé", "décès enregistré", "inconnu",
                     "aucune lettre de vos laboratoires", "invalide", "date illisible « 32/13/2026 »"):  # fmt: skip
        assert expected in preview, expected
    for word in ("applied", "unknown", "duplicate", "invalid "):
        assert word not in preview, word
    assert Notification.objects.filter(campaign=campaign, status=S.RETURNED).count() == 0
    # when they confirm
    with page.expect_navigation():
        page.click("text=Confirmer l'import (2 retours)")
    report = page.locator("#content").inner_text()
    screenshot(page, "returned-mail-report")
    # then the report: counts, and each line not applied with its line number and reason
    for expected in ("2 appliqués", "1 inconnu", "0 doublon", "1 invalide", "ligne 4", "ligne 5"):
        assert expected in report, expected
    moved, deceased, bad_date = (Notification.objects.get(pk=n.pk) for n in letters)
    assert (moved.status, deceased.status, bad_date.status) == (S.RETURNED, S.RETURNED, S.SENT)
    assert deceased.return_reason == Notification.ReturnReason.DECEASED
    # and the fallback email went out to the patient who moved, none to the deceased patient
    assert [message.to for message in mail.outbox] == [[moved.patient.email]]
    fallback = Notification.objects.get(campaign=campaign, channel="email")
    assert fallback.patient_id == moved.patient_id and fallback.is_fallback and fallback.status == S.SENT
    # and the returned letters' list says why each came back
    with page.expect_navigation():
        page.click("text=Voir les lettres revenues")
    screenshot(page, "returned-mail-letters")
    assert "destinataire décédé" in page.locator("#result_list").inner_text()
    assert Path(ARTIFACTS / "returned-mail-report.png").exists()
