"""The admin a DPO lives in: case files with their clock, checklist, measures and filings; the register."""

from __future__ import annotations

import datetime as dt

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from import_export.admin import ExportMixin, ImportExportModelAdmin
from import_export.formats import base_formats
from simple_history.admin import SimpleHistoryAdmin

from .access import REFUSED, LabScopedAdminMixin, LabScopedInlineMixin
from .audit import AuditEvent, audit_record
from .deadlines import format_paris, format_time_left, time_left
from .filing_states import FilingState, filing_state_q, initial_filing_late
from .forms import CaseFileForm, FilingForm
from .models import (
    Breach,
    BreachLaboratory,
    BreachMeasure,
    CnilFiling,
    DeadlineReminder,
    Laboratory,
    LaboratoryMembership,
)
from .register import BreachRegisterResource
from .resources import LaboratoryResource
from .selectors import case_file_checklist, register_rows
from .services import case_file_prefill_estimates, case_files_sync, cnil_filing_record
from .sheets import filing_sheet_json, filing_sheet_pdf, register_pdf


@admin.register(Laboratory)
class LaboratoryAdmin(LabScopedAdminMixin, ImportExportModelAdmin):
    """Laboratories and their DPO contact (printed on letters, emails and the status page): changed by the
    laboratory's own DPO or a superuser, created and imported by superusers only (`labs.access.ADMIN_TABLE`)."""

    lab_path = "pk"
    resource_classes = [LaboratoryResource]
    list_display = ["code", "name", "city", "dpo_name", "dpo_email", "siren"]
    search_fields = ["code", "name", "city", "siren"]


@admin.register(Breach)
class BreachAdmin(LabScopedAdminMixin, SimpleHistoryAdmin):
    """The processor's breach, shared by its laboratories: read by their staff, changed by superusers."""

    lab_path = "laboratories"
    list_display = ["title", "slug", "processor", "aware_at_paris", "case_file_count"]
    prepopulated_fields = {"slug": ["title"]}
    search_fields = ["title", "slug"]
    actions = ["sync_case_files"]

    @admin.display(description=_("connaissance (Paris)"), ordering="aware_at")
    def aware_at_paris(self, obj):
        return format_paris(obj.aware_at)

    @admin.display(description=_("dossiers"))
    def case_file_count(self, obj):
        return obj.case_files.count()

    @admin.action(description=_("Créer les dossiers par laboratoire (depuis l'import)"), permissions=["change"])
    def sync_case_files(self, request, queryset):
        created = sum(case_files_sync(breach=breach) for breach in queryset)
        self.message_user(request, f"{created} dossier(s) créé(s).")


class BreachMeasureInline(LabScopedInlineMixin, admin.TabularInline):
    model = BreachMeasure
    fields = ["recorded_at", "kind", "text", "text_en", "recorded_by"]
    readonly_fields = ["recorded_by"]
    extra = 1


class CnilFilingInline(LabScopedInlineMixin, admin.TabularInline):
    """Filed notifications, read-only: a correction is a new complementary filing ("Notifier la CNIL")."""

    model = CnilFiling
    fields = ["sequence", "kind", "submitted_at", "cnil_reference", "late", "filed_by", "sheet"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description=_("fiche"))
    def sheet(self, obj):
        return _sheet_links(obj)


def _sheet_links(filing):
    pdf = reverse("admin:labs_cnilfiling_sheet_pdf", args=[filing.pk])
    json_url = reverse("admin:labs_cnilfiling_sheet_json", args=[filing.pk])
    return format_html('<a href="{}">PDF</a> · <a href="{}">JSON</a>', pdf, json_url)


class DeadlineFilter(admin.SimpleListFilter):
    title = _("échéance")
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return [
            ("overdue", _("dépassée, non notifiée")),
            ("due24", _("dans les 24 h")),
            ("filed", _("notifiée")),
            ("not_filed", _("non notifiée")),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        match self.value():
            case "overdue":
                return queryset.filter(filing_state_q(FilingState.MISSING, now=now))
            case "due24":
                pending = queryset.filter(filing_state_q(FilingState.PENDING, now=now))
                return pending.filter(due_at__lt=now + dt.timedelta(hours=24))
            case "filed":
                return queryset.filter(~Q(first_filed_at=None))
            case "not_filed":
                return queryset.filter(first_filed_at=None)
        return queryset


@admin.register(BreachLaboratory)
class BreachLaboratoryAdmin(LabScopedAdminMixin, ExportMixin, SimpleHistoryAdmin):
    """A laboratory's case file: the clock, the Art. 33(3) facts, the checklist, measures and filings.

    Exporting the list (CSV/XLSX) gives the Art. 33(5) register; "Registre PDF" prints it."""

    form = CaseFileForm
    resource_classes = [BreachRegisterResource]
    formats = [base_formats.CSV, base_formats.XLSX]
    change_list_template = "labs/admin/case_file_change_list.html"
    list_display = ["laboratory", "breach", "deadline", "aware_at_paris", "cnil_decision", "high_risk", "filings_count"]
    list_select_related = ["laboratory", "breach"]
    list_filter = [DeadlineFilter, "cnil_decision", "high_risk", ("breach", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["laboratory__name", "laboratory__code", "breach__title"]
    ordering = ["due_at"]
    inlines = [BreachMeasureInline, CnilFilingInline]
    actions = ["prefill_estimates"]
    readonly_fields = [
        "deadline",
        "checklist",
        "file_link",
        "first_filed_at",
        "filed_late",
        "cnil_decided_by",
        "cnil_decided_at",
        "estimates_prefilled_at",
    ]
    fieldsets = [
        (None, {"fields": ["breach", "laboratory", "deadline", "checklist", "file_link"]}),
        (_("Connaissance (art. 33(1)-(2))"), {"fields": ["processor_notice_received_at", "aware_at"]}),
        (
            _("La violation (art. 33(3)(a))"),
            {
                "fields": [
                    ("nature_confidentiality", "nature_integrity", "nature_availability"),
                    "discovery",
                    "description",
                    "data_categories",
                    "health_data",
                    ("people_estimate", "records_estimate"),
                    "estimates_prefilled_at",
                ],
                "description": "Les nombres sont des estimations reprises de l'import, modifiables.",
            },
        ),
        (_("Conséquences probables (art. 33(3)(c))"), {"fields": ["consequences", "consequences_text"]}),
        (
            _("Décision de notification (registre art. 33(5))"),
            {"fields": ["cnil_decision", "cnil_decision_reason", "cnil_decided_by", "cnil_decided_at"]},
        ),
        (
            _("Information des personnes (art. 34)"),
            {
                "fields": [
                    "high_risk",
                    "high_risk_justification",
                    "exemption",
                    "exemption_justification",
                    ("public_notice_where", "public_notice_at", "public_notice_url"),
                    "cnil_instructions",
                ]
            },
        ),
        (_("Notification"), {"fields": ["first_filed_at", "filed_late"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "breach", "laboratory"] if obj is not None else fields

    def get_fieldsets(self, request, obj=None):
        # The "file with the CNIL" button only for those the table lets file (the page itself refuses others).
        fieldsets = super().get_fieldsets(request, obj)
        if self.has_url_permission(request, "file"):
            return fieldsets
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "file_link"]})
            for name, options in fieldsets
        ]

    @admin.display(description=_("échéance CNIL"), ordering="due_at")
    def deadline(self, obj):
        if obj is None or obj.due_at is None:
            return "—"
        due = format_paris(obj.due_at)
        if obj.first_filed_at is not None:
            late = _(" — hors délai") if obj.filed_late else ""
            return format_html(
                '<span style="color:#555">{} {}{}</span><br><small>{} {}</small>',
                _("notifiée le"),
                format_paris(obj.first_filed_at),
                late,
                _("échéance"),
                due,
            )
        if obj.cnil_decision == BreachLaboratory.Decision.NOT_NOTIFY:
            return format_html(
                '<span style="color:#555">{}</span><br><small>{}</small>', _("non notifiée (décision)"), due
            )
        left = time_left(obj.due_at)
        colour = "#b00020" if left.total_seconds() < 0 else "#c25e00" if left < dt.timedelta(hours=24) else "#1b7a32"
        return format_html(
            '<strong style="color:{}">{}</strong><br><small>{}</small>', colour, format_time_left(left), due
        )

    @admin.display(description=_("connaissance (Paris)"), ordering="aware_at")
    def aware_at_paris(self, obj):
        return format_paris(obj.aware_at)

    @admin.display(description=_("notifications"))
    def filings_count(self, obj):
        return obj.filings.count()

    @admin.display(description=_("éléments de l'art. 33(3)"))
    def checklist(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        items = case_file_checklist(obj)
        missing = sum(1 for item in items if not item["ok"])
        head = (
            _("Complet : la notification peut être déposée.")
            if not missing
            else _("%(count)d élément(s) manquant(s).") % {"count": missing}
        )
        return format_html(
            "<p><strong>{}</strong></p><ul style='margin-left:0'>{}</ul>",
            head,
            format_html_join(
                "",
                "<li style='list-style:none;color:{}'>{} {}</li>",
                (("#1b7a32", "✔", i["label"]) if i["ok"] else ("#b00020", "✘", i["label"]) for i in items),
            ),
        )

    @admin.display(description=_("CNIL"))
    def file_link(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        url = reverse("admin:labs_breachlaboratory_file", args=[obj.pk])
        label = (
            _("Déposer une notification complémentaire")
            if obj.first_filed_at
            else _("Enregistrer la notification initiale")
        )
        return format_html('<a class="button" href="{}">{}</a>', url, label)

    def save_model(self, request, obj, form, change):
        if {"cnil_decision", "cnil_decision_reason"} & set(form.changed_data):
            obj.cnil_decided_by, obj.cnil_decided_at = request.user, timezone.now()
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for instance in instances:
            if isinstance(instance, BreachMeasure) and instance.recorded_by_id is None:
                instance.recorded_by = request.user
            instance.save()
        for deleted in formset.deleted_objects:
            deleted.delete()
        formset.save_m2m()

    @admin.action(description=_("Reprendre les estimations de l'import"), permissions=["change"])
    def prefill_estimates(self, request, queryset):
        for case_file in queryset:
            case_file_prefill_estimates(case_file=case_file, overwrite=True)
        self.message_user(request, f"{queryset.count()} dossier(s) mis à jour depuis l'import.")

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_register_pdf": self.has_url_permission(request, "register_pdf")}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<path:object_id>/file/", self.admin_site.admin_view(self.file_view), name="{}_{}_file".format(*info)),
            path(
                "register.pdf",
                self.admin_site.admin_view(self.register_pdf_view),
                name="{}_{}_register_pdf".format(*info),
            ),
            *super().get_urls(),
        ]

    def file_view(self, request, object_id):
        case_file = self.get_object(request, unquote(object_id))
        if case_file is None:
            raise Http404("Dossier introuvable / not found")
        if not self.has_url_permission(request, "file"):
            raise PermissionDenied(REFUSED)
        form = FilingForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                filing = cnil_filing_record(case_file=case_file, by=request.user, request=request, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(request, f"Notification {filing} enregistrée.", messages.SUCCESS)
                return redirect("admin:labs_breachlaboratory_change", case_file.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": case_file,
            "title": f"Notifier la CNIL — {case_file}",
            "form": form,
            "checklist": case_file_checklist(case_file),
            "due": format_paris(case_file.due_at),
            "overdue": initial_filing_late(case_file, at=timezone.now()),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "labs/admin/file_form.html", context)

    def register_pdf_view(self, request):
        if not self.has_url_permission(request, "register_pdf"):
            raise PermissionDenied(REFUSED)
        rows = register_rows(user=request.user)
        audit_record(
            actor=request.user,
            action=AuditEvent.Action.EXPORT,
            request=request,
            object_type="labs.register",
            rows=len(rows),
        )
        response = HttpResponse(register_pdf(rows), content_type="application/pdf")
        response["Content-Disposition"] = 'attachment; filename="registre-violations.pdf"'
        return response


@admin.register(CnilFiling)
class CnilFilingAdmin(LabScopedAdminMixin, SimpleHistoryAdmin):
    """Filings are read-only for everyone (append-only); recorded from the case file, printed from here."""

    lab_path = "case_file__laboratory"
    list_display = ["case_file", "sequence", "kind", "submitted_at", "cnil_reference", "late", "sheet"]
    list_select_related = ["case_file__laboratory", "case_file__breach"]
    list_filter = ["kind", "late"]
    readonly_fields = [
        "case_file",
        "sequence",
        "kind",
        "submitted_at",
        "cnil_reference",
        "late",
        "delay_reasons",
        "filed_by",
        "created_at",
        "sheet",
    ]
    exclude = ["snapshot"]

    @admin.display(description=_("fiche"))
    def sheet(self, obj):
        return _sheet_links(obj)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/sheet.pdf",
                self.admin_site.admin_view(self.sheet_view),
                {"fmt": "pdf"},
                name="{}_{}_sheet_pdf".format(*info),
            ),
            path(
                "<path:object_id>/sheet.json",
                self.admin_site.admin_view(self.sheet_view),
                {"fmt": "json"},
                name="{}_{}_sheet_json".format(*info),
            ),
            *super().get_urls(),
        ]

    def sheet_view(self, request, object_id, fmt):
        filing = self.get_object(request, unquote(object_id))
        if filing is None or not self.has_view_permission(request, filing):
            raise Http404("Notification introuvable / not found")
        if not self.has_url_permission(request, f"sheet_{fmt}"):
            raise PermissionDenied(REFUSED)
        audit_record(actor=request.user, action=AuditEvent.Action.EXPORT, obj=filing, request=request, format=fmt)
        name = f"notification-cnil-{filing.case_file.laboratory.code}-{filing.sequence}"
        if fmt == "json":
            response = HttpResponse(filing_sheet_json(filing), content_type="application/json; charset=utf-8")
        else:
            response = HttpResponse(filing_sheet_pdf(filing), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
        return response


@admin.register(DeadlineReminder)
class DeadlineReminderAdmin(LabScopedAdminMixin, admin.ModelAdmin):
    lab_path = "case_file__laboratory"
    list_display = ["case_file", "kind", "due_at", "sent_at", "skipped"]
    list_filter = ["kind", "skipped"]
    list_select_related = ["case_file__laboratory", "case_file__breach"]


@admin.register(LaboratoryMembership)
class LaboratoryMembershipAdmin(LabScopedAdminMixin, admin.ModelAdmin):
    list_display = ["user", "laboratory", "created_at"]
    list_select_related = ["user", "laboratory"]
    list_filter = [("laboratory", admin.RelatedOnlyFieldListFilter)]
    autocomplete_fields = ["laboratory"]
    raw_id_fields = ["user"]


@admin.register(AuditEvent)
class AuditEventAdmin(LabScopedAdminMixin, admin.ModelAdmin):
    """Read-only for everyone, superusers included: the trail is append-only."""

    list_display = ["at", "actor_username", "role", "action", "object_type", "object_id", "laboratory", "ip_address"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_username", "object_id"]
    date_hierarchy = "at"
    list_select_related = ["laboratory"]

    def get_queryset(self, request):
        # Rows without a laboratory (log-ins, system tasks) are for superusers only.
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.exclude(laboratory=None)
