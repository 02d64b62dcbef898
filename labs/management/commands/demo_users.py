"""Create the demo's staff users (idempotent) and print how to log in with them, second factor included."""

from __future__ import annotations

import json
import secrets
from base64 import b32encode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from labs import access
from labs.models import Breach, Laboratory
from labs.services import case_files_sync


class Command(BaseCommand):
    help = (
        "Crée les comptes de démonstration (superutilisateur, DPO de deux laboratoires, opérateur, liaison CNIL) "
        "avec un appareil TOTP, et affiche identifiants, mots de passe et secrets TOTP. Relançable : les comptes "
        "et secrets TOTP sont conservés, les mots de passe sont renouvelés (sauf --password). Ouvre aussi les "
        "dossiers art. 33 des violations importées (comme case_files_sync)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--password", help="one password for every demo user (default: a new random one each)")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--allow-production", action="store_true", help="needed when NOTIFIER_ENV=production")

    def handle(self, *args, **options):
        if settings.PRODUCTION and not options["allow_production"]:
            raise CommandError("demo users in production: refused (pass --allow-production if you really mean it)")
        with transaction.atomic():
            labs = self._two_laboratories()
            specs = [
                ("admin", None, [], True),
                (f"dpo-{labs[0].code.lower()}", access.DPO, [labs[0]], False),
                (f"dpo-{labs[1].code.lower()}", access.DPO, [labs[1]], False),
                ("operateur", access.OPERATOR, [labs[0]], False),
                ("liaison-cnil", access.CNIL_LIAISON, [], False),
            ]
            groups = access.roles_ensure()
            users = [self._ensure_user(*spec, groups=groups, password=options["password"]) for spec in specs]
            # So the demo DPOs find their clocks: the Art. 33 case files of imported breaches (re-runnable).
            case_files = sum(case_files_sync(breach=breach) for breach in Breach.objects.all())
        if options["json"]:
            self.stdout.write(json.dumps({"users": users, "case_files_created": case_files}, ensure_ascii=False))
            return
        self.stdout.write("Comptes de démonstration / demo users (admin: /admin/):")
        for user in users:
            labs_text = ", ".join(user["laboratories"]) or "tous / all"
            self.stdout.write(
                f"\n  {user['username']:<16} mot de passe / password: {user['password']}\n"
                f"    rôle / role: {user['role']}   laboratoires / labs: {labs_text}\n"
                f"    TOTP secret: {user['totp_secret']}   code actuel / current code: {user['totp_now']}\n"
                f"    {user['otpauth_url']}"
            )
        self.stdout.write(f"\nDossiers art. 33 créés / case files created: {case_files}.")
        self.stdout.write("\nAjoutez le secret dans une application TOTP, ou saisissez le code actuel (valable 30 s).")

    def _two_laboratories(self) -> list[Laboratory]:
        labs = list(Laboratory.objects.order_by("code")[:2])
        for code in ("DEMO-A", "DEMO-B")[len(labs) :]:
            labs.append(
                Laboratory.objects.get_or_create(
                    code=code, defaults={"name": f"Laboratoire de démonstration {code[-1]}", "dpo_name": "DPO démo"}
                )[0]
            )
        return labs

    def _ensure_user(self, username, role, laboratories, superuser, *, groups, password):
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(username=username, defaults={"email": f"{username}@demo.invalid"})
        user.is_staff = True
        user.is_active = True
        user.is_superuser = superuser
        password = password or secrets.token_urlsafe(12)
        user.set_password(password)
        user.save()
        user.groups.remove(*[g for name, g in groups.items() if name != role])
        if role:
            user.groups.add(groups[role])
        access.memberships_set(user=user, laboratories=laboratories)
        device = TOTPDevice.objects.filter(user=user, name="demo").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="demo", confirmed=True)
        return {
            "username": username,
            "password": password,
            "role": role or "superuser",
            "laboratories": [lab.code for lab in laboratories],
            "totp_secret": b32encode(device.bin_key).decode(),
            "totp_now": f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}",
            "otpauth_url": device.config_url,
        }
