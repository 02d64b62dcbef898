"""The launch gate: what Art. 34(2) asks a letter to say, checked before a campaign is approved or launched.

Art. 34(2) wants the nature of the breach in clear and plain language and the Art. 33(3)(b)-(d)
elements: the DPO's contact, the likely consequences, the measures taken or proposed; Art. 34(1) wants a
high-risk decision (or an Art. 34(3) ground recorded). `launch_checklist(campaign)` lists, in French,
one line per element still missing; `campaigns.campaign_approve` and `launch.campaign_launch` refuse
while it is not empty, and the admin's confirmation page and `manage.py campaign` show the same list.
Each item says where it is completed (the breach, the laboratory, its Art. 33 case file).
"""

from __future__ import annotations

from dataclasses import dataclass

from labs.models import BreachLaboratory
from letters.english import english_texts_missing

from .models import Campaign
from .targets import LaunchForecast, launch_forecast

HighRisk, Exemption = BreachLaboratory.HighRisk, BreachLaboratory.Exemption


@dataclass(frozen=True)
class Missing:
    """One element the letters cannot go without, said to the operator in French."""

    code: str
    message: str
    where: str  # "breach", "laboratory" or "case_file": the page that completes it


def launch_checklist(campaign: Campaign) -> list[Missing]:
    """Every Art. 34(2) element still missing for this campaign's letters, in the order a letter reads them."""
    breach, laboratory = campaign.breach, campaign.laboratory
    missing: list[Missing] = []
    if not (breach.description or "").strip():
        missing.append(Missing("description", "Ce qui s'est passé : la description en langage clair de la "
                               "violation est vide.", "breach"))  # fmt: skip
    if not (breach.period_start and breach.period_end):
        missing.append(Missing("period", "Quand : la période concernée (début et fin) n'est pas renseignée.", "breach"))
    elif breach.period_start > breach.period_end:
        missing.append(Missing("period", "Quand : la période concernée se termine avant de commencer.", "breach"))
    if not (laboratory.dpo_name.strip() and (laboratory.dpo_email.strip() or laboratory.dpo_phone.strip())):
        missing.append(Missing("dpo_contact", "Contact : le laboratoire n'a pas de délégué à la protection des "
                               "données joignable (nom, et courriel ou téléphone).", "laboratory"))  # fmt: skip
    case_file = BreachLaboratory.objects.filter(breach=breach, laboratory=laboratory).first()
    if case_file is None:
        missing.append(Missing("case_file", "Dossier art. 33 : ce laboratoire n'a pas de dossier pour cette "
                               "violation ; mesures, conséquences et décision sur le risque y sont tenues.",
                               "breach"))  # fmt: skip
        return missing
    if not case_file.measures.exists():
        missing.append(Missing("measures", "Ce que nous avons fait : aucune mesure prise ou proposée n'est "
                               "enregistrée.", "case_file"))  # fmt: skip
    if not (case_file.consequences or case_file.consequences_text.strip()):
        missing.append(Missing("consequences", "Conséquences probables : non renseignées.", "case_file"))
    missing.extend(_high_risk_missing(case_file))
    if campaign.language == "en":
        # An English letter would print these in French (with a visible note): not sent that way.
        missing.extend(
            Missing("english", f"Version anglaise : {text} à traduire (la lettre anglaise l'imprimerait en français).",
                    "breach" if text.endswith("de la violation") else "case_file")
            for text in english_texts_missing(breach, laboratory)
        )  # fmt: skip
    return missing


def _high_risk_missing(case_file: BreachLaboratory) -> list[Missing]:
    """The Art. 34(1) decision: "yes", justified, or an Art. 34(3) ground recorded with its justification."""
    if case_file.exemption != Exemption.NONE:
        items = []
        if not case_file.exemption_justification.strip():
            items.append(Missing("exemption_justification", "Exemption art. 34(3) : la justification manque.",
                                 "case_file"))  # fmt: skip
        if case_file.exemption == Exemption.C and not case_file.public_communications.exists():
            items.append(Missing("public_notice", "Exemption art. 34(3)(c) : la communication publique (support et "
                                 "date) n'est pas enregistrée.", "case_file"))  # fmt: skip
        return items
    if case_file.high_risk == HighRisk.YES:
        if case_file.high_risk_justification.strip():
            return []
        return [Missing("high_risk", "Risque élevé : la décision « oui » n'est pas justifiée.", "case_file")]
    if case_file.high_risk == HighRisk.NO:
        return [Missing("high_risk", "Risque élevé : le dossier dit « non » ; écrire aux patients demande « oui » "
                        "(justifié) ou un motif d'exemption de l'art. 34(3).", "case_file")]  # fmt: skip
    return [Missing("high_risk", "Risque élevé : la décision n'est pas prise (« oui » justifié, ou un motif "
                    "d'exemption de l'art. 34(3)).", "case_file")]  # fmt: skip


@dataclass(frozen=True)
class LaunchGate:
    """What the approver and the launcher read before confirming: what is missing, and what would happen."""

    missing: list[Missing]
    forecast: LaunchForecast

    @property
    def open(self) -> bool:
        return not self.missing


def launch_gate(campaign: Campaign) -> LaunchGate:
    """The checklist and the counts per channel of launching now (nothing written)."""
    return LaunchGate(missing=launch_checklist(campaign), forecast=launch_forecast(campaign))


def missing_text(missing: list[Missing]) -> str:
    """The list as lines of text (the command's error, the admin's message)."""
    return "\n".join(f"— {item.message}" for item in missing)
