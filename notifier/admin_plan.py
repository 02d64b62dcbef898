"""The campaign's hand-over plan page in the admin: the declared capacity, and day by day the letters handed
over, the calls expected and the capacity (`notifier.plans`); a form declares or clears the capacity.

Two URLs of the campaign admin: `plan` (reading, like the campaign) and `capacity` (POST only, like
conducting the campaign); both in `labs.access.ADMIN_TABLE`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone

from labs.access import REFUSED

from . import plans
from .campaigns import CampaignError
from .models import Campaign


class CapacityForm(forms.Form):
    """What the call centre declares; the service checks the values (the same French messages as the command)."""

    call_centre_agents = forms.IntegerField(
        label="Agents du centre d'appels", required=False,
        error_messages={"invalid": "Indiquez un nombre entier d'agents."},
    )  # fmt: skip
    calls_per_agent_per_day = forms.IntegerField(
        label="Appels par agent et par jour", required=False,
        error_messages={"invalid": "Indiquez un nombre entier d'appels."},
    )  # fmt: skip
    hand_over_start = forms.DateField(
        label="Première remise à La Poste le", required=False, input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Date illisible : attendu JJ/MM/AAAA."},
        help_text="Vide : le jour du lancement (ou aujourd'hui).",
    )  # fmt: skip


def _campaign(model_admin: Any, request: HttpRequest, object_id: str) -> Campaign:
    campaign = model_admin.get_object(request, unquote(object_id))
    if campaign is None:
        raise Http404("Campagne introuvable / not found")
    return campaign


def plan_view(model_admin: Any, request: HttpRequest, object_id: str) -> HttpResponse:
    campaign = _campaign(model_admin, request, object_id)
    if not model_admin.has_url_permission(request, "plan"):
        raise PermissionDenied(REFUSED)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    form = CapacityForm(
        initial={
            "call_centre_agents": campaign.call_centre_agents,
            "calls_per_agent_per_day": campaign.calls_per_agent_per_day,
            "hand_over_start": campaign.hand_over_start,
        }
    )
    return _page(model_admin, request, campaign, form)


def capacity_view(model_admin: Any, request: HttpRequest, object_id: str) -> HttpResponse:
    campaign = _campaign(model_admin, request, object_id)
    if not model_admin.has_url_permission(request, "capacity"):
        raise PermissionDenied(REFUSED)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = CapacityForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            plans.campaign_capacity_set(
                campaign=campaign, agents=data["call_centre_agents"], calls_per_agent=data["calls_per_agent_per_day"],
                start=data["hand_over_start"], by=request.user,
            )  # fmt: skip
        except plans.CapacityError as error:
            form.add_error(error.field, str(error))
        except CampaignError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Capacité du centre d'appels enregistrée : le plan de remise est recalculé.")
            return redirect("admin:notifier_campaign_plan", campaign.pk)
    return _page(model_admin, request, campaign, form, status=200)


def _page(model_admin: Any, request: HttpRequest, campaign: Campaign, form: CapacityForm, status: int = 200) -> Any:
    plan, error = None, ""
    try:
        plan = plans.campaign_plan(campaign=campaign)
    except CampaignError as problem:
        error = str(problem)
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": f"Plan de remise — {campaign.name}",
        "campaign": campaign,
        "plan": plan,
        "plan_error": error,
        "today": timezone.localdate(),
        "form": form,
        "can_declare": model_admin.has_url_permission(request, "capacity"),
    }
    return TemplateResponse(request, "notifier/admin/campaign_plan.html", context, status=status)
