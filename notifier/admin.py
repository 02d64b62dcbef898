"""Campaign admin: actions are one-liners calling the same services as the `campaign` command.

Who is offered (and allowed) each action, the returned-mail import and each page is the model's line in
`labs.access.ADMIN_TABLE`: the CNIL liaison sees campaigns (counts) but acts on none, and reads no
per-letter row (letters, delivery events, print batches)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from import_export.admin import ImportMixin
from import_export.formats import base_formats

from labs.access import LabScopedAdminMixin

from . import campaigns, launch, postal, selectors
from .models import Campaign, DeliveryEvent, Notification, PrintBatch
from .resources import ReturnedMailResource, call_centre_dataset


def _each(request: HttpRequest, queryset: QuerySet, service: Any, done: str, **kwargs: Any) -> None:
    """Run a service on every selected object, telling the operator what worked and what was refused."""
    ok = 0
    arg = kwargs.pop("arg", "campaign")
    for obj in queryset:
        try:
            service(by=request.user, **{arg: obj}, **kwargs)
            ok += 1
        except campaigns.CampaignError as error:
            messages.error(request, f"{obj}: {error}")
    if ok:
        messages.success(request, f"{ok} {done}")


def _summary(campaign: Campaign) -> dict[str, Any]:
    """The campaign's counts, computed once per displayed object (several columns read them)."""
    if not hasattr(campaign, "_admin_summary"):
        campaign._admin_summary = selectors.campaign_summary(campaign=campaign)
    return campaign._admin_summary


class CampaignForm(forms.ModelForm):
    """Refuses unknown templates here, with the field's own error, rather than at send time."""

    class Meta:
        model = Campaign
        fields = ("breach", "laboratory", "name", "language", "channel_policy", "letter_template", "email_template")

    def clean_letter_template(self) -> str:
        try:
            return campaigns.letter_template_check(self.cleaned_data["letter_template"])
        except campaigns.CampaignError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_email_template(self) -> str:
        try:
            campaigns.email_template_check(self.cleaned_data["email_template"])
        except campaigns.CampaignError as error:
            raise forms.ValidationError(str(error)) from None
        return self.cleaned_data["email_template"]


@admin.register(Campaign)
class CampaignAdmin(LabScopedAdminMixin, admin.ModelAdmin):
    form = CampaignForm
    lab_path = "laboratory"
    list_display = ("name", "status", "progress", "channel_policy", "laboratory", "breach", "created_by", "approved_by")
    list_filter = ("status", "channel_policy", "laboratory")
    list_select_related = ("laboratory", "breach", "created_by", "approved_by")
    search_fields = ("name",)
    fields = ("breach", "laboratory", "name", "language", "channel_policy", "letter_template", "email_template",
              "status", "progress", "sent_unconfirmed", "created_by", "approved_by", "approved_at", "launched_at",
              "completed_at", "trail")  # fmt: skip
    readonly_fields = ("status", "progress", "sent_unconfirmed", "created_by", "approved_by", "approved_at",
                       "launched_at", "completed_at", "trail")  # fmt: skip
    actions = ["approve", "launch", "pause", "resume", "cancel", "export_call_centre_list",
               "export_call_centre_list_xlsx"]  # fmt: skip

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Once approved, what was approved cannot change under the approver's feet: a read-only page, no
        # save buttons. The state moves only through the actions (the same services as the command).
        if obj is not None and obj.status != Campaign.Status.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    @admin.display(description="journal de la campagne")
    def trail(self, obj: Campaign) -> str:
        """Who did what to the campaign, from the audit trail (the one record of each action)."""
        if obj is None or obj.pk is None:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (f"{timezone.localtime(event.at):%d/%m/%Y %H:%M}", campaigns.TRAIL_LABELS.get(action, action),
                 event.actor_username or "système", event.role)
                for event in campaigns.campaign_trail_events(obj)
                for action in [event.extra.get("campaign_action", "")]
            ),
        )  # fmt: skip
        return format_html(
            "<table><thead><tr><th>le</th><th>action</th><th>par</th><th>rôle</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def save_model(self, request: HttpRequest, obj: Campaign, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = campaigns.campaign_create(
            breach=obj.breach, laboratory=obj.laboratory, name=obj.name, by=request.user,
            channel_policy=obj.channel_policy, language=obj.language, letter_template=obj.letter_template,
            email_template=obj.email_template,
        )  # fmt: skip
        obj.pk = created.pk
        obj.refresh_from_db()

    @admin.display(description="avancement")
    def progress(self, campaign: Campaign) -> str:
        if campaign.pk is None:
            return "—"
        summary = _summary(campaign)
        total = summary["notifications"]
        return f"{total - summary['open']}/{total}" if total else "—"

    @admin.display(description="courriels sans accusé du serveur")
    def sent_unconfirmed(self, campaign: Campaign) -> str:
        # The message a worker had in flight when it died: most likely delivered (README, "Campaigns").
        if campaign.pk is None:
            return "—"
        return str(_summary(campaign)["sent_unconfirmed"])

    @admin.action(description="Approuver (quatre yeux) / approve")
    def approve(self, request: HttpRequest, queryset: QuerySet) -> None:
        _each(request, queryset, campaigns.campaign_approve, "campagne(s) approuvée(s)")

    @admin.action(description="Lancer / launch")
    def launch(self, request: HttpRequest, queryset: QuerySet) -> None:
        _each(request, queryset, launch.campaign_launch, "campagne(s) lancée(s)")

    @admin.action(description="Suspendre / pause")
    def pause(self, request: HttpRequest, queryset: QuerySet) -> None:
        _each(request, queryset, campaigns.campaign_pause, "campagne(s) suspendue(s)")

    @admin.action(description="Reprendre / resume")
    def resume(self, request: HttpRequest, queryset: QuerySet) -> None:
        _each(request, queryset, campaigns.campaign_resume, "campagne(s) reprise(s)")

    @admin.action(description="Annuler / cancel")
    def cancel(self, request: HttpRequest, queryset: QuerySet) -> None:
        _each(request, queryset, campaigns.campaign_cancel, "campagne(s) annulée(s)")

    @admin.action(description="Exporter la liste du centre d'appels (CSV) / call-centre list")
    def export_call_centre_list(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        return _call_centre_download(request, queryset, base_formats.CSV())

    @admin.action(description="Exporter la liste du centre d'appels (XLSX) / call-centre list")
    def export_call_centre_list_xlsx(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        return _call_centre_download(request, queryset, base_formats.XLSX())


def _call_centre_download(request: HttpRequest, queryset: QuerySet, file_format: Any) -> HttpResponse:
    """One file for the selected campaigns, built like the dashboard's download (one header, formula-safe)."""
    selected = list(queryset)
    content = file_format.export_data(call_centre_dataset(campaigns=selected))
    for campaign in selected:
        campaigns.campaign_trail(campaign=campaign, action="export_call_centre", by=request.user,
                                 patients=selectors.unreachable_patients(campaign=campaign).count())  # fmt: skip
    charset = "" if file_format.is_binary() else "; charset=utf-8"
    response = HttpResponse(content, content_type=file_format.get_content_type() + charset)
    response["Content-Disposition"] = f'attachment; filename="centre-appels.{file_format.get_extension()}"'
    return response


@admin.register(Notification)
class NotificationAdmin(LabScopedAdminMixin, ImportMixin, admin.ModelAdmin):
    """Rows written by the engine (read-only); "Import" takes a returned-mail CSV (reference, return date,
    reason), each reference looked up in the importer's own laboratories only."""

    resource_classes = [ReturnedMailResource]
    lab_path = "campaign__laboratory"
    patient_data = True
    list_display = ("reference", "campaign", "channel", "status", "is_fallback", "attempts", "sent_at", "last_error")
    list_filter = ("channel", "status", "is_fallback", "campaign")
    list_select_related = ("campaign",)
    raw_id_fields = ("patient", "print_batch")
    search_fields = ("reference",)
    exclude = ("code_digest",)


@admin.register(DeliveryEvent)
class DeliveryEventAdmin(LabScopedAdminMixin, admin.ModelAdmin):
    """Written by the engine; bounce texts quote patients' addresses, each row names a letter: patient data."""

    lab_path = "notification__campaign__laboratory"
    patient_data = True
    list_display = ("notification", "event_type_label", "source", "at", "reason", "applied")
    list_filter = ("source", "event_type", "applied")
    list_select_related = ("notification",)
    raw_id_fields = ("notification",)

    @admin.display(description="type", ordering="event_type")
    def event_type_label(self, event: DeliveryEvent) -> str:
        # In words; a type this version does not know is shown as the source sent it, never as "-".
        return event.get_event_type_display()


@admin.register(PrintBatch)
class PrintBatchAdmin(LabScopedAdminMixin, admin.ModelAdmin):
    """A batch's PDF and manifest name every letter in it: patient data, like the letters themselves."""

    lab_path = "campaign__laboratory"
    patient_data = True
    list_display = ("__str__", "campaign", "letter_count", "built_at", "handed_over_at", "handed_over_by", "pdf_path")
    list_filter = ("campaign",)
    list_select_related = ("campaign", "handed_over_by")
    readonly_fields = [f.name for f in PrintBatch._meta.fields]
    actions = ["hand_over"]

    @admin.action(description="Marquer remis à l'imprimeur / La Poste (handed over)")
    def hand_over(self, request: HttpRequest, queryset: QuerySet) -> None:
        _each(request, queryset, postal.print_batch_hand_over, "lot(s) remis", arg="batch")
