"""Campaign admin: actions are one-liners calling the same services as the `campaign` command.

Who is offered (and allowed) each action, the returned-mail import and each page is the model's line in
`labs.access.ADMIN_TABLE`: the CNIL liaison sees campaigns (counts) but acts on none, and reads no
per-letter row (letters, delivery events, print batches)."""

from __future__ import annotations

from dataclasses import astuple
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from import_export.admin import ImportMixin
from import_export.formats import base_formats

from labs.access import REFUSED, LabScopedAdminMixin
from labs.audit import AuditEvent, audit_record

from . import (
    admin_gate,
    admin_plan,
    admin_public,  # noqa: F401 (registers the public communications' admin)
    campaigns,
    gate,
    plans,
    postal,
    resources,
    selectors,
)
from .models import Campaign, DeliveryEvent, Notification, PrintBatch


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
        fields = ("breach", "laboratory", "name", "language", "channel_policy", "is_follow_up", "follow_up_target",
                  "letter_template", "email_template")  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "follow_up_target" in self.fields:  # only read for a follow-up: a form without it means "all"
            self.fields["follow_up_target"].required = False

    def clean_follow_up_target(self) -> str:
        return self.cleaned_data.get("follow_up_target") or Campaign.FollowUpTarget.ALL

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
    fields = ("breach", "laboratory", "name", "language", "channel_policy", "is_follow_up", "follow_up_target",
              "letter_template", "email_template", "status", "launch_checklist", "progress", "sent_unconfirmed",
              "hand_over_plan", "created_by", "approved_by", "approved_at", "launched_at", "completed_at",
              "trail")  # fmt: skip
    readonly_fields = ("status", "launch_checklist", "progress", "sent_unconfirmed", "hand_over_plan", "created_by",
                       "approved_by", "approved_at", "launched_at", "completed_at", "trail")  # fmt: skip
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
            email_template=obj.email_template, is_follow_up=obj.is_follow_up, follow_up_target=obj.follow_up_target,
        )  # fmt: skip
        obj.pk = created.pk
        obj.refresh_from_db()

    def get_urls(self) -> list[Any]:
        info = self.opts.app_label, self.opts.model_name
        site = self.admin_site
        return [
            path("<path:object_id>/plan/", site.admin_view(lambda request, object_id: admin_plan.plan_view(
                self, request, object_id)), name="{}_{}_plan".format(*info)),
            path("<path:object_id>/capacity/", site.admin_view(lambda request, object_id: admin_plan.capacity_view(
                self, request, object_id)), name="{}_{}_capacity".format(*info)),
            *super().get_urls(),
        ]  # fmt: skip

    @admin.display(description="plan de remise (centre d'appels)")
    def hand_over_plan(self, campaign: Campaign) -> str:
        if campaign.pk is None:
            return "—"
        url = reverse("admin:notifier_campaign_plan", args=[campaign.pk])
        try:
            plan = plans.campaign_plan(campaign=campaign)
        except campaigns.CampaignError as error:
            return format_html('{} <a style="text-decoration:underline" href="{}">Voir le plan</a>', error, url)
        if plan is None:
            return format_html('Aucune capacité déclarée : les lots sont remis dès qu\'ils sont prêts. '
                               '<a style="text-decoration:underline" href="{}">Déclarer la capacité</a>', url)  # fmt: skip
        return format_html(
            'Capacité {} appels par jour ; remises du {} au {} ; pic attendu {} appels par jour. <a style="text-decoration:underline" href="{}">Voir le '
            "plan jour par jour</a>",
            plan.capacity, f"{plan.start:%d/%m/%Y}",
            f"{plan.last_hand_over:%d/%m/%Y}" if plan.last_hand_over else "—", f"{plan.peak_calls:.1f}", url,
        )  # fmt: skip

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

    @admin.display(description="avant approbation et lancement (art. 34(2))")
    def launch_checklist(self, campaign: Campaign) -> str:
        if campaign.pk is None or campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.APPROVED):
            return "—"
        missing = gate.launch_checklist(campaign)
        if not missing:
            return "Complet : la lettre peut dire tout ce que demande l'art. 34(2)."
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((m.message,) for m in missing)))

    # Approve and launch answer with a confirmation page (the gate, the counts, the letter preview link).
    @admin.action(description="Approuver (quatre yeux) / approve")
    def approve(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return admin_gate.gate_action(self, request, queryset, "approve")

    @admin.action(description="Lancer / launch")
    def launch(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return admin_gate.gate_action(self, request, queryset, "launch")

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
        return resources.call_centre_download(request, queryset, base_formats.CSV())

    @admin.action(description="Exporter la liste du centre d'appels (XLSX) / call-centre list")
    def export_call_centre_list_xlsx(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        return resources.call_centre_download(request, queryset, base_formats.XLSX())


class ReturnedMailUploadForm(forms.Form):
    import_file = forms.FileField(
        label="Fichier des retours (CSV ou Excel .xlsx)",
        error_messages={"required": "Choisissez un fichier à importer.", "empty": "Le fichier est vide."},
    )


RETURNED_MAIL_SALT = "notifier.returned-mail-import"
RETURNED_MAIL_MAX_AGE = 3600  # seconds between the preview and its confirmation
PREVIEW_LABELS = {postal.ReturnOutcome.APPLIED: "sera appliqué"}


@admin.register(Notification)
class NotificationAdmin(LabScopedAdminMixin, ImportMixin, admin.ModelAdmin):
    """Rows written by the engine (read-only). "Importer" takes a returned-mail file (reference, return date,
    reason): a French preview of every line, then a report; references are looked up in the importer's own
    laboratories only. The two pages are import-export's URLs, with our own views: a French file (`;`,
    cp1252) is read as it comes, each line says why it is (not) applied, and nothing is written before the
    confirmation."""

    lab_path = "campaign__laboratory"
    patient_data = True
    formats = [base_formats.CSV, base_formats.XLSX]
    list_display = ("reference", "campaign", "channel", "status", "return_reason", "is_fallback", "attempts",
                    "sent_at", "last_error")  # fmt: skip
    list_filter = ("channel", "status", "return_reason", "is_fallback", "campaign")
    list_select_related = ("campaign",)
    raw_id_fields = ("patient", "print_batch")
    search_fields = ("reference",)
    exclude = ("code_digest",)

    def _import_page(self, request: HttpRequest, template: str, **context: Any) -> TemplateResponse:
        context = {**self.admin_site.each_context(request), "opts": self.opts, "title": "Importer les retours de "
                   "courrier (PND)", "expected": resources.EXPECTED, "reasons": Notification.ReturnReason.labels,
                   **context}  # fmt: skip
        return TemplateResponse(request, f"notifier/admin/{template}", context)

    def import_action(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied(REFUSED)
        form = (
            ReturnedMailUploadForm(request.POST, request.FILES)
            if request.method == "POST"
            else ReturnedMailUploadForm()
        )
        if request.method != "POST" or not form.is_valid():
            return self._import_page(request, "returned_mail_import.html", form=form)
        upload = form.cleaned_data["import_file"]
        try:
            lines = resources.returned_mail_lines(upload.read(resources.MAX_BYTES + 1), filename=upload.name)
        except resources.ReturnedMailFileError as error:
            form.add_error("import_file", str(error))
            return self._import_page(request, "returned_mail_import.html", form=form)
        report = postal.returned_mail_import(lines=lines, by=request.user, apply=False)
        payload = signing.dumps(
            {"by": request.user.pk, "file": upload.name[:200], "lines": [astuple(line) for line in lines]},
            salt=RETURNED_MAIL_SALT, compress=True,
        )  # fmt: skip
        rows = [(row, PREVIEW_LABELS.get(row.outcome, row.outcome.label)) for row in report.rows]
        return self._import_page(request, "returned_mail_preview.html", rows=rows, counts=report.summary(),
                                 payload=payload, file_name=upload.name, will_apply=report.counts["appliqués"])  # fmt: skip

    def process_import(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied(REFUSED)
        if request.method != "POST":
            return redirect("admin:notifier_notification_import")
        try:
            data = signing.loads(request.POST.get("payload", ""), salt=RETURNED_MAIL_SALT,
                                 max_age=RETURNED_MAIL_MAX_AGE)  # fmt: skip
            if data["by"] != request.user.pk:
                raise signing.BadSignature("another user's preview")
            lines = [resources.ReturnedMailLine(*line) for line in data["lines"]]
        except (signing.BadSignature, KeyError, TypeError, ValueError):
            error = "Cette confirmation a expiré ou n'est pas valable : importez à nouveau le fichier."
            return self._import_page(request, "returned_mail_import.html", form=ReturnedMailUploadForm(), error=error)
        report = postal.returned_mail_import(lines=lines, by=request.user, apply=True)
        audit_record(actor=request.user, action=AuditEvent.Action.IMPORT, request=request,
                     object_type="notifier.returned_mail", file=data["file"], lines=len(lines), via="admin",
                     **report.counts)  # fmt: skip
        applied = [row for row in report.rows if row.outcome == postal.ReturnOutcome.APPLIED]
        return self._import_page(request, "returned_mail_report.html", report=report, counts=report.summary(),
                                 applied=applied, file_name=data["file"])  # fmt: skip


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


def _batches_in_campaign() -> Subquery:
    same_campaign = PrintBatch.objects.filter(campaign=OuterRef("campaign")).order_by().values("campaign")
    return Subquery(same_campaign.annotate(n=Count("pk")).values("n")[:1])


@admin.register(PrintBatch)
class PrintBatchAdmin(LabScopedAdminMixin, admin.ModelAdmin):
    """A batch's PDF and manifest name every letter in it: patient data, like the letters themselves.

    Whoever may read that laboratory's letters downloads them (each download audited, streamed from the 0600
    files, checked against the checksum taken when they were built); handing a batch over goes through a
    confirmation page saying how many letters become "sent". The server path is nobody's business here."""

    lab_path = "campaign__laboratory"
    patient_data = True
    change_form_template = "notifier/admin/print_batch_change_form.html"
    list_display = ("__str__", "letter_count", "size", "state", "built_at", "handed_over_at", "handed_over_by_name",
                    "downloads")  # fmt: skip
    list_filter = ("campaign",)
    list_select_related = ("campaign__laboratory", "handed_over_by")
    fields = ("campaign", "letter_count", "size", "fingerprint", "state", "built_at", "handed_over_at",
              "handed_over_by_name", "downloads")  # fmt: skip
    readonly_fields = fields
    actions = ["hand_over"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(batches_in_campaign=_batches_in_campaign())

    def get_urls(self) -> list[Any]:
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view(self.download_view)
        return [
            path("<path:object_id>/pdf/", view, {"kind": "pdf"}, name="{}_{}_pdf".format(*info)),
            path("<path:object_id>/manifest/", view, {"kind": "manifest"}, name="{}_{}_manifest".format(*info)),
            *super().get_urls(),
        ]

    def download_view(self, request: HttpRequest, object_id: str, kind: str) -> HttpResponse:
        batch = self.get_object(request, unquote(object_id))
        if batch is None:
            raise Http404("Lot introuvable / not found")
        if not self.has_url_permission(request, kind):
            raise PermissionDenied(REFUSED)
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        try:
            handle = postal.print_batch_file_open(batch=batch, kind=kind)
        except postal.PrintBatchFileError as error:
            messages.error(request, str(error))
            return redirect("admin:notifier_printbatch_change", batch.pk)
        self._audit(request, AuditEvent.Action.EXPORT, batch, via="admin", file=kind, letters=batch.letter_count)
        return FileResponse(
            handle, as_attachment=True, filename=postal.print_batch_file_name(batch=batch, kind=kind),
            content_type="application/pdf" if kind == "pdf" else "text/csv; charset=utf-8",
        )  # fmt: skip

    @admin.display(description="taille du PDF")
    def size(self, batch: PrintBatch) -> str:
        size = postal.print_batch_size(batch=batch)
        return "—" if size is None else filesizeformat(size)

    @admin.display(description="empreinte du PDF (SHA-256)")
    def fingerprint(self, batch: PrintBatch) -> str:
        if not batch.pdf_sha256:
            return "—"
        groups = " ".join(batch.pdf_sha256[i : i + 8] for i in range(0, len(batch.pdf_sha256), 8))
        return format_html(
            "<code>{}</code><br><small>À communiquer à l'imprimeur : la même empreinte, calculée sur le fichier "
            "reçu, prouve qu'il est intact.</small>",
            groups,
        )

    @admin.display(description="état")
    def state(self, batch: PrintBatch) -> str:
        if batch.handed_over_at is not None:
            return f"remis le {timezone.localtime(batch.handed_over_at):%d/%m/%Y à %H:%M}"
        if batch.built_at is not None:
            return "prêt à remettre à l'imprimeur"
        if batch.error:
            return "échec de la fabrication : nouvel essai automatique"
        return "en fabrication"

    @admin.display(description="remis par")
    def handed_over_by_name(self, batch: PrintBatch) -> str:
        return batch.handed_over_by.get_username() if batch.handed_over_by else "—"

    @admin.display(description="fichiers")
    def downloads(self, batch: PrintBatch) -> str:
        if batch.built_at is None:
            return "—"
        return format_html(
            '<a href="{}">PDF des lettres</a> · <a href="{}">manifeste (CSV)</a>',
            reverse("admin:notifier_printbatch_pdf", args=[batch.pk]),
            reverse("admin:notifier_printbatch_manifest", args=[batch.pk]),
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_hand_over"] = (
            obj is not None and "hand_over" in self.get_actions(request) and obj.handed_over_at is None
        )
        context["can_download"] = (
            obj is not None and obj.built_at is not None and self.has_url_permission(request, "pdf")
        )
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    @admin.action(description="Remettre à l'imprimeur / La Poste…")
    def hand_over(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        if request.POST.get("post") == "yes":
            _each(request, queryset, postal.print_batch_hand_over, "lot(s) remis à l'imprimeur / La Poste",
                  arg="batch")  # fmt: skip
            return None
        batches = [(batch, postal.print_batch_letters_to_hand_over(batch=batch)) for batch in queryset]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Remettre des lots à l'imprimeur / La Poste",
            "ready": [(batch, n) for batch, n in batches if batch.built_at and not batch.handed_over_at],
            "done": [batch for batch, _ in batches if batch.handed_over_at],
            "not_built": [batch for batch, _ in batches if not batch.built_at],
            "letters": sum(n for _, n in batches),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "notifier/admin/print_batch_hand_over.html", context)
