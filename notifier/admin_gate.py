"""The admin's confirmation page in front of "approve" and "launch": the gate, what will happen, then confirm.

The campaign admin's two actions return this page instead of acting at once. It shows what the letter
will say (the Art. 34(2) facts, a link to the letter preview), what is missing (`notifier.gate`, one
line each, with a link to where it is completed), and what confirming does: N letters, M emails,
K unreachable, X left out as already told by another campaign of the breach. The confirm button posts
the same action again with `confirm=yes`; the service (`campaign_approve`, `campaign_launch`) checks
everything again, so a page left open while the facts changed cannot approve what it showed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.admin import helpers
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats

from labs import access
from labs.models import BreachLaboratory

from . import campaigns, launch
from .gate import launch_gate
from .models import Campaign


@dataclass(frozen=True)
class GateAction:
    name: str  # the admin action
    title: str  # the page's title
    button: str  # the confirm button
    done: str  # the success message
    from_status: str  # the state the action applies to
    service: Any


ACTIONS = {
    "approve": GateAction("approve", "Approuver la campagne", "Oui, approuver", "Campagne approuvée : « {} ».",
                          Campaign.Status.DRAFT, campaigns.campaign_approve),
    "launch": GateAction("launch", "Lancer la campagne", "Oui, lancer maintenant", "Campagne lancée : « {} ».",
                         Campaign.Status.APPROVED, launch.campaign_launch),
}  # fmt: skip


def gate_action(model_admin: Any, request: HttpRequest, queryset: Any, name: str) -> TemplateResponse | None:
    """The action's answer: the confirmation page, or (confirmed and accepted) None, back to the list."""
    action = ACTIONS[name]
    selected = list(queryset.select_related("breach", "laboratory", "created_by"))
    if len(selected) != 1:
        messages.error(request, "Choisissez une seule campagne : sa page de confirmation dit ce qui va se passer.")
        return None
    campaign = selected[0]
    if request.POST.get("confirm") == "yes":
        try:
            action.service(campaign=campaign, by=request.user)
        except campaigns.CampaignError as error:
            messages.error(request, str(error).splitlines()[0])  # the page below lists the lines again
            campaign.refresh_from_db()
        else:
            messages.success(request, action.done.format(campaign.name))
            return None
    return TemplateResponse(
        request, "notifier/admin/campaign_gate.html", _context(model_admin, request, campaign, action)
    )


def _context(model_admin: Any, request: HttpRequest, campaign: Campaign, action: GateAction) -> dict[str, Any]:
    gate = launch_gate(campaign)
    case_file = (
        BreachLaboratory.objects.filter(breach=campaign.breach_id, laboratory=campaign.laboratory_id)
        .prefetch_related("measures")
        .first()
    )
    blockers = []
    if campaign.status != action.from_status:
        blockers.append(f"La campagne est « {campaign.get_status_display()} » : cette action ne s'y applique pas.")
    if action.name == "approve" and campaign.created_by_id == request.user.pk:
        blockers.append("Quatre yeux : vous avez créé cette campagne, une autre personne doit l'approuver.")
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": f"{action.title} — {campaign.name}",
        "campaign": campaign,
        "action": action,
        "gate": gate,
        "missing": [(item, *_where(request, item.where, campaign, case_file)) for item in gate.missing],
        "blockers": blockers,
        "can_confirm": gate.open and not blockers,
        "facts": _facts(campaign, case_file),
        "preview_url": _preview_url(request, campaign),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }


# Where each missing element is completed, and by whom: the breach is shared by its laboratories, so only
# those the table lets change it (superusers) complete it; the others are told whom to ask.
_WHERE = {"laboratory": "labs.laboratory", "case_file": "labs.breachlaboratory", "breach": "labs.breach"}


def _where(request: HttpRequest, where: str, campaign: Campaign, case_file: BreachLaboratory | None) -> tuple[str, str]:
    """(URL, link text) of the page that completes a missing element, for this user."""
    if where == "laboratory":
        url = reverse("admin:labs_laboratory_change", args=[campaign.laboratory_id])
    elif where == "case_file" and case_file is not None:
        url = reverse("admin:labs_breachlaboratory_change", args=[case_file.pk])
    else:
        where, url = "breach", reverse("admin:labs_breach_change", args=[campaign.breach_id])
    if access.may(request.user, access.ADMIN_TABLE[_WHERE[where]].change):
        return url, "Compléter"
    return url, "Voir (à compléter par l'administrateur de la plateforme)"


def _preview_url(request: HttpRequest, campaign: Campaign) -> str:
    if not access.may(request.user, access.view_permission("letters:preview")):
        return ""
    return reverse("letters:preview", args=[campaign.breach_id, campaign.laboratory_id])


def _facts(campaign: Campaign, case_file: BreachLaboratory | None) -> list[tuple[str, str]]:
    """What the letter will say, element by element, as recorded now ("—" where nothing is)."""
    breach, lab = campaign.breach, campaign.laboratory
    period = "—"
    if breach.period_start and breach.period_end:
        period = f"du {formats.date_format(breach.period_start)} au {formats.date_format(breach.period_end)}"
    contact = " — ".join(part for part in (lab.dpo_name, lab.dpo_email, lab.dpo_phone) if part.strip()) or "—"
    measures = consequences = decision = "—"
    if case_file is not None:
        measures = "\n".join(f"{m.get_kind_display()} : {m.text}" for m in case_file.measures.all()) or "—"
        consequences = "\n".join([*case_file.consequence_labels, case_file.consequences_text]).strip() or "—"
        decision = case_file.get_high_risk_display()
        if case_file.exemption != BreachLaboratory.Exemption.NONE:
            decision += f" ; {case_file.get_exemption_display()}"
    return [
        ("Ce qui s'est passé", breach.description.strip() or "—"),
        ("Quand", period),
        ("Contact du délégué à la protection des données", contact),
        ("Ce que nous avons fait (mesures)", measures),
        ("Conséquences probables", consequences),
        ("Risque élevé (art. 34(1))", decision),
        ("Campagne de suivi", f"oui : {campaign.get_follow_up_target_display()}" if campaign.is_follow_up else "non"),
    ]
