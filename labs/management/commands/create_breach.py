from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify

from labs.services import breach_create


class Command(BaseCommand):
    help = "Create a breach (re-running with the same slug changes nothing and says so)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--title", required=True)
        parser.add_argument("--aware-at", required=True, help="ISO 8601 with offset, e.g. 2021-02-23T09:00+01:00")
        parser.add_argument("--processor", default="")
        parser.add_argument("--description", default="")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        slug = options["slug"]
        if slugify(slug) != slug:
            raise CommandError(f"invalid slug {slug!r}: use lower-case letters, digits and hyphens")
        aware_at = parse_datetime(options["aware_at"])
        if aware_at is None or aware_at.tzinfo is None:
            raise CommandError(
                f"invalid --aware-at {options['aware_at']!r}: expected ISO 8601 with an offset, e.g. 2021-02-23T09:00+01:00"
            )
        breach, created = breach_create(
            slug=slug,
            title=options["title"],
            aware_at=aware_at,
            processor=options["processor"],
            description=options["description"],
        )
        if options["json"]:
            self.stdout.write(json.dumps({"slug": breach.slug, "id": breach.pk, "created": created}))
        elif created:
            self.stdout.write(f"Breach {breach.slug!r} created (aware at {breach.aware_at.isoformat()}).")
        else:
            self.stdout.write(f"Breach {breach.slug!r} already exists: nothing changed.")
