"""`manage.py evidence_pack BREACH_SLUG LAB_CODE [--liaison] [--out PATH] [--json]`: one evidence pack, built here.

The same service as the page's button (evidence.services), run in this process with its steps printed; the zip
stays in the private storage (listed on the staff page) and `--out` writes a copy, 0600. Bad input: one French line,
exit 2."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evidence.models import EvidencePack
from evidence.services import EvidencePackFileError, evidence_pack_build, evidence_pack_open, evidence_pack_request
from labs.models import Breach, BreachLaboratory, Laboratory

BAD_INPUT = 2


class Command(BaseCommand):
    help = "Prépare le dossier de preuves d'un laboratoire pour une violation (zip + manifeste SHA-256)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("breach", help="identifiant court (slug) de la violation")
        parser.add_argument("laboratory", help="code du laboratoire")
        parser.add_argument("--liaison", action="store_true",
                            help="la version de la liaison CNIL (aucune donnée de patient) au lieu de celle du DPO")  # fmt: skip
        parser.add_argument("--out", help="où écrire une copie du zip (mode 0600)")
        parser.add_argument("--json", action="store_true", help="un seul objet JSON sur la sortie standard")

    def handle(self, *args: Any, **options: Any) -> None:
        case_file = self._case_file(options["breach"], options["laboratory"])
        out = self._out(options["out"])
        kind = EvidencePack.Kind.LIAISON if options["liaison"] else EvidencePack.Kind.DPO
        pack = evidence_pack_request(case_file=case_file, kind=kind, by=None, enqueue=False)
        quiet = options["json"]

        def progress(done: int, total: int, label: str) -> None:
            if not quiet:
                self.stderr.write(f"[{done}/{total}] {label}")

        evidence_pack_build(pack_id=pack.pk, progress=progress)
        pack.refresh_from_db()
        if pack.status != EvidencePack.Status.READY:
            raise CommandError(pack.error or "La préparation du dossier a échoué.")
        if out is not None:
            self._copy(pack, out)
        summary = {"pack": pack.pk, "version": pack.kind, "sha256": pack.sha256, "size": pack.size,
                   "files": pack.files, "out": str(out) if out else None}  # fmt: skip
        if quiet:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
            return
        self.stdout.write(f"Dossier de preuves n°{pack.pk} ({pack.get_kind_display()}) prêt : {pack.files} fichiers, "
                          f"{pack.size} octets, SHA-256 {pack.sha256}" + (f" ; copie : {out}" if out else ""))  # fmt: skip

    def _case_file(self, slug: str, code: str) -> BreachLaboratory:
        breach = Breach.objects.filter(slug=slug).first()
        if breach is None:
            raise CommandError(f"Violation inconnue : « {slug} » (voir create_breach).", returncode=BAD_INPUT)
        laboratory = Laboratory.objects.filter(code=code).first()
        if laboratory is None:
            raise CommandError(f"Laboratoire inconnu : « {code} ».", returncode=BAD_INPUT)
        case_file = BreachLaboratory.objects.filter(breach=breach, laboratory=laboratory).first()
        if case_file is None:
            raise CommandError(
                f"Le laboratoire {code} n'a pas de dossier art. 33 pour la violation « {slug} » "
                "(voir case_files_sync).",
                returncode=BAD_INPUT,
            )
        return case_file

    def _out(self, value: str | None) -> Path | None:
        if not value:
            return None
        path = Path(value)
        if path.is_dir():
            raise CommandError(f"--out doit être un fichier, pas un dossier : {path}", returncode=BAD_INPUT)
        if not path.parent.is_dir():
            raise CommandError(f"--out : le dossier {path.parent} n'existe pas.", returncode=BAD_INPUT)
        return path

    def _copy(self, pack: EvidencePack, out: Path) -> None:
        try:
            source = evidence_pack_open(pack=pack)
        except EvidencePackFileError as error:
            raise CommandError(str(error)) from None
        with source:
            fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as target:
                shutil.copyfileobj(source, target)
