"""`manage.py campaign create|approve|launch|pause|resume|cancel|status|unconfirmed|plan|capacity|handover|returns` (thin,
re-runnable, --json).

Run from a shell on the server (operations), but on behalf of a named person: `--by USER` must hold, on the
campaign's laboratory, the permission `labs.access.COMMAND_TABLE` gives the subcommand (the same as the
admin's action), so the trail's actor and the four-eyes rule mean something. `status`, `unconfirmed`, `plan` and
`demo` act for nobody: operations only ("ops.shell")."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from labs import access
from labs.audit import AuditEvent, audit_record
from labs.exports import formula_safe
from labs.models import Breach, BreachLaboratory, Laboratory
from labs.services import breach_measure_add, case_files_sync
from notifier import campaigns, launch, plans, postal, resources, selectors
from notifier.models import Campaign, Notification, PrintBatch


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
        create.add_argument(
            "--follow-up",
            action="store_true",
            help="campagne de suivi : écrit aussi aux patients déjà informés par une autre campagne",
        )
        create.add_argument(
            "--follow-up-target",
            default="",
            metavar="|".join(Campaign.FollowUpTarget.values),
            help="campagne de suivi pour : "
            + " ; ".join(f"{v} = {label}" for v, label in Campaign.FollowUpTarget.choices),
        )
        create.add_argument("--by", required=True, help="identifiant de l'auteur")
        for name, text in (("approve", "approuver (une autre personne que l'auteur)"), ("launch", "lancer"),
                           ("pause", "suspendre"), ("resume", "reprendre"), ("cancel", "annuler")):  # fmt: skip
            action = sub.add_parser(name, help=text)
            action.add_argument("campaign", type=int)
            action.add_argument("--by", required=True, help="identifiant de la personne")
        status = sub.add_parser("status", help="comptes par canal et état")
        status.add_argument("campaign", type=int)
        unconfirmed = sub.add_parser(
            "unconfirmed",
            help="courriels envoyés sans accusé du serveur (un worker arrêté en plein envoi), avec leur Message-ID "
            "à chercher dans le journal du serveur de messagerie",
        )
        unconfirmed.add_argument("campaign", type=int)
        unconfirmed.add_argument("--csv", action="store_true", help="liste CSV sur la sortie standard")
        plan = sub.add_parser("plan", help="plan de remise : lettres remises et appels attendus, jour par jour")
        plan.add_argument("campaign", type=int)
        capacity = sub.add_parser(
            "capacity", help="déclarer la capacité du centre d'appels (agents × appels par agent et par jour)"
        )
        capacity.add_argument("campaign", type=int)
        capacity.add_argument("--agents", type=int, help="nombre d'agents")
        capacity.add_argument("--calls-per-agent", type=int, help="appels traités par agent et par jour")
        capacity.add_argument("--start", help="première remise à La Poste, JJ/MM/AAAA (vide : le jour du lancement)")
        capacity.add_argument("--by", required=True, help="identifiant de la personne")
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
        if options.get("csv") and options["json"]:
            raise CommandError("Choisissez --csv ou --json, pas les deux / choose --csv or --json")
        try:
            result = getattr(self, f"_{action}")(options)
        except campaigns.CampaignError as error:
            raise CommandError(str(error)) from error
        if options.get("csv"):
            self._csv(result["unconfirmed"])
        elif options["json"]:
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
            email_template=o["email_template"], is_follow_up=o["follow_up"] or bool(o["follow_up_target"]),
            follow_up_target=o["follow_up_target"] or Campaign.FollowUpTarget.ALL,
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

    def _unconfirmed(self, o: dict[str, Any]) -> dict[str, Any]:
        campaign = self._campaign(o["campaign"])
        return {"campaign": campaign.pk, "unconfirmed": selectors.unconfirmed_notifications(campaign=campaign)}

    def _plan(self, o: dict[str, Any]) -> dict[str, Any]:
        campaign = self._campaign(o["campaign"])
        plan = plans.campaign_plan(campaign=campaign)
        return {"campaign": campaign.pk, "name": campaign.name, "plan": plan.as_json() if plan else None}

    def _capacity(self, o: dict[str, Any]) -> dict[str, Any]:
        campaign = self._campaign(o["campaign"])
        start = None
        if o["start"]:
            start = postal.date_read(o["start"])
            if start is None:
                raise CommandError(f"Date illisible « {o['start']} » : attendu JJ/MM/AAAA ou AAAA-MM-JJ.", returncode=2)
        by = self._acting(o["by"], "capacity", campaign.laboratory)
        try:
            campaign = plans.campaign_capacity_set(campaign=campaign, agents=o["agents"],
                                                   calls_per_agent=o["calls_per_agent"], start=start, by=by)  # fmt: skip
        except campaigns.CampaignError as error:
            raise CommandError(str(error), returncode=2) from error
        return self._plan({"campaign": campaign.pk})

    def _csv(self, rows: list[dict[str, Any]]) -> None:
        writer = csv.writer(self.stdout, lineterminator="\n")
        writer.writerow(["référence", "Message-ID", "envoyé le", "réservé par (worker)"])
        for row in rows:
            sent_at = row["sent_at"] and timezone.localtime(row["sent_at"]).isoformat(timespec="seconds")
            writer.writerow([formula_safe(value) for value in (row["reference"], row["message_id"], sent_at,
                                                                row["worker"])])  # fmt: skip

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
            _demo_facts(breach=breach, laboratory=laboratory, by=author)
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
        if "unconfirmed" in result:
            return self._human_unconfirmed(result)
        if action == "handover":
            return result["message"]
        if action in ("plan", "capacity"):
            return _plan_text(result)
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
        # In words (the --json answer keeps the codes).
        state, policy = Campaign.Status(result["status"]).label, Campaign.ChannelPolicy(result["channel_policy"]).label
        lines = [f"campagne {result['id']} « {result['name']} » : {state} ({policy})"]
        if "launched" in result:
            lines.append("lancée : " + ", ".join(f"{k} {v}" for k, v in result["launched"].items()))
        for channel, by_status in result["counts"].items():
            lines.append(f"  {Notification.Channel(channel).label} : "
                         + ", ".join(f"{Notification.Status(s).label} {n}" for s, n in by_status.items()))  # fmt: skip
        lines.append(f"  injoignables (liste centre d'appels) : {result['unreachable_patients']}")
        lines.extend(self._human_claims(result))
        if result.get("sent_unconfirmed"):
            lines.append(
                f"  courriels sans accusé du serveur / sent, unconfirmed : {result['sent_unconfirmed']} "
                "(un worker arrêté en plein envoi : très probablement reçus / a worker died mid-send: most likely delivered)"
                f" ; la liste à vérifier dans le journal du serveur : manage.py campaign unconfirmed {result['id']} --csv"
            )
        if "emails_dir" in result:
            lines.append(f"  courriels : {result['emails_dir']}")
            lines.extend(f"  lettres : {line}" for line in result["letters"])
            lines.extend(f"  remise à l'imprimeur / hand over : {line}" for line in result.get("hand_over", []))
        return "\n".join(lines)

    def _human_claims(self, result: dict[str, Any]) -> list[str]:
        """Rows in `sending`, per worker claim: being sent (lease renewed), or stalled and when they go again."""
        now, lines = timezone.now(), []
        tick = int(settings.CELERY_BEAT_SCHEDULE["campaigns-tick"]["schedule"])
        for claim in result.get("claims", []):
            lease_until = dt.datetime.fromisoformat(claim["lease_until"]) if claim["lease_until"] else now
            worker = claim["worker"] or "worker d'une version précédente"
            if not claim["stalled"]:
                lines.append(
                    f"  en cours d'envoi : {claim['rows']} courriels réservés par {worker}, bail jusqu'à "
                    f"{timezone.localtime(lease_until):%H:%M:%S} (renouvelé tant que ce worker avance)"
                )
                continue
            when = (
                f"remis en file au prochain passage de la tâche de réparation (toutes les {tick} s)"
                if result["status"] == Campaign.Status.RUNNING
                else "remis en file quand la campagne reprendra"
            )
            lines.append(
                f"  bloqués : {claim['rows']} courriels « envoi en cours » réservés par {worker}, qui ne répond plus "
                f"(arrêté ?) : bail expiré depuis {max(0, int((now - lease_until).total_seconds()))} s ; {when}, "
                "chacun envoyé une seule fois"
            )
        return lines

    def _human_unconfirmed(self, result: dict[str, Any]) -> str:
        rows = result["unconfirmed"]
        if not rows:
            return f"campagne {result['campaign']} : aucun courriel envoyé sans accusé du serveur."
        lines = [
            f"campagne {result['campaign']} : {len(rows)} courriels envoyés sans accusé du serveur (un worker arrêté "
            "en plein envoi). Très probablement reçus ; cherchez chaque Message-ID dans le journal du serveur de "
            "messagerie :"
        ]
        for row in rows:
            sent_at = timezone.localtime(row["sent_at"]).strftime("%d/%m/%Y %H:%M:%S") if row["sent_at"] else "?"
            lines.append(f"  {row['reference']}  {row['message_id']}  envoyé le {sent_at}  ({row['worker'] or '?'})")
        return "\n".join(lines)


def _demo_facts(*, breach: Breach, laboratory: Laboratory, by: Any) -> None:
    """Made-up Art. 34(2) facts for the demo's launch gate, where the breach and case file lack them."""
    if not breach.description.strip():
        breach.description = (
            "Un fichier contenant des données de patients a été copié sans autorisation chez l'éditeur du "
            "logiciel du laboratoire, puis diffusé sur internet."
        )
    breach.period_start = breach.period_start or dt.date(2015, 1, 1)
    breach.period_end = breach.period_end or dt.date(2020, 12, 31)
    breach.save()
    case_files_sync(breach=breach)
    case_file = BreachLaboratory.objects.get(breach=breach, laboratory=laboratory)
    if case_file.high_risk == BreachLaboratory.HighRisk.UNDECIDED:
        case_file.high_risk = BreachLaboratory.HighRisk.YES
        case_file.high_risk_justification = "Données de santé et numéro de sécurité sociale : risque élevé."
    case_file.consequences = case_file.consequences or ["phishing", "identity_theft"]
    case_file.save()
    if not case_file.measures.exists():
        breach_measure_add(
            case_file=case_file, text="Accès de l'éditeur au serveur coupé ; mots de passe changés.", by=by
        )


def _plan_text(result: dict[str, Any]) -> str:
    """The plan as a table: day, batches, letters, expected calls, capacity."""
    plan = result["plan"]
    if plan is None:
        return (f"campagne {result['campaign']} « {result['name']} » : aucune capacité déclarée, pas de plan "
                "(chaque lot peut être remis dès qu'il est prêt).")  # fmt: skip
    lines = [
        f"campagne {result['campaign']} « {result['name']} » : {plan['letters']} lettres, capacité {plan['capacity']} "
        f"appels par jour ({plan['agents']} agents × {plan['calls_per_agent']}), délai postal "
        f"{plan['postal_delay_days']} j" + (" — prévision avant lancement" if plan["projected"] else ""),
        f"{'jour':<12}{'lots':<16}{'lettres':>9}{'appels':>9}{'capacité':>10}",
    ]
    for day in plan["days"]:
        batches = ", ".join(str(n) for n in day["batches"]) or "—"
        when = dt.date.fromisoformat(day["date"])
        lines.append(
            f"{when:%d/%m/%Y}  {batches:<16}{day['letters']:>9}{day['expected_calls']:>9.1f}{day['capacity']:>10}"
        )
    return "\n".join(lines)
