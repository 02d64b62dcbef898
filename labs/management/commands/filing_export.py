"""Export a CNIL filing's documents from the shell: the EDPB template JSON, the CNIL sheet, the ARS / CERT Santé
sheet of its case file (the same functions as the admin's buttons, `labs.sheets.REGIME_SHEETS`)."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from labs.audit import AuditEvent, audit_record
from labs.edpb import EdpbExportError
from labs.models import CnilFiling
from labs.sheets import REGIME_SHEETS

# --format → (regime, format of that regime's sheet, printed from the filing or from its case file)
FORMATS = {
    "edpb-json": ("cnil_art33", "edpb-json"),
    "cnil-pdf": ("cnil_art33", "pdf"),
    "cnil-json": ("cnil_art33", "json"),
    "ars-pdf": ("ars_cert_sante", "pdf"),
}


def _fail(message: str) -> CommandError:
    return CommandError(message, returncode=2)


class Command(BaseCommand):
    help = (
        "Exporte une notification CNIL : au modèle EDPB (JSON validé), fiche CNIL (PDF ou JSON), ou fiche ARS / "
        "CERT Santé (PDF) de son dossier. Écrit sur la sortie standard (JSON) ou dans un fichier (--output)."
    )

    def add_arguments(self, parser):
        parser.add_argument("filing_id", help="numéro (id) de la notification CNIL dans notifier")
        parser.add_argument("--format", dest="fmt", default="edpb-json", help=" | ".join(FORMATS))
        parser.add_argument("--output", "-o", default="", help="fichier à écrire (« - » : sortie standard)")

    def handle(self, *args, filing_id: str, fmt: str, output: str, **options):
        if fmt not in FORMATS:
            raise _fail(f"Format inconnu « {fmt} » : choisissez {', '.join(FORMATS)}.")
        if not filing_id.isdigit():
            raise _fail(f"Numéro de notification invalide « {filing_id} » : un nombre est attendu.")
        filing = CnilFiling.objects.select_related("case_file__laboratory").filter(pk=int(filing_id)).first()
        if filing is None:
            raise _fail(f"Aucune notification CNIL n°{filing_id}.")
        regime, sheet_format = FORMATS[fmt]
        sheet = REGIME_SHEETS[regime]
        source = filing if sheet.source == "filing" else filing.case_file
        try:
            content = sheet.formats[sheet_format](source)
        except EdpbExportError as error:
            raise _fail(str(error)) from error
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        audit_record(actor=None, action=AuditEvent.Action.EXPORT, obj=filing, format=fmt, via="command")
        if not output:
            output = (
                "-" if fmt.endswith("json") else f"{regime}-{filing.case_file.laboratory.code}-{filing.sequence}.pdf"
            )
        if output == "-":
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return
        try:
            Path(output).write_bytes(data)
        except OSError as error:
            raise _fail(f"Écriture impossible dans « {output} » : {error.strerror}.") from error
        self.stderr.write(f"{output} écrit ({len(data)} octets).")
