from __future__ import annotations

import random

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from faker import Faker

from labs.models import Laboratory

CITIES = [("35000", "Rennes"), ("56000", "Vannes"), ("22000", "Saint-Brieuc"), ("27000", "Évreux"),
          ("41000", "Blois"), ("45000", "Orléans")]  # fmt: skip


class Command(BaseCommand):
    help = (
        "Give the laboratories created by an import (code only) a synthetic name, address and DPO contact, "
        "for the demo. Leaves laboratories that already have a name alone; refused in production."
    )

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("demo_laboratories writes made-up contact details: refused with NOTIFIER_ENV=production")
        fake = Faker("fr_FR")
        updated = 0
        for laboratory in Laboratory.objects.filter(dpo_email=""):
            rng = random.Random(laboratory.code)  # stable across re-runs
            fake.seed_instance(laboratory.code)
            postcode, city = rng.choice(CITIES)
            dpo_first, dpo_last = fake.first_name(), fake.last_name()
            slug = laboratory.code.lower()
            if laboratory.name in ("", laboratory.code):
                laboratory.name = f"Laboratoire de biologie médicale {fake.last_name()} ({city})"
            laboratory.address_line = laboratory.address_line or f"{rng.randint(1, 90)} {fake.street_name()}"
            laboratory.postcode = laboratory.postcode or postcode
            laboratory.city = laboratory.city or city
            laboratory.dpo_name = f"{dpo_first} {dpo_last}"
            laboratory.dpo_email = f"dpo@{slug}.example.fr"
            laboratory.dpo_phone = f"+3399{rng.randint(1000000, 9999999)}"  # ARCEP fiction range
            laboratory.siren = laboratory.siren or f"{rng.randint(100000000, 999999999)}"
            laboratory.save()
            updated += 1
        self.stdout.write(f"Laboratoires de démonstration complétés / demo laboratories filled in: {updated}")
