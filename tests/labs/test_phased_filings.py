"""Filings in phases (Art. 33(4)): an initial one with what is known, complementary ones citing it with what changed;
the text sent, the CNIL case number and the receipt (PDF, once); the filing's content (persons, dates, cause,
people informed, other authorities). Synthetic data only."""

import datetime as dt
import stat
import subprocess

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from labs.filings import FilingImmutableError
from labs.models import AuthorityNotification, BreachLaboratory, CnilFiling
from labs.receipts import RECEIPTS_PREFIX
from labs.selectors import case_file_missing
from labs.services import (
    authority_notification_add,
    case_file_people_informed_record,
    case_file_prefill_estimates,
    cnil_filing_receipt_attach,
    cnil_filing_record,
)
from labs.sheets import filing_sheet_pdf
from labs.storage import private_exists
from tests.factories import BreachFactory, PatientFactory

from .helpers import complete_case_file

pytestmark = pytest.mark.django_db

# A minimal valid PDF (one empty page): what a receipt looks like to the checks.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def _pdf(name="accuse-cnil.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def _partial_case_file(lab):
    """What a DPO knows on day one: the leak and its data, not yet the legal representative nor any measure."""
    lab.siren = "552100554"
    lab.save()
    return BreachLaboratory.objects.create(
        breach=BreachFactory(title="Fuite du logiciel de laboratoire"),
        laboratory=lab,
        aware_at=timezone.now() - dt.timedelta(hours=20),
        nature_confidentiality=True,
        description="Fichier de patients publié sur un forum.",
        data_categories="identité, NIR",
        people_estimate=1200,
        records_estimate=1500,
    )


@pytest.fixture
def dpo_a_client(client, login_verified, dpo_lab_a):
    return login_verified(client, dpo_lab_a)


# --- phases ------------------------------------------------------------------------------------------
def test_an_initial_filing_with_items_missing_then_a_complement_cites_its_reference_and_shows_what_changed(
    dpo_lab_a, lab_a
):
    # given a case file with only what is known on day one, filed as the initial notification
    case_file = _partial_case_file(lab_a)
    filed_at = timezone.now() - dt.timedelta(hours=2)
    initial = cnil_filing_record(
        case_file=case_file, submitted_at=filed_at, by=dpo_lab_a, cnil_reference="CNIL-2026-004217"
    )
    assert "représentant légal" in initial.snapshot["missing"]
    assert "mesures prises ou proposées" in initial.snapshot["missing"]
    # when the legal representative, a measure and a new count are known, and a complement is filed
    lab_a.legal_representative_name = "Jeanne Durand"
    lab_a.save()
    case_file.refresh_from_db()
    case_file.people_estimate = 1350
    case_file.save()
    case_file.measures.create(text="Accès du sous-traitant coupés.")
    complement = cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a)
    # then the complement cites the initial (reference and date) and lists what changed, before → after
    cited = complement.snapshot["filing"]["initial"]
    assert cited["cnil_reference"] == "CNIL-2026-004217"
    assert cited["submitted_at"] == filed_at.isoformat()
    changes = {c["label"]: (c["before"], c["after"]) for c in complement.snapshot["filing"]["changes"]}
    assert changes["Représentant légal"] == ("", "Jeanne Durand")
    assert changes["Patients : personnes (estimation)"] == ("1200", "1350")
    assert "Accès du sous-traitant coupés." in changes["Mesures"][1]
    assert "Description détaillée" not in changes  # unchanged items are not listed
    # and the missing items shrank; the text sent says all of it
    assert "représentant légal" not in complement.snapshot["missing"]
    assert "Complète la notification initiale référence CNIL CNIL-2026-004217" in complement.text
    assert "- Représentant légal : « — » → « Jeanne Durand »" in complement.text


def test_a_complement_is_refused_while_the_initial_has_no_cnil_reference_then_accepted_once_it_has(dpo_lab_a, lab_a):
    # given an initial filing recorded before the CNIL gave its case number
    case_file = complete_case_file(lab_a)
    initial = cnil_filing_record(
        case_file=case_file, submitted_at=timezone.now() - dt.timedelta(minutes=5), by=dpo_lab_a
    )
    # when a complement is filed, then it is refused, saying why (it must cite the initial)
    with pytest.raises(ValidationError, match="n'a pas encore de référence CNIL"):
        cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a)
    # and once the reference arrives and is added, the complement goes through and cites it
    cnil_filing_receipt_attach(filing=initial, by=dpo_lab_a, cnil_reference="CNIL-2026-1")
    complement = cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a)
    assert complement.snapshot["filing"]["initial"]["cnil_reference"] == "CNIL-2026-1"
    assert CnilFiling.objects.count() == 2


def test_a_complement_dated_before_the_previous_filing_is_refused(dpo_lab_a, lab_a):
    case_file = complete_case_file(lab_a)
    cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a, cnil_reference="R-1")
    with pytest.raises(ValidationError, match="précède celle de la notification précédente"):
        cnil_filing_record(case_file=case_file, submitted_at=timezone.now() - dt.timedelta(hours=1), by=dpo_lab_a)
    assert CnilFiling.objects.count() == 1


def test_a_late_initial_needs_reasons_and_a_later_complement_stays_on_the_frozen_lateness(dpo_lab_a, lab_a):
    # given a case file whose deadline passed 8 hours ago, filed late with reasons and items missing
    case_file = _partial_case_file(lab_a)
    case_file.aware_at = timezone.now() - dt.timedelta(hours=80)
    case_file.save()
    with pytest.raises(ValidationError, match="motifs du retard"):
        cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a, cnil_reference="R-1")
    initial = cnil_filing_record(
        case_file=case_file,
        submitted_at=timezone.now() - dt.timedelta(minutes=1),
        by=dpo_lab_a,
        cnil_reference="R-1",
        delay_reasons="Avis du sous-traitant reçu tardivement.",
    )
    # when a complement is filed without reasons
    complement = cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a)
    # then the initial is late, the complement is not, and the case file keeps the initial's lateness
    case_file.refresh_from_db()
    assert (initial.late, complement.late, case_file.filed_late) == (True, False, True)


def test_the_text_sent_and_the_snapshot_stay_as_filed_when_the_case_file_changes(dpo_lab_a, lab_a):
    # given a filing
    case_file = complete_case_file(lab_a)
    filing = cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a)
    text = filing.text
    # when the case file is edited afterwards
    case_file.description = "Nouvelle description, après le dépôt."
    case_file.save()
    # then the filing's text and sheet still say what was filed
    filing.refresh_from_db()
    assert filing.text == text
    assert "Fichier de patients publié sur un forum." in text and "Nouvelle description" not in text


# --- the authority's answer: case number and receipt -----------------------------------------------------
def test_the_receipt_is_stored_0600_in_the_private_storage_with_its_sha256(dpo_lab_a, lab_a, tmp_path):
    # given the private storage of the settings (the file system under the test's var dir)
    # when the DPO files with the CNIL's receipt
    filing = cnil_filing_record(
        case_file=complete_case_file(lab_a), submitted_at=timezone.now(), by=dpo_lab_a,
        cnil_reference="R-9", receipt=_pdf(),
    )  # fmt: skip
    # then the file is under its folder there, readable by its owner only, with the content's SHA-256
    path = tmp_path / "cnil-receipts" / filing.receipt_name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_bytes() == PDF
    import hashlib

    assert filing.receipt_sha256 == hashlib.sha256(PDF).hexdigest()
    assert "accuse-cnil" not in filing.receipt_name  # never the uploaded name


def test_the_reference_and_receipt_are_written_once_and_never_replaced(dpo_lab_a, lab_a):
    # given a filing with no reference nor receipt
    filing = cnil_filing_record(case_file=complete_case_file(lab_a), submitted_at=timezone.now(), by=dpo_lab_a)
    # when both are added, then added again (same reference: nothing changes), then replaced
    cnil_filing_receipt_attach(filing=filing, by=dpo_lab_a, cnil_reference="R-1", receipt=_pdf())
    cnil_filing_receipt_attach(filing=filing, by=dpo_lab_a, cnil_reference="R-1")
    with pytest.raises(ValidationError, match="a déjà la référence CNIL"):
        cnil_filing_receipt_attach(filing=filing, by=dpo_lab_a, cnil_reference="R-2")
    with pytest.raises(ValidationError, match="a déjà son accusé de réception"):
        cnil_filing_receipt_attach(filing=filing, by=dpo_lab_a, receipt=_pdf())
    # and the model itself refuses to overwrite them or to change anything else
    filing.refresh_from_db()
    filing.cnil_reference = "R-3"
    with pytest.raises(FilingImmutableError):
        filing.save(update_fields=["cnil_reference"])
    filing.delay_reasons = "changé"
    with pytest.raises(FilingImmutableError):
        filing.save(update_fields=["delay_reasons"])
    assert CnilFiling.objects.get().cnil_reference == "R-1"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("accuse.pdf", b"MZ\x90\x00 not a pdf at all", "doit être un fichier PDF"),
        ("accuse.docx", PDF, "doit être un fichier PDF"),
        ("accuse.pdf", b"%PDF-1.4 truncated, no end of file", "doit être un fichier PDF"),
        ("accuse.pdf", PDF + b"x" * 2048, "taille autorisée"),
    ],
    ids=["not-a-pdf", "wrong-extension", "truncated", "too-big"],
)
def test_a_bad_receipt_is_refused_through_the_admin_with_a_french_message(
    dpo_a_client, lab_a, settings, tmp_path, name, content, message
):
    # given a filing, and a 2 KB limit so that "too big" is cheap to build
    settings.CNIL_RECEIPT_MAX_BYTES = 2048
    filing = cnil_filing_record(case_file=complete_case_file(lab_a), submitted_at=timezone.now(), by=None)
    # when the DPO uploads a bad file as its receipt
    response = dpo_a_client.post(
        reverse("admin:labs_cnilfiling_attach_receipt", args=[filing.pk]),
        {"receipt": SimpleUploadedFile(name, content, content_type="application/pdf")},
    )
    # then the page comes back (no 500) with a French message, and nothing is recorded nor written
    assert response.status_code == 200
    assert message in response.content.decode()
    filing.refresh_from_db()
    assert filing.receipt_name == ""
    assert not private_exists(RECEIPTS_PREFIX) and not (tmp_path / RECEIPTS_PREFIX).exists()


def test_the_dpo_adds_the_reference_and_receipt_in_the_admin_and_downloads_it(dpo_a_client, lab_a):
    # given a filing recorded without its receipt
    filing = cnil_filing_record(case_file=complete_case_file(lab_a), submitted_at=timezone.now(), by=None)
    page = dpo_a_client.get(reverse("admin:labs_cnilfiling_change", args=[filing.pk])).content.decode()
    assert reverse("admin:labs_cnilfiling_attach_receipt", args=[filing.pk]) in page
    # when the DPO adds both, then downloads the receipt
    response = dpo_a_client.post(
        reverse("admin:labs_cnilfiling_attach_receipt", args=[filing.pk]),
        {"cnil_reference": "CNIL-77", "receipt": _pdf()},
    )
    download = dpo_a_client.get(reverse("admin:labs_cnilfiling_receipt", args=[filing.pk]))
    # then they are recorded and the download is the same PDF; the link to add them is gone
    assert response.status_code == 302
    assert download.status_code == 200 and download.content == PDF
    page = dpo_a_client.get(reverse("admin:labs_cnilfiling_change", args=[filing.pk])).content.decode()
    assert "CNIL-77" in page and reverse("admin:labs_cnilfiling_attach_receipt", args=[filing.pk]) not in page


def test_a_non_pdf_receipt_on_the_filing_form_is_refused_and_nothing_is_filed(dpo_a_client, lab_a):
    case_file = complete_case_file(lab_a)
    now = timezone.localtime()
    response = dpo_a_client.post(
        reverse("admin:labs_breachlaboratory_file", args=[case_file.pk]),
        {
            "submitted_at_0": now.strftime("%d/%m/%Y"),
            "submitted_at_1": now.strftime("%H:%M:%S"),
            "receipt": SimpleUploadedFile("accuse.png", b"\x89PNG\r\n\x1a\n", content_type="image/png"),
        },
    )
    assert response.status_code == 200
    assert "doit être un fichier PDF" in response.content.decode()
    assert not CnilFiling.objects.exists()


# --- content ------------------------------------------------------------------------------------------
def test_the_filing_carries_persons_dates_cause_people_informed_and_other_authorities(dpo_lab_a, lab_a):
    # given a complete case file with minors and others, the campaign's figures and the ARS told
    case_file = complete_case_file(lab_a)
    case_file.minors_estimate, case_file.minors_records_estimate = 80, 95
    case_file.others_description, case_file.others_estimate = "médecins prescripteurs", 40
    case_file.ended_at = case_file.aware_at - dt.timedelta(hours=5)
    case_file.save()
    first, last = timezone.now() - dt.timedelta(hours=3), timezone.now() - dt.timedelta(hours=1)
    case_file_people_informed_record(
        case_file=case_file, count=1180, first_at=first, last_at=last, channels=["courrier", "courriel"], finished=True
    )
    authority_notification_add(
        case_file=case_file, authority="ars", notified_at=timezone.now(), reference="ARS-BZH-2026-12", by=dpo_lab_a
    )
    # when it is filed
    filing = cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a)
    s = filing.snapshot
    # then the snapshot and the text sent carry each of them, the numbers marked as estimates
    assert s["data_and_people"]["minors_estimate"] == 80 and s["data_and_people"]["estimates"] is True
    assert s["data_and_people"]["others_description"] == "médecins prescripteurs"
    assert s["breach"]["started_at"] and s["breach"]["ended_at"] and s["breach"]["discovered_at"]
    assert s["breach"]["cause"] == "acte externe malveillant"
    assert s["information_of_people"]["informed"] == "oui, informées"
    assert s["information_of_people"]["informed_count"] == 1180
    assert s["information_of_people"]["informed_channels"] == "courrier, courriel"
    assert s["other_authorities"][0]["reference"] == "ARS-BZH-2026-12"
    assert "Dont mineurs : personnes (estimation) : 80" in filing.text
    assert "ARS (agence régionale de santé) : informée le" in filing.text
    assert "Données de santé (art. 9) : oui" in filing.text


def test_an_ongoing_breach_says_so_and_a_missing_start_is_an_item_to_complete(lab_a):
    case_file = complete_case_file(lab_a)
    assert case_file_missing(case_file) == []
    case_file.started_at = None
    case_file.cause = ""
    assert case_file_missing(case_file) == [
        "dates de début et de découverte de la violation",
        "origine (cause) de la violation",
    ]


def test_minors_are_prefilled_from_the_import_and_the_dpos_edit_is_kept(lab_a):
    # given a breach with 3 patients at A, one of them a minor with 2 records
    breach = BreachFactory()
    PatientFactory(breach=breach, laboratory=lab_a, is_minor=True, record_count=2)
    PatientFactory.create_batch(2, breach=breach, laboratory=lab_a)
    case_file = BreachLaboratory.objects.create(breach=breach, laboratory=lab_a, aware_at=timezone.now())
    # when the estimates are prefilled, then edited by the DPO and prefilled again
    case_file_prefill_estimates(case_file=case_file)
    assert (case_file.people_estimate, case_file.minors_estimate, case_file.minors_records_estimate) == (3, 1, 2)
    case_file.minors_estimate = 5
    case_file.save()
    case_file_prefill_estimates(case_file=case_file)
    # then the edit stays
    case_file.refresh_from_db()
    assert case_file.minors_estimate == 5


def test_people_informed_from_campaign_figures_is_idempotent(lab_a):
    case_file = complete_case_file(lab_a)
    first = timezone.now() - dt.timedelta(days=1)
    for _ in range(2):
        case_file_people_informed_record(
            case_file=case_file, count=10, first_at=first, last_at=None, channels=["courrier"], finished=False
        )
    case_file.refresh_from_db()
    assert (case_file.people_informed, case_file.people_informed_count) == ("in_progress", 10)
    assert case_file.people_informed_first_at == first


def test_another_authority_named_other_needs_its_name(lab_a):
    case_file = complete_case_file(lab_a)
    with pytest.raises(ValidationError, match="Précisez le nom"):
        authority_notification_add(case_file=case_file, authority="other", notified_at=timezone.now())
    assert not AuthorityNotification.objects.exists()


def test_the_case_file_form_refuses_an_end_before_the_start_in_french(dpo_a_client, lab_a):
    case_file = complete_case_file(lab_a)
    aware = timezone.localtime(case_file.aware_at)
    response = dpo_a_client.post(
        reverse("admin:labs_breachlaboratory_change", args=[case_file.pk]),
        {
            "aware_at_0": aware.strftime("%d/%m/%Y"),
            "aware_at_1": aware.strftime("%H:%M:%S"),
            "started_at_0": "10/03/2026",
            "started_at_1": "08:00:00",
            "ended_at_0": "01/03/2026",
            "ended_at_1": "08:00:00",
            "minors_estimate": "5000",
            "people_estimate": "10",
            "high_risk": "undecided",
            "cnil_decision": "undecided",
            "exemption": "none",
            "people_informed": "not_yet",
            **{
                f"{p}-{k}": "0"
                for p in ("measures", "filings", "authority_notifications")
                for k in ("TOTAL_FORMS", "INITIAL_FORMS")
            },
        },  # fmt: skip
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "La fin de la violation précède son début." in page
    assert "pas plus de mineurs que de patients" in page


# --- the sheet ----------------------------------------------------------------------------------------
def test_the_complement_sheet_pdf_shows_the_items_to_complete_the_initial_cited_and_the_changes(
    dpo_lab_a, lab_a, tmp_path
):
    # given an initial filing with items missing, then a complement with the legal representative added
    case_file = _partial_case_file(lab_a)
    cnil_filing_record(
        case_file=case_file, submitted_at=timezone.now() - dt.timedelta(hours=1), by=dpo_lab_a,
        cnil_reference="CNIL-2026-004217",
    )  # fmt: skip
    lab_a.legal_representative_name = "Jeanne Durand"
    lab_a.save()
    case_file.refresh_from_db()
    complement = cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo_lab_a)
    # when its sheet is printed
    path = tmp_path / "fiche.pdf"
    path.write_bytes(filing_sheet_pdf(complement))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    # then it shows what is still to complete, the initial it completes, and the change
    assert "À compléter" in text and "mesures prises ou proposées" in text
    assert "CNIL-2026-004217" in text and "Complète la notification initiale" in text
    assert "Modifications depuis la notification précédente" in text and "Jeanne Durand" in text
