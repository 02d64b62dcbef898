"""Admin for imports, patients and their exposed records: read-only, since all of it comes from imports.

Who may see, export or change what is the line of each model in `labs.access.ADMIN_TABLE` (nothing here is
changed by hand: no add, change or delete for anyone); scoping and the audit trail come from
`LabScopedAdminMixin` (a DPO sees their laboratory only; patient-level reads and exports are in the trail). No NIR is ever shown: the database holds only
its masked form. The per-laboratory patient summary is exported through django-import-export.
"""

from __future__ import annotations

import datetime as dt
import re

from django.contrib import admin
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from import_export.admin import ExportMixin
from import_export.formats import base_formats

from labs.access import LabScopedAdminMixin, LabScopedInlineMixin, laboratories_for, sees_all_laboratories
from labs.exports import FrenchExportForm

from .models import ExposedRecord, ImportBatch, ImportRejection, Patient
from .resources import PatientSummaryResource, channel_words, exposure_words, sensitive_words

_DATE_TERM = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$|^(\d{4})-(\d{1,2})-(\d{1,2})$")


def parse_search_date(term: str) -> dt.date | None:
    """A birth date typed in the search box: "17/05/1970" or "1970-05-17"."""
    match = _DATE_TERM.match(term)
    if match is None:
        return None
    day, month, year = match.group(1, 2, 3) if match.group(1) else match.group(6, 5, 4)
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


# --- imports -------------------------------------------------------------------------------------
class FirstRejectionsFormSet(BaseInlineFormSet):
    """Only the first rejections on the page: a broken file may have thousands; the rejects file has all."""

    LIMIT = 500

    def get_queryset(self) -> QuerySet:
        if not hasattr(self, "_limited_queryset"):
            self._limited_queryset = super().get_queryset()[: self.LIMIT]
        return self._limited_queryset


class ImportRejectionInline(LabScopedInlineMixin, admin.TabularInline):
    model = ImportRejection
    formset = FirstRejectionsFormSet
    fields = ["record_number", "line_number", "reason", "message"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    verbose_name = "enregistrement rejeté (500 premiers)"
    verbose_name_plural = "enregistrements rejetés (500 premiers ; le fichier des rejets les contient tous)"


@admin.register(ImportBatch)
class ImportBatchAdmin(LabScopedAdminMixin, admin.ModelAdmin):
    # A batch covers every laboratory of the file: a DPO sees the batches that touched their laboratory.
    # Its counts are for every role; its per-record rejections (the inline) are patient-level.
    lab_path = "records__patient__laboratory"
    list_display = [
        "file_name",
        "breach",
        "status",
        "rows_read",
        "rows_accepted",
        "rows_rejected",
        "patients_created",
        "started_at",
        "duration",
    ]
    list_filter = ["status", "breach"]
    list_select_related = ["breach"]
    search_fields = ["file_name", "sha256"]
    date_hierarchy = "created_at"
    inlines = [ImportRejectionInline]
    fieldsets = [
        (None, {"fields": ["breach", "file_name", "sha256", "status", "error"]}),
        (
            "Comptes / Counts",
            {"fields": ["rows_read", "rows_accepted", "rows_rejected", "patients_created", "accounting"]},
        ),
        ("Lecture / Parsing", {"fields": ["encoding", "delimiter", "mapping", "rejects_file"]}),
        ("Horodatage / Timing", {"fields": ["started_at", "finished_at", "duration", "created_at"]}),
    ]
    readonly_fields = ["accounting", "duration", "created_at"]

    @admin.display(description="durée")
    def duration(self, batch: ImportBatch) -> str:
        if batch.started_at and batch.finished_at:
            return f"{(batch.finished_at - batch.started_at).total_seconds():.1f} s"
        return "—"

    @admin.display(description="lus = acceptés + rejetés")
    def accounting(self, batch: ImportBatch) -> str:
        balanced = batch.rows_read == batch.rows_accepted + batch.rows_rejected
        mark = "✔" if balanced else "✘"
        return f"{mark} {batch.rows_read} = {batch.rows_accepted} + {batch.rows_rejected}"


# --- patients ------------------------------------------------------------------------------------
class HasEmailFilter(admin.SimpleListFilter):
    title = "courriel"
    parameter_name = "has_email"

    def lookups(self, request, model_admin):
        return [("yes", "avec courriel"), ("no", "sans courriel")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(email="")
        if self.value() == "no":
            return queryset.filter(email="")
        return queryset


class SensitiveFilter(admin.SimpleListFilter):
    title = "commentaire de santé"
    parameter_name = "sensitive"

    def lookups(self, request, model_admin):
        return [("yes", "oui"), ("no", "non")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(sensitive_mask__gt=0)
        if self.value() == "no":
            return queryset.filter(sensitive_mask=0)
        return queryset


@admin.register(Patient)
class PatientAdmin(LabScopedAdminMixin, ExportMixin, admin.ModelAdmin):
    patient_data = True
    lab_path = "laboratory"
    resource_classes = [PatientSummaryResource]
    export_form_class = FrenchExportForm
    export_formats = [base_formats.CSV, base_formats.XLSX]
    list_display = ["full_name", "laboratory", "birth_date", "is_minor", "exposure", "channels", "record_count"]
    list_select_related = ["laboratory"]
    list_filter = ["laboratory", "is_minor", HasEmailFilter, SensitiveFilter, "breach"]
    search_fields = ["last_name", "first_name", "birth_name"]
    search_help_text = "Nom, prénom, nom de naissance ou date de naissance (17/05/1970) / name or birth date"
    list_per_page = 50
    show_full_result_count = False  # a count over half a million rows on every page is not worth it
    fieldsets = [
        (None, {"fields": ["breach", "laboratory", "civility", "last_name", "first_name", "birth_name"]}),
        ("Identité / Identity", {"fields": ["birth_date", "is_minor", "nir_masked", "nir_valid"]}),
        (
            "Contact",
            {"fields": ["address_line", "postcode", "city", "country", "email", "mobile_phone", "landline_phone"]},
        ),
        ("Exposition / Exposure", {"fields": ["exposure", "sensitive", "channels", "issues", "record_count"]}),
        ("Horodatage", {"fields": ["created_at", "updated_at"]}),
    ]
    readonly_fields = ["exposure", "sensitive", "channels", "issues", "created_at", "updated_at"]

    def get_list_display(self, request):
        # A DPO or operator of one laboratory has no use for its name on every row, and the exposed data need
        # the room at 1366 px; whoever sees several laboratories keeps the column.
        columns = super().get_list_display(request)
        if not sees_all_laboratories(request.user) and laboratories_for(request.user).count() == 1:
            return [column for column in columns if column != "laboratory"]
        return columns

    def get_search_results(self, request, queryset, search_term):
        terms = search_term.split()
        dates = [parsed for parsed in map(parse_search_date, terms) if parsed]
        names = " ".join(term for term in terms if not parse_search_date(term))
        if any(_DATE_TERM.match(term) for term in terms) and not dates:
            return queryset.none(), False  # an impossible date matches nobody
        queryset, may_have_duplicates = super().get_search_results(request, queryset, names)
        for birth_date in dates:
            queryset = queryset.filter(birth_date=birth_date)
        return queryset, may_have_duplicates

    @admin.display(description="nom", ordering="last_name")
    def full_name(self, patient: Patient) -> str:
        return f"{patient.last_name} {patient.first_name}".strip() or f"patient #{patient.pk}"

    @admin.display(description="données exposées")
    def exposure(self, patient: Patient) -> str:
        return exposure_words(patient.exposure_mask)

    @admin.display(description="classes sensibles")
    def sensitive(self, patient: Patient) -> str:
        return sensitive_words(patient.sensitive_mask) or "—"

    @admin.display(description="canaux")
    def channels(self, patient: Patient) -> str:
        return channel_words(patient) or "aucun"

    @admin.display(description="anomalies")
    def issues(self, patient: Patient) -> str:
        return ", ".join(map(str, patient.data_issues or [])) or "—"


@admin.register(ExposedRecord)
class ExposedRecordAdmin(LabScopedAdminMixin, admin.ModelAdmin):
    patient_data = True
    lab_path = "patient__laboratory"
    list_display = ["record_label", "patient", "laboratory", "specimen_date", "exposure", "batch"]
    list_select_related = ["patient__laboratory", "batch"]
    list_filter = ["patient__laboratory", "batch"]
    search_fields = ["record_id"]
    raw_id_fields = ["patient", "batch"]
    show_full_result_count = False
    fields = ["patient", "batch", "record_number", "record_id", "specimen_date", "exposure", "sensitive"]
    readonly_fields = ["exposure", "sensitive"]

    @admin.display(description="enregistrement", ordering="record_number")
    def record_label(self, record: ExposedRecord) -> str:
        return record.record_id or f"#{record.record_number}"

    @admin.display(description="laboratoire", ordering="patient__laboratory__code")
    def laboratory(self, record: ExposedRecord) -> str:
        return record.patient.laboratory.code

    @admin.display(description="données exposées")
    def exposure(self, record: ExposedRecord) -> str:
        return exposure_words(record.exposure_mask)

    @admin.display(description="classes sensibles")
    def sensitive(self, record: ExposedRecord) -> str:
        return sensitive_words(record.sensitive_mask) or "—"
