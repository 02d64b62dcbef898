from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from notifier.codes import status_code_for, verification_phrase_for
from notifier.models import Campaign, Notification


class Command(BaseCommand):
    help = "Print one demo patient's status-page code and birth date (synthetic data only: refused in production)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("demo_patient prints a personal code: refused with NOTIFIER_ENV=production")
        notification = (
            Notification.objects.filter(
                campaign__status__in=[Campaign.Status.RUNNING, Campaign.Status.PAUSED, Campaign.Status.COMPLETED],
                patient__birth_date__isnull=False,
                patient__sensitive_mask__gt=0,
            )
            .select_related("campaign", "patient")
            .order_by("pk")
            .first()
        )
        if notification is None:
            raise CommandError("no launched campaign with a patient to show: run `manage.py campaign launch` first")
        campaign, patient = notification.campaign, notification.patient
        code = status_code_for(campaign=campaign, patient=patient)
        url = settings.PUBLIC_BASE_URL.rstrip("/") + "/verifier/"
        sample = {
            "status_page": url,
            "qr_url": f"{url}#{code}",
            "code": code,
            "birth_date": patient.birth_date.strftime("%d/%m/%Y"),
            "verification_phrase": verification_phrase_for(campaign=campaign, patient=patient),
            "laboratory": campaign.laboratory.name,
        }
        if options["json"]:
            self.stdout.write(json.dumps(sample, ensure_ascii=False))
            return
        self.stdout.write("Patient de démonstration (données synthétiques) :")
        self.stdout.write(f"  page de statut     {sample['status_page']}")
        self.stdout.write(f"  lien du QR code    {sample['qr_url']}")
        self.stdout.write(f"  code personnel     {code}")
        self.stdout.write(f"  date de naissance  {sample['birth_date']}")
        self.stdout.write(f"  phrase de vérif.   {sample['verification_phrase']}")
