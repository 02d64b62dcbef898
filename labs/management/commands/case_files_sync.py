"""Create the Art. 33 case files (one per laboratory with imported patients) of one or every breach."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from labs.models import Breach
from labs.services import case_files_sync


class Command(BaseCommand):
    help = (
        "Crée les dossiers art. 33 (un par laboratoire ayant des patients importés) d'une violation ou de toutes ; "
        "relançable : ne crée que les dossiers manquants, garde les estimations modifiées."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", nargs="?", help="the breach's slug (default: every breach)")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        breaches = Breach.objects.all()
        if options["slug"]:
            breaches = breaches.filter(slug=options["slug"])
            if not breaches.exists():
                raise CommandError(f"no breach with slug {options['slug']!r} (see `create_breach`)")
        created = {breach.slug: case_files_sync(breach=breach) for breach in breaches}
        if options["json"]:
            self.stdout.write(json.dumps({"created": created}))
            return
        for slug, count in created.items():
            total = Breach.objects.get(slug=slug).case_files.count()
            self.stdout.write(f"{slug}: {count} dossier(s) créé(s), {total} au total.")
