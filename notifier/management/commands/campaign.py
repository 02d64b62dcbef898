"""`manage.py campaign create|approve|launch|pause|resume|cancel|status|handover|returns` (thin, re-runnable, --json).

Run from a shell on the server (operations), but on behalf of a named person: `--by USER` must hold, on the
campaign's laboratory, the permission `labs.access.COMMAND_TABLE` gives the subcommand (the same as the
admin's action), so the trail's actor and the four-eyes rule mean something. `status` and `demo` act for
nobody: operations only ("ops.shell")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from labs import access
from labs.audit import AuditEvent, audit_record
from labs.models import Breach, Laboratory
from notifier import campaigns, launch, postal, resources, selectors
from notifier.models import Campaign, PrintBatch


class Command(BaseCommand):
    help = "Campagnes de notification : créer, approuver (quatre yeux), lancer, suspendre, suivre / campaigns."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="créer une campagne (brouillon)")
        create.add_argument("--breach", required=True, help="slug de la violation")
        create.add_argument("--laboratory", required=True, help="code du laboratoire")
        create.add_argument("--name", required=True)
        create.add_argument("--policy", default=Campaign.ChannelPolicy.POST_AND_EMAIL,
                            choices=Campaign.ChannelPolicy.values)  # fmt: skip
        create.add_argument("--language", default="fr", choices=["fr", "en"])
        create.add_argument("--letter-template", default="", help="version du modèle de lettre (vide : l'actuelle)")
        create.add_argument("--email-template", default="breach_notice", help="modèle de courriel (templates/emails/)")
        create.add_argument("--by", required=True, help="identifiant de l'auteur")
        for name, text in (("approve", "approuver (une autre personne que l'auteur)"), ("launch", "lancer"),
                           ("pause", "suspendre"), ("resume", "reprendre"), ("cancel", "annuler")):  # fmt: skip
            action = sub.add_parser(name, help=text)
            action.add_argument("campaign", type=int)
            action.add_argument("--by", required=True, help="identifiant de la personne")
        status = sub.add_parser("status", help="comptes par canal et état")
        status.add_argument("campaign", type=int)
        handover = sub.add_parser("handover", help="marquer un lot d'impression remis à l'imprimeur / La Poste")
        handover.add_argument("batch", type=int, help="id du lot d'impression")
        handover.add_argument("--by", required=True)
        returns = sub.add_parser(
            "returns", help="importer un fichier de retours de courrier (PND) : CSV ou XLSX, ; ou , , UTF-8 ou Windows"
        )
        returns.add_argument("file", help="fichier des retours (colonnes référence, date de retour, motif)")
        returns.add_argument("--by", required=True, help="identifiant de la personne (ses laboratoires seulement)")
        returns.add_argument("--dry-run", action="store_true", help="aperçu : ne rien enregistrer")
        demo = sub.add_parser(
            "demo",
            help="démo : créer, approuver (2e personne), lancer, dire où sont courriels et lettres (refusée en production)",
        )
        demo.add_argument("--breach", required=True, help="slug de la violation")
        for p in sub.choices.values():
            p.add_argument("--json", action="store_true", help="résumé lisible par une machine")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            result = getattr(self, f"_{action}")(options)
        except campaigns.CampaignError as error:
            raise CommandError(str(error)) from error
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False, sort_keys=True, default=str))
        else:
            self.stdout.write(self._human(action, result))

    def _user(self, username: str) -> Any:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"Utilisateur inconnu / unknown user: {username!r}")
        return user

    def _acting(self, username: str, subcommand: str, laboratory: Laboratory) -> Any:
        """The `--by` person, if the table lets them do `subcommand` on this laboratory."""
        user = self._user(username)
        allowed = access.may(user, access.command_permission(f"campaign {subcommand}"))
        if not allowed or not access.laboratories_for(user).filter(pk=laboratory.pk).exists():
            raise CommandError(
                f"{username!r} n'a pas le droit « campaign {subcommand} » pour le laboratoire {laboratory.code} "
                f"(rôle ou laboratoire) / not allowed for this user's role or laboratories"
            )
        return user

    def _campaign(self, campaign_id: int) -> Campaign:
        campaign = Campaign.objects.select_related("laboratory", "breach").filter(pk=campaign_id).first()
        if campaign is None:
            raise CommandError(f"Campagne inconnue / unknown campaign: {campaign_id}")
        return campaign

    def _create(self, o: dict[str, Any]) -> dict[str, Any]:
        breach = Breach.objects.filter(slug=o["breach"]).first()
        laboratory = Laboratory.objects.filter(code=o["laboratory"]).first()
        if breach is None or laboratory is None:
            raise CommandError(
                f"Violation ou laboratoire inconnu / unknown breach or laboratory: {o['breach']}, {o['laboratory']}"
            )
        campaign = campaigns.campaign_create(
            breach=breach, laboratory=laboratory, name=o["name"], by=self._acting(o["by"], "create", laboratory),
            channel_policy=o["policy"], language=o["language"], letter_template=o["letter_template"],
            email_template=o["email_template"],
        )  # fmt: skip
        return selectors.campaign_summary(campaign=campaign)

    def _moved(self, o: dict[str, Any], subcommand: str, service: Any) -> dict[str, Any]:
        campaign = self._campaign(o["campaign"])
        campaign = service(campaign=campaign, by=self._acting(o["by"], subcommand, campaign.laboratory))
        return selectors.campaign_summary(campaign=campaign)

    def _approve(self, o: dict[str, Any]) -> dict[str, Any]:
        return self._moved(o, "approve", campaigns.campaign_approve)

    def _launch(self, o: dict[str, Any]) -> dict[str, Any]:
        campaign = self._campaign(o["campaign"])
        counts = launch.campaign_launch(campaign=campaign, by=self._acting(o["by"], "launch", campaign.laboratory))
        return {**selectors.campaign_summary(campaign=Campaign.objects.get(pk=campaign.pk)), "launched": counts}

    def _pause(self, o: dict[str, Any]) -> dict[str, Any]:
        return self._moved(o, "pause", campaigns.campaign_pause)

    def _resume(self, o: dict[str, Any]) -> dict[str, Any]:
        return self._moved(o, "resume", campaigns.campaign_resume)

    def _cancel(self, o: dict[str, Any]) -> dict[str, Any]:
        return self._moved(o, "cancel", campaigns.campaign_cancel)

    def _status(self, o: dict[str, Any]) -> dict[str, Any]:
        return selectors.campaign_summary(campaign=self._campaign(o["campaign"]))

    def _handover(self, o: dict[str, Any]) -> dict[str, Any]:
        batch = PrintBatch.objects.select_related("campaign__laboratory").filter(pk=o["batch"]).first()
        if batch is None:
            raise CommandError(f"Lot d'impression inconnu / unknown print batch: {o['batch']}")
        by = self._acting(o["by"], "handover", batch.campaign.laboratory)
        sent = postal.print_batch_hand_over(batch=batch, by=by)
        batch.refresh_from_db()
        if sent:
            message = f"{batch} remis à l'imprimeur / La Poste : {sent} lettre(s) passent à l'état « envoyée »."
        else:
            message = (
                f"{batch} déjà remis le {timezone.localtime(batch.handed_over_at):%d/%m/%Y à %H:%M} : rien à faire."
            )
        return {"batch": batch.pk, "campaign": batch.campaign_id, "notifications_sent": sent, "message": message}

    def _returns(self, o: dict[str, Any]) -> dict[str, Any]:
        user = self._user(o["by"])
        if not access.may(user, access.command_permission("campaign returns")):
            raise CommandError(f"{o['by']!r} n'a pas le droit « campaign returns » (rôle) / not allowed for this role")
        path = Path(o["file"])
        if not path.is_file():
            raise CommandError(f"Fichier introuvable : {path}")
        try:
            lines = resources.returned_mail_lines(path.read_bytes(), filename=path.name)
        except resources.ReturnedMailFileError as error:
            raise CommandError(f"{path.name} : {error}") from error
        report = postal.returned_mail_import(lines=lines, by=user, apply=not o["dry_run"])
        if not o["dry_run"]:
            audit_record(actor=user, action=AuditEvent.Action.IMPORT, object_type="notifier.returned_mail",
                         file=path.name, lines=len(lines), via="command", **report.counts)  # fmt: skip
        return {
            "file": path.name,
            "dry_run": o["dry_run"],
            "counts": report.counts,
            "summary": report.summary(),
            "not_applied": [
                {"line": row.line, "reference": row.reference, "outcome": row.outcome.label, "reason": row.detail}
                for row in report.not_applied
            ],
        }

    def _demo(self, o: dict[str, Any]) -> dict[str, Any]:
        """Re-runnable: the first laboratory's demo campaign is created, approved and launched once."""
        if settings.PRODUCTION:
            # Two made-up staff accounts approving their own campaign would defeat the four-eyes rule.
            raise CommandError(
                "La démo crée deux comptes fictifs qui approuvent leur propre campagne : refusée avec "
                "NOTIFIER_ENV=production / demo refused in production"
            )
        breach = Breach.objects.filter(slug=o["breach"]).first()
        laboratory = Laboratory.objects.filter(patients__breach=breach).order_by("code").first()
        if breach is None or laboratory is None:
            raise CommandError(f"Violation inconnue ou sans patients / unknown breach or no patients: {o['breach']}")
        users = get_user_model().objects
        author = users.get_or_create(username="demo-campagne-auteur", defaults={"is_staff": True})[0]
        approver = users.get_or_create(username="demo-campagne-approbateur", defaults={"is_staff": True})[0]
        operator = access.roles_ensure()[access.OPERATOR]
        for user in (author, approver):  # operators of the laboratory, so the printed hand-over is allowed
            user.groups.add(operator)
            access.memberships_set(user=user, laboratories=[laboratory])
        campaign = Campaign.objects.filter(
            breach=breach, laboratory=laboratory, name="Campagne de démonstration"
        ).first()
        if campaign is None:
            campaign = campaigns.campaign_create(breach=breach, laboratory=laboratory, by=author,
                                                name="Campagne de démonstration")  # fmt: skip
            campaign = campaigns.campaign_approve(campaign=campaign, by=approver)
            launch.campaign_launch(campaign=campaign, by=approver)
        campaign.refresh_from_db()
        batches = list(PrintBatch.objects.filter(campaign=campaign).exclude(pdf_path=""))
        return {
            **selectors.campaign_summary(campaign=campaign),
            "emails_dir": str(settings.EMAIL_FILE_PATH)
            if "filebased" in settings.EMAIL_BACKEND
            else settings.EMAIL_BACKEND,
            "letters": [f"{b.pdf_path} ({b.letter_count} lettres)" for b in batches],
            # Letters count as sent once their batch is handed to the printer or La Poste.
            "hand_over": [
                f"manage.py campaign handover {b.pk} --by {approver.username}"
                for b in batches
                if b.handed_over_at is None
            ],
        }

    def _human(self, action: str, result: dict[str, Any]) -> str:
        if action == "handover":
            return result["message"]
        if action == "returns":
            head = "aperçu (rien n'est enregistré)" if result["dry_run"] else "import terminé"
            lines = [f"{result['file']} : {head} — " + ", ".join(result["summary"])]
            lines.extend(
                f"  ligne {row['line']} ({row['reference'] or 'sans référence'}) : {row['outcome']} — {row['reason']}"
                for row in result["not_applied"]
            )
            return "\n".join(lines)
        if "counts" not in result:
            return " ".join(f"{k}={v}" for k, v in result.items())
        lines = [f"campagne {result['id']} « {result['name']} » : {result['status']} ({result['channel_policy']})"]
        if "launched" in result:
            lines.append("lancée : " + ", ".join(f"{k} {v}" for k, v in result["launched"].items()))
        for channel, by_status in result["counts"].items():
            lines.append(f"  {channel:6} " + ", ".join(f"{s} {n}" for s, n in by_status.items()))
        lines.append(f"  injoignables (liste centre d'appels) : {result['unreachable_patients']}")
        if result.get("sent_unconfirmed"):
            lines.append(
                f"  courriels sans accusé du serveur / sent, unconfirmed : {result['sent_unconfirmed']} "
                "(un worker arrêté en plein envoi : très probablement reçus / a worker died mid-send: most likely delivered)"
            )
        if "emails_dir" in result:
            lines.append(f"  courriels : {result['emails_dir']}")
            lines.extend(f"  lettres : {line}" for line in result["letters"])
            lines.extend(f"  remise à l'imprimeur / hand over : {line}" for line in result.get("hand_over", []))
        return "\n".join(lines)
