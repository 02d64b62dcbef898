"""`manage.py staff add|totp|deactivate|list`: the staff accounts of production, each action audited.

`demo_users` is refused in production and `createsuperuser` makes superusers: this is the way to give a
person one role (DPO, opérateur, liaison CNIL, labs/roles.py) on their laboratories (memberships via
labs/access.py), enrol their second factor (the admin asks for a TOTP code) and close the account when
they leave. Run from a shell on the server (COMMAND_TABLE: "ops.shell"). Re-runnable: `add` on an
existing account brings its role, laboratories and details to what the command says, without touching
its password; a password or a TOTP secret is shown once, when it is made, and never written to the trail.
"""

from __future__ import annotations

import functools
import getpass
import io
import json
import re
import secrets
import sys
from base64 import b32encode
from typing import Any

import segno
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from labs import access
from labs.audit import audit_record
from labs.models import Laboratory
from labs.roles import CALL_CENTRE, CNIL_LIAISON, DPO, OPERATOR, role_names, roles_ensure

ROLE_OPTIONS = {"dpo": DPO, "operateur": OPERATOR, "liaison": CNIL_LIAISON, "centre-appels": CALL_CENTRE}
ROLE_CHOICES = "dpo, operateur, liaison ou centre-appels"

# argparse speaks English; the few messages a person meets here, in French.
_ARGPARSE_FRENCH = (
    (r"the following arguments are required: (.*)", r"arguments obligatoires manquants : \1"),
    (r"argument (\S+): invalid choice: (.*) \(choose from (.*)\)", r"argument \1 : choix invalide \2 (parmi \3)"),
    (r"unrecognized arguments: (.*)", r"arguments inconnus : \1"),
    (r"argument (\S+): expected one argument", r"argument \1 : une valeur est attendue"),
)


def _french_error(parser: CommandParser, message: str) -> None:
    for pattern, french in _ARGPARSE_FRENCH:
        message = re.sub(pattern, french, message)
    message = f"{message} (aide : manage.py staff --help)"
    if not parser.called_from_command_line:
        raise CommandError(f"Erreur : {message}")
    parser.print_usage(sys.stderr)
    parser.exit(2, f"{parser.prog} : erreur : {message}\n")


class FrenchCommandParser(CommandParser):
    def error(self, message: str) -> None:
        _french_error(self, message)


class Command(BaseCommand):
    help = (
        "Comptes du personnel en production : créer ou mettre à jour (rôle, laboratoires), enrôler le second "
        "facteur TOTP, désactiver, lister. Chaque action est écrite au journal d'audit."
    )

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.error = functools.partial(_french_error, parser)  # type: ignore[method-assign]
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=FrenchCommandParser)
        add = sub.add_parser("add", help="créer un compte, ou mettre à jour son rôle et ses laboratoires")
        add.add_argument("username", help="identifiant de connexion")
        add.add_argument("--role", help=ROLE_CHOICES)
        add.add_argument("--labs", default="", help="codes des laboratoires, séparés par des virgules (DPO, opérateur)")
        add.add_argument("--email", default=None, help="adresse électronique")
        add.add_argument("--first-name", default=None, help="prénom")
        add.add_argument("--last-name", default=None, help="nom")
        add.add_argument("--reactivate", action="store_true", help="rouvrir un compte désactivé")
        add.add_argument(
            "--reset-password", action="store_true", help="nouveau mot de passe provisoire, affiché une fois"
        )
        totp = sub.add_parser("totp", help="enrôler le second facteur (URL otpauth et QR code affichés une seule fois)")
        totp.add_argument("username")
        totp.add_argument("--reset", action="store_true", help="remplacer le second facteur existant (appareil perdu)")
        deactivate = sub.add_parser("deactivate", help="désactiver un compte (plus de connexion ; l'historique reste)")
        deactivate.add_argument("username")
        sub.add_parser("list", help="le personnel : rôle, laboratoires, second facteur, état")
        for subparser in sub.choices.values():
            subparser.add_argument("--json", action="store_true", help="résumé lisible par une machine")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        result = getattr(self, f"_{action}")(options)
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False, sort_keys=True, default=str))

    # --- add ------------------------------------------------------------------------------------------
    def _add(self, o: dict[str, Any]) -> dict[str, Any]:
        username, role, laboratories = o["username"], self._role(o["role"]), self._laboratories(o["labs"])
        if role in (DPO, OPERATOR, CALL_CENTRE) and not laboratories:
            raise CommandError(
                "Un DPO, un opérateur ou un agent du centre d'appels a au moins un laboratoire : --labs CODE1,CODE2"
            )
        if role == CNIL_LIAISON and laboratories:
            raise CommandError("La liaison CNIL voit tous les laboratoires : sans --labs")
        if o["email"]:
            try:
                validate_email(o["email"])
            except ValidationError as error:
                raise CommandError(f"Adresse électronique invalide : « {o['email']} »") from error
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is None:
            try:
                user_model.username_validator(username)
            except ValidationError as error:
                raise CommandError(
                    f"Identifiant invalide : « {username} » (lettres, chiffres et @ . + - _ seulement)"
                ) from error
        elif user.is_superuser:
            raise CommandError(f"« {username} » est un superutilisateur : son compte se gère dans l'admin, pas ici")
        elif not user.is_active and not o["reactivate"]:
            raise CommandError(f"« {username} » est désactivé : relancez avec --reactivate pour rouvrir le compte")
        created, password = user is None, None
        with transaction.atomic():
            if user is None:
                user = user_model(username=username)
            user.is_staff, user.is_active, user.is_superuser = True, True, False
            for field in ("email", "first_name", "last_name"):
                if o[field] is not None:
                    setattr(user, field, o[field])
            if created or o["reset_password"]:
                password = secrets.token_urlsafe(15)
                user.set_password(password)
            user.save()
            groups = roles_ensure()
            user.groups.remove(*[group for name, group in groups.items() if name != role])
            user.groups.add(groups[role])
            access.memberships_set(user=user, laboratories=laboratories)
            codes = sorted(lab.code for lab in laboratories)
            audit_record(actor=None, action="staff_add", obj=user, role=role, laboratories=codes, created=created,
                         reactivated=bool(o["reactivate"]), password_reset=password is not None and not created,
                         shell_user=_shell_user())  # fmt: skip
        if not o["json"]:
            verb = "créé" if created else "mis à jour"
            self.stdout.write(f"Compte « {username} » {verb} : {role}, laboratoires : {', '.join(codes) or 'tous'}.")
            if password:
                self.stdout.write(f"  mot de passe provisoire (affiché une seule fois) : {password}")
                self.stdout.write("  à transmettre par un canal sûr ; la personne le change depuis l'admin.")
            if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
                self.stdout.write(
                    f"  étape suivante, le second facteur (l'admin l'exige) : manage.py staff totp {username}"
                )
        return {"username": username, "created": created, "role": role, "laboratories": codes, "password": password}

    def _role(self, option: str | None) -> str:
        if not option:
            raise CommandError(f"Le rôle est obligatoire : --role {ROLE_CHOICES}")
        role = ROLE_OPTIONS.get(option.strip().lower())
        if role is None:
            raise CommandError(f"Rôle inconnu « {option} » : {ROLE_CHOICES}")
        return role

    def _laboratories(self, option: str) -> list[Laboratory]:
        codes = [code.strip() for code in option.split(",") if code.strip()]
        found = {lab.code: lab for lab in Laboratory.objects.filter(code__in=codes)}
        unknown = [code for code in codes if code not in found]
        if unknown:
            raise CommandError(f"Laboratoire inconnu : {', '.join(unknown)}")
        return list(found.values())

    # --- totp -----------------------------------------------------------------------------------------
    def _totp(self, o: dict[str, Any]) -> dict[str, Any]:
        user = self._user(o["username"])
        if not user.is_active:
            raise CommandError(f"« {user.username} » est désactivé : pas de second facteur pour ce compte")
        devices = TOTPDevice.objects.filter(user=user)
        with transaction.atomic():
            if devices.exists():
                if not o["reset"]:
                    raise CommandError(
                        f"« {user.username} » a déjà un second facteur : son secret ne se réaffiche pas. "
                        "Appareil perdu ? relancez avec --reset (l'ancien cesse de fonctionner)"
                    )
                devices.delete()
            device = TOTPDevice.objects.create(user=user, name="personnel", confirmed=True)
            audit_record(actor=None, action="staff_totp", obj=user, reset=bool(o["reset"]), shell_user=_shell_user())
        secret = b32encode(device.bin_key).decode().rstrip("=")
        if not o["json"]:
            self.stdout.write(
                f"Second facteur de « {user.username} » (affiché une seule fois : à ajouter tout de suite à son application) :\n"
                f"  scannez ce QR code avec une application TOTP (FreeOTP, Aegis, Google Authenticator…),\n"
                f"  ou saisissez le secret {secret} ({device.digits} chiffres, {device.step} s).\n"
                f"  {device.config_url}"
            )
            drawing = io.StringIO()  # in one write: the command's output would add a line break to each of segno's
            segno.make(device.config_url, error="m").terminal(out=drawing, compact=True)
            self.stdout.write(drawing.getvalue(), ending="")
        return {"username": user.username, "otpauth_url": device.config_url, "secret": secret}

    # --- deactivate -----------------------------------------------------------------------------------
    def _deactivate(self, o: dict[str, Any]) -> dict[str, Any]:
        user = self._user(o["username"])
        was_active = user.is_active
        with transaction.atomic():
            user.is_active = False
            user.save(update_fields=["is_active"])
            audit_record(actor=None, action="staff_deactivate", obj=user, was_active=was_active,
                         shell_user=_shell_user())  # fmt: skip
        if not o["json"]:
            self.stdout.write(
                f"Compte « {user.username} » désactivé : plus de connexion, ses sessions ne valent plus ; "
                "son nom reste dans le journal d'audit."
            )
        return {"username": user.username, "active": False, "was_active": was_active}

    # --- list -----------------------------------------------------------------------------------------
    def _list(self, o: dict[str, Any]) -> dict[str, Any]:
        users = (
            get_user_model()
            .objects.filter(is_staff=True)
            .order_by("username")
            .prefetch_related("groups", "lab_memberships__laboratory")
        )
        with_totp = set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))
        staff = [
            {
                "username": user.username,
                "email": user.email,
                "role": ", ".join(role_names(user)) or ("superutilisateur" if user.is_superuser else ""),
                "laboratories": sorted(m.laboratory.code for m in user.lab_memberships.all()),
                "active": user.is_active,
                "totp": user.pk in with_totp,
                "superuser": user.is_superuser,
                "last_login": user.last_login,
            }
            for user in users
        ]
        if not o["json"]:
            self.stdout.write(f"Personnel : {len(staff)} compte{'s' if len(staff) > 1 else ''}")
            for row in staff:
                labs = ", ".join(row["laboratories"]) or ("tous" if row["role"] != "" else "aucun")
                self.stdout.write(
                    f"  {row['username']:<20} {row['role'] or 'sans rôle':<16} laboratoires : {labs} ; "
                    f"TOTP : {'oui' if row['totp'] else 'non'} ; {'actif' if row['active'] else 'désactivé'}"
                )
        return {"staff": staff}

    def _user(self, username: str) -> Any:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"Utilisateur inconnu : « {username} »")
        return user


def _shell_user() -> str:
    """Who ran the command on the server (the trail's actor is nobody: a shell has no staff account)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""
