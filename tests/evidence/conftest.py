"""The evidence packs' world: laboratory LABA with a filed case file, a launched campaign whose letters went to
La Poste (one came back), twelve synthetic patients with names found nowhere else, and patient-level audit rows."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from pypdf import PdfReader

from evidence.models import EvidencePack
from evidence.services import evidence_pack_key
from labs import access
from labs.audit import AuditEvent, audit_record
from labs.models import BreachLaboratory
from labs.services import case_file_decide, cnil_filing_record
from labs.storage import private_storage
from notifier import launch, postal
from notifier.models import Notification, PrintBatch
from notifier.public_communications import public_communication_record
from patients.models import Patient
from tests.access_fixtures import make_staff
from tests.factories import PatientFactory, case_file_complete

_RECEIPT: list[bytes] = []


def receipt_pdf() -> bytes:
    """A real one-page PDF, like the CNIL's acknowledgement (made once per run)."""
    if not _RECEIPT:
        from weasyprint import HTML

        _RECEIPT.append(HTML(string="<p>Accusé de réception de la CNIL, dossier CNIL-2021-0042</p>").write_pdf())
    return _RECEIPT[0]


# Twelve patients: over ten, so the liaison's counts show as numbers (and under ten as « < 10 »).
PATIENTS = 12


@pytest.fixture(autouse=True)
def _isolated_receipts_dir(settings, tmp_path):
    settings.CNIL_RECEIPTS_DIR = tmp_path / "cnil-receipts"


@pytest.fixture
def dpo(laboratory):
    return make_staff("dpo-remparts", role=access.DPO, laboratories=[laboratory])


@dataclass
class World:
    case_file: BreachLaboratory
    patients: list[Patient]
    returned: Notification


@pytest.fixture
def world(breach, laboratory, dpo, make_campaign, approver, django_capture_on_commit_callbacks) -> World:
    patients = [
        PatientFactory(
            breach=breach,
            laboratory=laboratory,
            first_name=f"Philibertine{chr(65 + i)}",
            last_name=f"Quincampoix{chr(65 + i)}",
            email=f"philibertine.{i}@courriel.example",
            mobile_phone=f"+3367788{i:04d}",
            address_line=f"{i + 3} impasse des Grives-Sauvages",
            nir_masked=f"1 84 •• •• ••• ••• {i + 10:02d}",
        )  # fmt: skip
        for i in range(PATIENTS)
    ]
    case_file = case_file_complete(breach=breach, laboratory=laboratory)
    case_file.exemption = BreachLaboratory.Exemption.C
    case_file.exemption_justification = "Douze adresses introuvables : effort disproportionné pour celles-ci."
    case_file.save()
    public_communication_record(
        case_file=case_file, published_at=timezone.now(), medium="website", where="Site du laboratoire",
        url="https://labo.example/information-violation", text="Avis aux patients du laboratoire.", by=dpo,
    )  # fmt: skip
    case_file_decide(case_file=case_file, decision="notify", reason="Données de santé : risque probable.", by=dpo)
    receipt = SimpleUploadedFile("accuse.pdf", receipt_pdf(), content_type="application/pdf")
    cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=dpo, cnil_reference="CNIL-2021-0042",
                       receipt=receipt)  # fmt: skip
    campaign = make_campaign("post_and_email")
    with django_capture_on_commit_callbacks(execute=True):
        launch.campaign_launch(campaign=campaign, by=approver)
    for batch in PrintBatch.objects.filter(campaign=campaign):
        with django_capture_on_commit_callbacks(execute=True):
            postal.print_batch_hand_over(batch=batch, by=approver)
    letter = Notification.objects.filter(campaign=campaign, channel="post").order_by("pk").first()
    postal.returned_mail_record(reference=letter.reference, returned_on=timezone.localdate(), reason="NPAI", by=dpo)
    # What a DPO's reads leave in the trail: a patient opened, a search by name.
    audit_record(actor=dpo, action=AuditEvent.Action.VIEW, obj=patients[0], via="admin")
    audit_record(actor=dpo, action=AuditEvent.Action.LIST, laboratory=laboratory, object_type="patients.patient",
                 query=f"q={patients[1].last_name}", via="admin")  # fmt: skip
    letter.refresh_from_db()
    return World(case_file=case_file, patients=patients, returned=letter)


def evidence_pack_path(pack: EvidencePack) -> Path | None:
    """Where the tests' private storage (a file system under tmp_path) keeps the pack's zip."""
    key = evidence_pack_key(pack)
    return None if key is None else Path(private_storage().path(key))


def pack_zip(pack: EvidencePack) -> zipfile.ZipFile:
    path = evidence_pack_path(pack)
    assert path is not None, pack.error
    return zipfile.ZipFile(path)


def file_text(name: str, data: bytes) -> str:
    """What a reader sees in a file of the pack: a PDF's text, a text file's characters."""
    if name.endswith(".pdf"):
        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    return data.decode("utf-8-sig")


def patient_needles(world: World) -> dict[str, str]:
    """Every patient-level string of the world, with what it is."""
    needles: dict[str, str] = {}
    for p in world.patients:
        needles[p.first_name] = "prénom"
        needles[p.last_name] = "nom"
        needles[p.email] = "courriel"
        needles[p.mobile_phone] = "téléphone"
        needles["0" + p.mobile_phone.removeprefix("+33")] = "téléphone"
        needles[p.address_line] = "adresse"
        needles[p.nir_masked] = "NIR masqué"
    for n in Notification.objects.filter(patient__in=world.patients):
        needles[n.reference] = "référence de lettre"
    return needles


@pytest.fixture(scope="session")
def _letter_layouts(tmp_path_factory):
    return tmp_path_factory.mktemp("letter-variants")


@pytest.fixture(autouse=True)
def _shared_letter_layouts(settings, _letter_layouts):
    # A letter variant holds no patient data and is keyed by all it depends on (letters/variants.py): the tests of
    # this folder share its cache, as the workers of a machine do, instead of laying each letter out again.
    settings.LETTERS_VARIANT_CACHE_DIR = _letter_layouts
