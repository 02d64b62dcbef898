"""What an evidence pack holds, section by section, read from the modules that own each concept.

Each section writes its files into the zip; `SECTIONS` is the order of the pack and of its progress steps.
The CNIL liaison's version (`liaison=True`) holds aggregates only: no name, address, phone, email, NIR or
letter reference, every count of people or notifications under ten masked « < 10 » (dashboards.masking, as on
the liaison's dashboard), the campaign trail without details and the audit trail as counts per action.
The DPO's version adds the returned letters by reference and the audit trail's rows. Neither holds a medical
comment: the import never keeps its text (patients.classify).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.db.models import Count

from call_centre.kit import LANGUAGES
from call_centre.pdf import kit_pdf
from dashboards.masking import masked
from labs.audit import AuditEvent
from labs.deadlines import format_paris
from labs.models import BreachLaboratory
from labs.receipts import receipt_bytes
from labs.register import BreachRegisterResource
from labs.selectors import register_row
from labs.sheets import filing_sheet_json, filing_sheet_pdf, register_pdf
from notifier.campaigns import TRAIL_LABELS, campaign_trail_events
from notifier.models import Campaign, Notification
from notifier.selectors import campaign_counts

from .archive import EvidenceZip


@dataclass
class PackSource:
    """One case file, the version asked for, and what the README must say was missing."""

    case_file: BreachLaboratory
    liaison: bool
    missing: list[str] = field(default_factory=list)

    @cached_property
    def campaigns(self) -> list[Campaign]:
        cf = self.case_file
        qs = Campaign.objects.filter(breach_id=cf.breach_id, laboratory_id=cf.laboratory_id)
        return list(qs.select_related("created_by", "approved_by").order_by("created_at", "pk"))

    def count(self, n: int) -> str | int:
        """A count of people or notifications as this version shows it."""
        return masked(n) if self.liaison else n


def _username(user: Any) -> str:
    return user.get_username() if user is not None else "système"


def _yes_no(value: Any) -> str:
    return {True: "oui", False: "non", None: "non renseigné"}.get(value, str(value))


# --- 1. the CNIL filings as sent ---------------------------------------------------------------------------------
def filings(source: PackSource, pack: EvidenceZip) -> None:
    folder = "01-notifications-cnil"
    for filing in source.case_file.filings.order_by("sequence"):
        stem = f"{folder}/notification-{filing.sequence:02d}-{filing.kind}"
        what = f"notification {filing.get_kind_display()} n°{filing.sequence} du {format_paris(filing.submitted_at)}"
        pack.add_bytes(f"{stem}.pdf", filing_sheet_pdf(filing), f"{what} : fiche telle que déposée (PDF)")
        pack.add_text(f"{stem}.json", filing_sheet_json(filing), f"{what} : contenu figé au dépôt (JSON)")
        if filing.has_receipt:
            try:
                content = receipt_bytes(filing.receipt_name)
            except OSError:
                source.missing.append(f"l'accusé de réception de la notification n°{filing.sequence} (fichier absent)")
                continue
            pack.add_bytes(
                f"{folder}/accuse-reception-{filing.sequence:02d}.pdf", content,
                f"accusé de réception de la CNIL, notification n°{filing.sequence} "
                f"(référence {filing.cnil_reference or 'non renseignée'})",
            )  # fmt: skip
    if not source.case_file.filings.exists():
        source.missing.append("aucune notification n'a été déposée auprès de la CNIL pour ce dossier")


# --- 2. the Art. 33(5) register entry ----------------------------------------------------------------------------
def register(source: PackSource, pack: EvidenceZip) -> None:
    cf = source.case_file
    title = f"Registre des violations (art. 33(5) RGPD) — {cf.laboratory.code}"
    pack.add_bytes("02-registre/registre.pdf", register_pdf([register_row(cf)], title=title),
                   "l'entrée du registre des violations (PDF)")  # fmt: skip
    dataset = BreachRegisterResource().export(queryset=BreachLaboratory.objects.filter(pk=cf.pk))
    pack.add_text("02-registre/registre.csv", "\ufeff" + dataset.csv, "l'entrée du registre des violations (CSV)")


# --- 3. the Art. 34 decision and its justification ---------------------------------------------------------------
def decision(source: PackSource, pack: EvidenceZip) -> None:
    cf = source.case_file
    facts = {
        "notification_cnil_art_33": cf.get_cnil_decision_display(),
        "notification_cnil_motif": cf.cnil_decision_reason,
        "notification_cnil_decidee_par": _username(cf.cnil_decided_by) if cf.cnil_decided_by_id else "",
        "notification_cnil_decidee_le": format_paris(cf.cnil_decided_at),
        "risque_eleve_art_34": cf.get_high_risk_display(),
        "risque_eleve_justification": cf.high_risk_justification,
        "exemption_art_34_3": cf.get_exemption_display(),
        "exemption_justification": cf.exemption_justification,
        "instructions_cnil_art_34_4": cf.cnil_instructions,
        "personnes_informees": cf.get_people_informed_display(),
        "personnes_informees_nombre": source.count(cf.people_informed_count or 0)
        if cf.people_informed_count is not None
        else "",
        "personnes_informees_premier_envoi": format_paris(cf.people_informed_first_at),
        "personnes_informees_dernier_envoi": format_paris(cf.people_informed_last_at),
        "personnes_informees_moyens": cf.people_informed_channels,
    }
    lines = [
        f"Décision au titre de l'article 34 du RGPD — {cf.laboratory} — {cf.breach.title}",
        "",
        f"Risque élevé pour les personnes : {facts['risque_eleve_art_34']}",
        f"Justification : {cf.high_risk_justification or 'non renseignée'}",
        f"Exemption (art. 34(3)) : {facts['exemption_art_34_3']}",
        f"Justification de l'exemption : {cf.exemption_justification or 'sans objet'}",
        f"Instructions de la CNIL (art. 34(4)) : {cf.cnil_instructions or 'aucune'}",
        f"Personnes informées : {facts['personnes_informees']} ; nombre : {facts['personnes_informees_nombre'] or '—'} ;"
        f" premier envoi : {facts['personnes_informees_premier_envoi'] or '—'} ;"
        f" dernier envoi : {facts['personnes_informees_dernier_envoi'] or '—'} ; moyens : {cf.people_informed_channels or '—'}",
        "",
        f"Pour mémoire, notification à la CNIL (art. 33) : {facts['notification_cnil_art_33']}"
        f" — décidée par {facts['notification_cnil_decidee_par'] or '—'} le {facts['notification_cnil_decidee_le'] or '—'}"
        f" ; motif : {cf.cnil_decision_reason or 'non renseigné'}",
    ]
    pack.add_text("03-decision-art-34/decision.txt", "\n".join(lines) + "\n", "la décision art. 34 et sa justification")
    pack.add_text("03-decision-art-34/decision.json", json.dumps(facts, ensure_ascii=False, indent=2),
                  "la même décision, en JSON")  # fmt: skip


# --- 4. the campaigns and their trails ---------------------------------------------------------------------------
def campaign_trails(source: PackSource, pack: EvidenceZip) -> None:
    campaigns = source.campaigns
    pack.add_csv(
        "04-campagnes/campagnes.csv",
        ["campagne", "nom", "état", "canaux", "langue", "campagne de suivi", "créée par", "créée le",
         "approuvée par", "approuvée le", "lancée le", "terminée le"],
        ([c.pk, c.name, c.get_status_display(), c.get_channel_policy_display(), c.language, _yes_no(c.is_follow_up),
          _username(c.created_by), format_paris(c.created_at), _username(c.approved_by) if c.approved_by_id else "",
          format_paris(c.approved_at), format_paris(c.launched_at), format_paris(c.completed_at)] for c in campaigns),
        "les campagnes d'information des patients : qui les a créées, approuvées, quand elles ont été lancées",
    )  # fmt: skip

    def rows() -> Iterator[list[Any]]:
        for campaign in campaigns:
            for event in campaign_trail_events(campaign):
                action = event.extra.get("campaign_action", "")
                row = [campaign.pk, format_paris(event.at), TRAIL_LABELS.get(action, action),
                       event.actor_username or "système", event.role]  # fmt: skip
                if not source.liaison:
                    details = {k: v for k, v in event.extra.items() if k != "campaign_action"}
                    row.append(json.dumps(details, ensure_ascii=False) if details else "")
                yield row

    header = ["campagne", "quand", "action", "par", "rôle"] + ([] if source.liaison else ["détails"])
    pack.add_csv("04-campagnes/historique.csv", header, rows(),
                 "l'historique de chaque campagne : création, approbation, lancement, remises à La Poste, fin")  # fmt: skip


# --- 5. delivery figures ------------------------------------------------------------------------------------------
def delivery(source: PackSource, pack: EvidenceZip) -> None:
    channels, statuses = dict(Notification.Channel.choices), dict(Notification.Status.choices)
    rows = []
    for campaign in source.campaigns:
        for channel, by_status in campaign_counts(campaign=campaign).items():
            for status, n in by_status.items():
                rows.append(
                    [campaign.pk, channels.get(channel, channel), statuses.get(status, status), source.count(n)]
                )
    note = " (effectifs sous 10 masqués « < 10 »)" if source.liaison else ""
    pack.add_csv("05-envois/envois-par-canal-et-etat.csv", ["campagne", "canal", "état", "nombre"], rows,
                 f"les envois par campagne, canal et état{note}")  # fmt: skip


# --- 6. returned mail ---------------------------------------------------------------------------------------------
def returned_mail(source: PackSource, pack: EvidenceZip) -> None:
    reasons = dict(Notification.ReturnReason.choices)
    letters = Notification.objects.filter(campaign__in=source.campaigns, channel=Notification.Channel.POST)
    posted = dict(
        letters.filter(status__in=[Notification.Status.SENT, Notification.Status.DELIVERED, Notification.Status.RETURNED])
        .values_list("campaign_id").annotate(n=Count("pk")).order_by()
    )  # fmt: skip
    returned = letters.filter(status=Notification.Status.RETURNED)
    counts = returned.values_list("campaign_id", "return_reason").annotate(n=Count("pk")).order_by("campaign_id")
    rows = [[campaign.pk, "lettres remises à La Poste", source.count(posted.get(campaign.pk, 0))]
            for campaign in source.campaigns]  # fmt: skip
    rows += [[campaign_id, f"revenues : {reasons.get(reason) or 'motif non précisé'}", source.count(n)]
             for campaign_id, reason, n in counts]  # fmt: skip
    note = " (effectifs sous 10 masqués « < 10 »)" if source.liaison else ""
    pack.add_csv("06-retours-courrier/synthese.csv", ["campagne", "lettres", "nombre"], rows,
                 f"les courriers revenus (PND) par motif, et les lettres remises à La Poste{note}")  # fmt: skip
    if source.liaison:
        return
    detail = returned.select_related("campaign").order_by("campaign_id", "final_at", "pk")
    pack.add_csv(
        "06-retours-courrier/retours-par-lettre.csv", ["campagne", "référence", "retour enregistré le", "motif"],
        ([n.campaign_id, n.reference, format_paris(n.final_at), reasons.get(n.return_reason, "")]
         for n in detail.iterator()),
        "chaque courrier revenu, par référence de lettre (version DPO seulement)",
    )  # fmt: skip


# --- 7. public communication --------------------------------------------------------------------------------------
def public_communication(source: PackSource, pack: EvidenceZip) -> None:
    """Each publication (Art. 34(3)(c)) with its text and the unreachable figures frozen when it was recorded."""
    cf = source.case_file
    lines = [
        f"Communication publique — {cf.laboratory} — {cf.breach.title}",
        "",
        f"Exemption retenue (art. 34(3)) : {cf.get_exemption_display()}",
        f"Justification : {cf.exemption_justification or 'sans objet'}",
    ]
    publications = list(cf.public_communications.order_by("published_at", "pk"))
    if not publications:
        lines += ["", "Aucune communication publique enregistrée."]
    for number, p in enumerate(publications, start=1):
        figures = p.figures or {}
        lines += [
            "", f"Publication n°{number}", f"Date : {format_paris(p.published_at)}",
            f"Support : {p.get_medium_display()}" + (f" — {p.where}" if p.where else ""),
            f"Lien : {p.url or '—'}", f"Texte publié :\n{p.text or '—'}",
        ]  # fmt: skip
        if figures:
            lines += [
                f"Chiffres qui la justifient (figés le {figures.get('computed_at', '—')}) :",
                f"  patients à qui une campagne a écrit : {source.count(figures.get('patients', 0))}",
                f"  patients non joints : {source.count(figures.get('unreachable', 0))}",
                f"  décès signalés (comptés à part) : {source.count(figures.get('deceased', 0))}",
            ]
            lines += [f"  dont {r['label']} : {source.count(r['patients'])}" for r in figures.get("reasons", [])]
    if cf.exemption == BreachLaboratory.Exemption.C and not publications:
        source.missing.append("exemption art. 34(3)(c) sans communication publique enregistrée")
    note = " (effectifs sous 10 masqués « < 10 »)" if source.liaison else ""
    pack.add_text("07-communication-publique/communication-publique.txt", "\n".join(lines) + "\n",
                  f"les communications publiques (date, support, lien, texte, chiffres figés) et l'exemption qui les "
                  f"fonde{note}")  # fmt: skip


# --- 8. the call-centre kit ---------------------------------------------------------------------------------------
def call_centre(source: PackSource, pack: EvidenceZip) -> None:
    cf = source.case_file
    for language in LANGUAGES:
        words = "en français" if language == "fr" else "en anglais"
        pack.add_bytes(f"08-centre-appels/kit-{language}.pdf",
                       kit_pdf(breach=cf.breach, laboratory=cf.laboratory, language=language),
                       f"le kit du centre d'appels (FAQ et script d'appel) {words}")  # fmt: skip


# --- 9. the audit trail -------------------------------------------------------------------------------------------
def audit_extract(source: PackSource, pack: EvidenceZip) -> None:
    cf = source.case_file
    events = AuditEvent.objects.filter(laboratory_id=cf.laboratory_id, at__gte=cf.aware_at)
    since = format_paris(cf.aware_at)
    actions = dict(AuditEvent.Action.choices)
    if source.liaison:
        counts = events.values_list("action", "object_type").annotate(n=Count("pk")).order_by("action", "object_type")
        pack.add_csv("09-journal-audit/comptes-par-action.csv", ["action", "type d'objet", "nombre"],
                     ([actions.get(action, action), object_type or "—", n] for action, object_type, n in counts),
                     f"le journal d'audit du laboratoire depuis le {since}, en comptes par action (aucune ligne)")  # fmt: skip
        return
    rows = (
        [format_paris(e.at), e.actor_username or "système", e.role, actions.get(e.action, e.action), e.object_type,
         e.object_id, e.ip_address or "", json.dumps(e.extra, ensure_ascii=False) if e.extra else ""]
        for e in events.order_by("at", "pk").iterator()
    )  # fmt: skip
    pack.add_csv("09-journal-audit/journal.csv",
                 ["quand", "qui", "rôle", "action", "type d'objet", "identifiant", "adresse IP", "détails"], rows,
                 f"le journal d'audit du laboratoire depuis le {since}, ligne à ligne (version DPO seulement)")  # fmt: skip


Section = Callable[[PackSource, EvidenceZip], None]
SECTIONS: list[tuple[str, Section]] = [
    ("notifications à la CNIL", filings),
    ("registre", register),
    ("décision art. 34", decision),
    ("campagnes", campaign_trails),
    ("envois", delivery),
    ("retours de courrier", returned_mail),
    ("communication publique", public_communication),
    ("kit du centre d'appels", call_centre),
    ("journal d'audit", audit_extract),
]
