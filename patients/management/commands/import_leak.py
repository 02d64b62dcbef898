from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from labs.models import Breach
from patients.importer import ImportInputError
from patients.mapping import MappingError
from patients.selectors import breach_exposure_summary
from patients.services import ImportResult, leak_import

BAD_INPUT = 2


class Command(BaseCommand):
    help = (
        "Import a leaked CSV file into a breach: one Patient per laboratory and person, one ExposedRecord "
        "per accepted record, rejected records listed in a 0600 file. Re-running with the same file "
        "changes nothing. / Importe un fichier CSV de la fuite dans une violation."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="leaked CSV file (UTF-8 or cp1252; ; , or tab)")
        parser.add_argument("--breach", required=True, help="slug of the breach (see create_breach)")
        parser.add_argument("--mapping", help="JSON file: canonical field → column name or list of names")
        parser.add_argument("--rejects", help="where to write the rejected records (CSV, mode 0600)")
        parser.add_argument(
            "--allow-new-laboratories",
            action="store_true",
            help="créer les laboratoires dont le code est inconnu (sinon leurs enregistrements sont rejetés) "
            "/ create laboratories for unknown codes (otherwise their records are rejected)",
        )
        parser.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")

    def handle(self, *args, **options):
        breach = Breach.objects.filter(slug=options["breach"]).first()
        if breach is None:
            raise CommandError(
                f"violation inconnue {options['breach']!r} : créez-la d'abord avec create_breach "
                f"/ unknown breach: create it first with create_breach",
                returncode=BAD_INPUT,
            )
        progress = None
        if not options["json"] and sys.stderr.isatty():
            progress = self._progress
        try:
            result = leak_import(
                path=options["file"],
                breach=breach,
                mapping_path=options["mapping"],
                rejects_path=options["rejects"],
                progress=progress,
                allow_new_laboratories=options["allow_new_laboratories"],
            )
        except (ImportInputError, MappingError) as exc:
            raise CommandError(str(exc), returncode=BAD_INPUT) from None
        if progress is not None:
            sys.stderr.write("\n")
        summary = self._summary(result, breach)
        if options["json"]:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
        else:
            self._print(summary, result, breach)

    @staticmethod
    def _progress(read: int, done: int, total: int) -> None:
        share = done / total if total else 1.0
        bar = "#" * int(share * 30)
        sys.stderr.write(f"\r[{bar:<30}] {share:4.0%}  {read:,} enregistrements / records".replace(",", " "))
        sys.stderr.flush()

    @staticmethod
    def _summary(result: ImportResult, breach: Breach) -> dict:
        batch = result.batch
        return {
            "rows_read": batch.rows_read,
            "rows_accepted": batch.rows_accepted,
            "rows_rejected": batch.rows_rejected,
            **breach_exposure_summary(breach=breach),
            "rejects_file": result.rejects_file,
            "seconds": round(result.seconds, 3),
            "already_imported": result.already_imported,
            "batch_id": batch.pk,
        }

    def _print(self, summary: dict, result: ImportResult, breach: Breach) -> None:
        out = self.stdout.write
        if result.already_imported:
            out(
                f"Fichier déjà importé pour « {breach.slug} » : rien n'a changé. "
                f"/ File already imported for this breach: nothing changed (import #{result.batch.pk})."
            )
        else:
            source = result.source
            out(
                f"Import terminé / import finished: {result.batch.file_name} "
                f"({source.encoding}, séparateur {source.delimiter!r}) en {summary['seconds']} s"
            )
        out(
            f"  enregistrements lus / records read: {summary['rows_read']}, acceptés / accepted: "
            f"{summary['rows_accepted']}, rejetés / rejected: {summary['rows_rejected']}"
        )
        if summary["rows_rejected"]:
            out(f"  rejets (fichier 0600) / rejects file: {summary['rejects_file']}")
        out(
            f"Violation « {breach.slug} » : {summary['patients']} patients dans / in "
            f"{summary['laboratories']} laboratoires"
        )
        for code, n in summary["patients_by_lab"].items():
            out(f"  {code}: {n}")
        sensitive = ", ".join(f"{name} {n}" for name, n in summary["sensitive_patients"].items() if n)
        out(f"  données de santé sensibles / sensitive: {sensitive or 'aucune / none'}")
        out(
            f"  joignables / reachable: courriel {summary['patients_with_email']}, adresse postale "
            f"{summary['patients_with_postal_address']}, téléphone {summary['patients_with_phone']}"
        )
        out(
            f"  NIR exposé / NIR exposed: {summary['patients_with_nir_exposed']}, mot de passe du portail / "
            f"portal password: {summary['patients_with_password_exposed']}"
        )
