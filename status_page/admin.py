"""The DPO's queue of right-of-access requests: one form step at a time, each a service call, each audited."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from labs.access import LabScopedAdminMixin

from . import access_requests
from .models import AccessRequest

Status = AccessRequest.Status


class AccessRequestStepForm(forms.ModelForm):
    """The next step of a request; the service says (in French) when the request's state does not allow it."""

    STEPS = {
        Status.IDENTITY_CHECKED: _("L'identité du demandeur est vérifiée"),
        Status.ANSWERED: _("La réponse a été donnée au demandeur"),
        Status.REFUSED: _("La demande est refusée (motif obligatoire)"),
    }
    step = forms.ChoiceField(label=_("étape suivante"), required=False)
    note = forms.CharField(
        label=_("comment l'identité a été vérifiée"),
        required=False,
        max_length=300,
        help_text=_("Par exemple : rappel au numéro du dossier, pièce d'identité présentée. Pas de donnée de santé."),
    )
    reason = forms.CharField(label=_("motif du refus"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    class Meta:
        model = AccessRequest
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = {
            Status.RECEIVED: (Status.IDENTITY_CHECKED, Status.REFUSED),
            Status.IDENTITY_CHECKED: (Status.ANSWERED, Status.REFUSED),
        }.get(self.instance.status, ())
        self.fields["step"].choices = [("", "—")] + [(value, self.STEPS[value]) for value in allowed]

    def clean(self) -> dict:
        data = super().clean()
        step = data.get("step")
        if step == Status.IDENTITY_CHECKED and not (data.get("note") or "").strip():
            self.add_error("note", _("Indiquez comment l'identité a été vérifiée."))
        if step == Status.REFUSED and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Un refus doit être motivé : indiquez le motif."))
        return data


@admin.register(AccessRequest)
class AccessRequestAdmin(LabScopedAdminMixin, admin.ModelAdmin):
    # Person-level rows (hidden from the CNIL liaison, reads audited); handled by the laboratory's DPO, like the
    # Art. 33 decisions: operators and call-centre agents neither see nor answer them.
    patient_data = True
    lab_path = "laboratory"

    form = AccessRequestStepForm
    list_display = ["__str__", "laboratory", "received_at", "due_on", "late", "status", "requester", "minor"]
    list_select_related = ["laboratory"]
    list_filter = ["status", "laboratory", "requester"]
    date_hierarchy = "received_at"
    readonly_fields = [
        "patient", "laboratory", "campaign", "requester", "patient_was_minor", "contact_phone", "contact_email",
        "status", "received_at", "due_on", "dpo_notified_at", "identity_checked_at", "identity_checked_by",
        "identity_check_note", "closed_at", "closed_by", "refusal_reason",
    ]  # fmt: skip
    fieldsets = [
        (
            _("Demande"),
            {
                "fields": ["patient", "laboratory", "campaign", "requester", "patient_was_minor", "received_at",
                           "due_on", "status"],
                "description": _(
                    "Vérifiez l'identité du demandeur avant de communiquer quoi que ce soit. Patient mineur et "
                    "demande d'un parent : le mineur peut s'opposer à ce que ses parents soient informés de certains "
                    "soins (article L.1111-5 du code de la santé publique)."
                ),
            },
        ),
        (_("Pour répondre"), {"fields": ["contact_phone", "contact_email"]}),
        (
            _("Suivi"),
            {"fields": ["dpo_notified_at", "identity_checked_at", "identity_checked_by", "identity_check_note",
                        "closed_at", "closed_by", "refusal_reason"]},
        ),
        (_("Étape suivante"), {"fields": ["step", "note", "reason"]}),
    ]  # fmt: skip

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # requests come from the status page only

    @admin.display(description=_("en retard"), boolean=True)
    def late(self, obj: AccessRequest) -> bool:
        return obj.status in AccessRequest.OPEN_STATUSES and obj.due_on < timezone.localdate()

    @admin.display(description=_("mineur"), boolean=True, ordering="patient_was_minor")
    def minor(self, obj: AccessRequest) -> bool:
        return obj.patient_was_minor

    def save_model(self, request: HttpRequest, obj: AccessRequest, form: forms.Form, change: bool) -> None:
        step = form.cleaned_data.get("step")
        try:
            if step == Status.IDENTITY_CHECKED:
                access_requests.access_request_identity_check(
                    access_request=obj, by=request.user, note=form.cleaned_data["note"], request=request
                )
            elif step == Status.ANSWERED:
                access_requests.access_request_answer(access_request=obj, by=request.user, request=request)
            elif step == Status.REFUSED:
                access_requests.access_request_refuse(
                    access_request=obj, by=request.user, reason=form.cleaned_data["reason"], request=request
                )
        except access_requests.AccessRequestError as error:
            messages.error(request, str(error))
