"""Write a synthetic leaked file (never real data) and its truth sidecar OUT.truth.json."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from patients.synthetic import DEFAULT_SHAPE, DELIMITERS, ENCODINGS, SHAPES, leak_generate, truth_path


class Command(BaseCommand):
    help = (
        "Génère un fichier de fuite synthétique (Faker fr_FR, jamais de vraies données) et sa vérité "
        "OUT.truth.json. / Writes a synthetic leaked file and its truth sidecar; deterministic for a seed."
    )

    def add_arguments(self, parser):
        parser.add_argument("out", help="CSV file to write (its truth goes to OUT.truth.json)")
        parser.add_argument("--rows", type=int, required=True, help="number of records, broken ones included")
        parser.add_argument("--labs", type=int, default=27, help="number of laboratories (default 27)")
        parser.add_argument("--seed", type=int, default=0, help="same seed, same bytes (default 0)")
        parser.add_argument("--encoding", choices=ENCODINGS, default="utf-8")
        parser.add_argument("--delimiter", choices=sorted(set(DELIMITERS) - {"\t"}), default=";")
        parser.add_argument(
            "--shape",
            choices=sorted(SHAPES),
            default=DEFAULT_SHAPE,
            help="real (default): about one row per person, as in the real file; legacy: 1 to 6 rows, about 2.5",
        )
        parser.add_argument("--json", action="store_true", help="print the truth (and seconds) as one JSON object")

    def handle(self, *args, **options):
        rows, labs = options["rows"], options["labs"]
        if rows < 0:
            raise CommandError("--rows doit être positif ou nul / must be ≥ 0")
        if labs < 1:
            raise CommandError("--labs doit valoir au moins 1 / must be ≥ 1")
        show_progress = not options["json"] and options["verbosity"] >= 1 and sys.stdout.isatty()

        def progress(written: int) -> None:
            self.stdout.write(f"\r{written:,} / {rows:,} lignes", ending="")
            self.stdout.flush()

        try:
            truth = leak_generate(
                path=options["out"],
                rows=rows,
                labs=labs,
                seed=options["seed"],
                encoding=options["encoding"],
                delimiter=options["delimiter"],
                shape=options["shape"],
                progress=progress if show_progress else None,
            )
        except OSError as exc:
            raise CommandError(f"impossible d'écrire {options['out']}: {exc.strerror or exc}") from exc
        if options["json"]:
            self.stdout.write(json.dumps(truth, ensure_ascii=False))
            return
        if show_progress:
            self.stdout.write("")
        self.stdout.write(
            f"{truth['rows']} enregistrements ({truth['rejected']} cassés) pour {truth['laboratories']} "
            f"laboratoires et {truth['patients']} patients écrits dans {options['out']} en {truth['seconds']} s; "
            f"vérité : {truth_path(options['out'])}"
        )
