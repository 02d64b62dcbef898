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

from .access import ADMIN_TABLE, REFUSED, LabScopedAdminMixin, LabScopedInlineMixin
from .audit import AuditEvent, audit_record
from .deadlines import format_paris, format_time_left, time_left
from .edpb import EdpbExportError, edpb_export_json
from .exports import FrenchExportForm
from .filing_states import FilingState, filing_state_q, initial_filing_late
from .forms import CaseFileForm, FilingForm, ReceiptForm
from .models import (
    AuthorityNotification,
    Breach,
    BreachLaboratory,
    BreachMeasure,
    CnilFiling,
    DeadlineReminder,
    Laboratory,
    LaboratoryMembership,
    PublicCommunication,
)
from .obligation_admin import ObligationAdmin as ObligationAdmin  # registers it
from .obligation_admin import ObligationInline
from .obligation_services import obligations_open
from .receipts import receipt_bytes, receipt_max_bytes
from .register import BreachRegisterResource, RegisterExportForm, register_export_filename
from .resources import LaboratoryResource
from .selectors import case_file_checklist, register_rows
from .services import (
    authority_notification_freeze,
    case_file_prefill_estimates,
    case_files_sync,
    cnil_filing_receipt_attach,
    cnil_filing_record,
)
from .sheets import ReportNotFrozenError, ars_sheet_pdf, filing_sheet_json, filing_sheet_pdf, register_pdf
from .snapshots import filing_snapshot, snapshot_changes


@admin.register(Laboratory)
class LaboratoryAdmin(LabScopedAdminMixin, ImportExportModelAdmin):
    """Laboratories and their DPO contact (printed on letters, emails and the status page): changed by the
    laboratory's own DPO or a superuser, created and imported by superusers only (`labs.access.ADMIN_TABLE`)."""

    lab_path = "pk"
    resource_classes = [LaboratoryResource]
    export_form_class = FrenchExportForm
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


class AuthorityNotificationInline(LabScopedInlineMixin, admin.TabularInline):
    """Other authorities told of the breach (ARS, CERT Santé, a complaint…), with dates and references."""

    model = AuthorityNotification
    fields = ["authority", "authority_name", "notified_at", "reference", "recorded_by"]
    readonly_fields = ["recorded_by"]
    extra = 0


class CnilFilingInline(LabScopedInlineMixin, admin.TabularInline):
    """Filed notifications, read-only: a correction is a new complementary filing ("Notifier la CNIL")."""

    model = CnilFiling
    fields = ["sequence", "kind", "submitted_at", "cnil_reference", "late", "filed_by", "to_complete", "sheet"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description=_("à compléter"))
    def to_complete(self, obj):
        return len(obj.snapshot.get("missing") or []) if obj.pk else "—"

    @admin.display(description=_("fiche"))
    def sheet(self, obj):
        return _sheet_links(obj)


class PublicCommunicationInline(LabScopedInlineMixin, admin.TabularInline):
    """Public communications (Art. 34(3)(c)), read-only here: recorded on their own page, which freezes the
    figures that justify them (computed by the campaign engine)."""

    model = PublicCommunication
    fields = ["published_at", "medium", "where", "url", "figures_summary", "recorded_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("chiffres qui la justifient (figés)"))
    def figures_summary(self, obj):
        return format_html_join("", "<div>{} : {}</div>", ((label, count) for label, count in obj.figures_lines)) or "—"


def _sheet_links(filing):
    pdf = reverse("admin:labs_cnilfiling_sheet_pdf", args=[filing.pk])
    json_url = reverse("admin:labs_cnilfiling_sheet_json", args=[filing.pk])
    edpb = reverse("admin:labs_cnilfiling_edpb_json", args=[filing.pk])
    page = reverse("admin:labs_cnilfiling_change", args=[filing.pk])
    receipt = (
        format_html(' · <a href="{}">{}</a>', reverse("admin:labs_cnilfiling_receipt", args=[filing.pk]), _("accusé"))
        if filing.receipt_name
        else ""
    )
    return format_html(
        '<a href="{}">{}</a> · <a href="{}">PDF</a> · <a href="{}">JSON</a> · <a href="{}" title="{}">{}</a>{}',
        page, _("texte"), pdf, json_url, edpb, _("Export modèle EDPB (JSON)"), _("EDPB"), receipt,
    )  # fmt: skip


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
    export_form_class = RegisterExportForm
    formats = [base_formats.CSV, base_formats.XLSX]
    # import-export puts its Export button in a template whose "object-tools" show only with the add permission
    # (a DPO has none): this template is the whole list toolbar, the register's links included.
    import_export_change_list_template = "labs/admin/case_file_change_list.html"
    # The 72 h clock next to the laboratory: the column a DPO looks for first stays in view at 1366 px.
    list_display = ["laboratory", "deadline", "breach", "aware_at_paris", "cnil_decision", "high_risk", "filings_count"]
    list_select_related = ["laboratory", "breach"]
    list_filter = [DeadlineFilter, "cnil_decision", "high_risk", ("breach", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["laboratory__name", "laboratory__code", "breach__title"]
    ordering = ["due_at"]
    inlines = [
        ObligationInline,
        BreachMeasureInline,
        AuthorityNotificationInline,
        PublicCommunicationInline,
        CnilFilingInline,
    ]
    actions = ["prefill_estimates"]
    readonly_fields = [
        "deadline",
        "checklist",
        "file_link",
        "ars_links",
        "first_filed_at",
        "filed_late",
        "cnil_decided_by",
        "cnil_decided_at",
        "estimates_prefilled_at",
        "people_informed_synced_at",
        "public_communication_link",
        "public_communication_count",
    ]
    fieldsets = [
        (None, {"fields": ["breach", "laboratory", "deadline", "checklist", "file_link", "ars_links"]}),
        (_("Connaissance (art. 33(1)-(2))"), {"fields": ["processor_notice_received_at", "aware_at"]}),
        (
            _("La violation (art. 33(3)(a))"),
            {
                "fields": [
                    ("started_at", "ended_at", "discovered_at"),
                    "discovery",
                    ("nature_confidentiality", "nature_integrity", "nature_availability"),
                    ("cause", "cause_text"),
                    "description",
                    "data_categories",
                    "health_data",
                ],
            },
        ),
        (
            _("Personnes concernées (art. 33(3)(a)) : estimations"),
            {
                "fields": [
                    ("people_estimate", "records_estimate"),
                    ("minors_estimate", "minors_records_estimate"),
                    "others_description",
                    ("others_estimate", "others_records_estimate"),
                    "estimates_prefilled_at",
                ],
                "description": _(
                    "Nombres approximatifs, repris de l'import (patients, dont mineurs) et modifiables ; "
                    "ils sont déposés comme estimations."
                ),
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
                    "public_communication_link",
                    ("people_informed", "people_informed_count"),
                    ("people_informed_first_at", "people_informed_last_at"),
                    "people_informed_channels",
                    "people_informed_synced_at",
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
        # Likewise "record a public communication" for those who may add one; the others read the count.
        fieldsets = super().get_fieldsets(request, obj)
        hidden = {
            field for field, url in (("file_link", "file"), ("ars_links", "ars_pdf"))
            if not self.has_url_permission(request, url)
        }  # fmt: skip
        may_publish = self._perm(request, ADMIN_TABLE["labs.publiccommunication"].add)
        swap = {} if may_publish else {"public_communication_link": "public_communication_count"}
        if not hidden and not swap:
            return fieldsets
        return [
            (name, {**options, "fields": [swap.get(f, f) for f in options["fields"] if f not in hidden]})
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
        # Each at least 4.5:1 on white (WCAG 1.4.3): red overdue, dark orange within 24 h, green otherwise.
        colour = "#b00020" if left.total_seconds() < 0 else "#a64b00" if left < dt.timedelta(hours=24) else "#1b7a32"
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
            _("Complet.")
            if not missing
            else _(
                "%(count)d élément(s) à compléter : la notification peut être déposée avec ce qui est connu "
                "(art. 33(4)), puis complétée."
            )
            % {"count": missing}
        )
        return format_html(
            "<p><strong>{}</strong></p><ul style='margin-left:0'>{}</ul>",
            head,
            format_html_join(
                "",
                "<li style='list-style:none;color:{}'>{} {}</li>",
                (("#1b7a32", "✔", i["label"]) if i["ok"] else ("#a4480a", "à compléter :", i["label"]) for i in items),
            ),
        )

    @admin.display(description=_("communication publique (art. 34(3)(c))"))
    def public_communication_count(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        count = obj.public_communications.count()
        if not count:
            return _("Aucune enregistrée.")
        return _("%(count)d enregistrée(s), ci-dessous avec les chiffres qui les justifient.") % {"count": count}

    @admin.display(description=_("communication publique (art. 34(3)(c))"))
    def public_communication_link(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        # The page belongs to the campaign engine's admin (it computes the figures): linked by URL name only.
        url = reverse("admin:labs_publiccommunication_add") + f"?case_file={obj.pk}"
        return format_html(
            '{} <a class="button" href="{}">{}</a>',
            self.public_communication_count(obj),
            url,
            _("Enregistrer une communication publique"),
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

    @admin.display(description=_("ARS / CERT Santé"))
    def ars_links(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        url = reverse("admin:labs_breachlaboratory_ars_pdf", args=[obj.pk])
        sent = [n for n in obj.authority_notifications.all() if n.snapshot]
        return format_html(
            '<a class="button" href="{}">{}</a>{}',
            url,
            _("Fiche ARS / CERT Santé (PDF)"),
            format_html_join(
                "",
                ' · <a href="{}?notification={}">{} {} {}</a>',
                ((url, n.pk, n.get_authority_display(), _("transmis le"), format_paris(n.notified_at)) for n in sent),
            ),
        )

    def save_model(self, request, obj, form, change):
        if {"cnil_decision", "cnil_decision_reason"} & set(form.changed_data):
            obj.cnil_decided_by, obj.cnil_decided_at = request.user, timezone.now()
        super().save_model(request, obj, form, change)
        if not change:
            obligations_open(case_file=obj)  # triage: one obligation per enabled regime

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for instance in instances:
            if isinstance(instance, BreachMeasure | AuthorityNotification) and instance.recorded_by_id is None:
                instance.recorded_by = request.user
            if isinstance(instance, AuthorityNotification):
                authority_notification_freeze(notification=instance)  # the ARS / CERT Santé report as sent
            else:
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

    def get_export_filename(self, request, queryset, file_format):
        return register_export_filename(file_format.get_extension())

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<path:object_id>/file/", self.admin_site.admin_view(self.file_view), name="{}_{}_file".format(*info)),
            path(
                "register.pdf",
                self.admin_site.admin_view(self.register_pdf_view),
                name="{}_{}_register_pdf".format(*info),
            ),
            path(
                "<path:object_id>/ars.pdf",
                self.admin_site.admin_view(self.ars_pdf_view),
                name="{}_{}_ars_pdf".format(*info),
            ),
            *super().get_urls(),
        ]

    def file_view(self, request, object_id):
        case_file = self.get_object(request, unquote(object_id))
        if case_file is None:
            raise Http404("Dossier introuvable")
        if not self.has_url_permission(request, "file"):
            raise PermissionDenied(REFUSED)
        form = FilingForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                filing = cnil_filing_record(case_file=case_file, by=request.user, request=request, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(request, f"Notification {filing} enregistrée.", messages.SUCCESS)
                return redirect("admin:labs_cnilfiling_change", filing.pk)
        previous = case_file.filings.order_by("-sequence").first()
        initial = case_file.filings.filter(kind=CnilFiling.Kind.INITIAL).first()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": case_file,
            "title": f"Notifier la CNIL — {case_file}",
            "form": form,
            "checklist": case_file_checklist(case_file),
            "due": format_paris(case_file.due_at),
            "overdue": initial_filing_late(case_file, at=timezone.now()),
            "previous": previous,
            "initial": initial,
            "initial_at": format_paris(initial.submitted_at) if initial else "",
            "changes": snapshot_changes(previous.snapshot, filing_snapshot(case_file)) if previous else [],
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "labs/admin/file_form.html", context)

    def ars_pdf_view(self, request, object_id):
        """The ARS / CERT Santé report: a draft from the case file, or (`?notification=ID`) the version sent."""
        case_file = self.get_object(request, unquote(object_id))
        if case_file is None:
            raise Http404("Dossier introuvable")
        if not self.has_url_permission(request, "ars_pdf"):
            raise PermissionDenied(REFUSED)
        source = case_file
        if "notification" in request.GET:
            source = case_file.authority_notifications.filter(pk=_int_or_none(request.GET["notification"])).first()
            if source is None:
                raise Http404("Signalement introuvable dans ce dossier")
        try:
            pdf = ars_sheet_pdf(source)
        except ReportNotFrozenError as error:
            self.message_user(request, str(error), messages.WARNING)
            return redirect("admin:labs_breachlaboratory_change", case_file.pk)
        audit_record(
            actor=request.user, action=AuditEvent.Action.EXPORT, obj=case_file, request=request, format="ars_pdf",
            notification=source.pk if source is not case_file else None,
        )  # fmt: skip
        response = HttpResponse(pdf, content_type="application/pdf")
        suffix = f"-transmis-{source.pk}" if source is not case_file else ""
        name = f"signalement-ars-cert-sante-{case_file.laboratory.code}{suffix}.pdf"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

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
    """Filings are read-only for everyone (append-only); recorded from the case file, printed from here. The
    authority's case number and acknowledgement are added once, when they arrive ("attach_receipt")."""

    lab_path = "case_file__laboratory"
    change_form_template = "labs/admin/filing_change_form.html"
    list_display = ["case_file", "sequence", "kind", "submitted_at", "cnil_reference", "late", "sheet"]
    list_select_related = ["case_file__laboratory", "case_file__breach"]
    list_filter = ["kind", "late"]
    readonly_fields = [
        "case_file",
        "sequence",
        "kind",
        "submitted_at",
        "cnil_reference",
        "initial_reference",
        "late",
        "delay_reasons",
        "to_complete",
        "changes",
        "receipt",
        "filed_by",
        "created_at",
        "sheet",
        "text_sent",
    ]
    fields = readonly_fields

    @admin.display(description=_("fiche"))
    def sheet(self, obj):
        return _sheet_links(obj)

    @admin.display(description=_("notification initiale citée"))
    def initial_reference(self, obj):
        initial = obj.snapshot.get("filing", {}).get("initial")
        if not initial:
            return "—"
        return _("référence CNIL %(ref)s du %(at)s") % {
            "ref": initial.get("cnil_reference") or "—",
            "at": initial.get("submitted_at_paris") or initial.get("submitted_at"),
        }

    @admin.display(description=_("à compléter (au dépôt)"))
    def to_complete(self, obj):
        missing = obj.snapshot.get("missing") or []
        if not missing:
            return _("rien : notification complète")
        return format_html(
            "<ul style='margin:0;padding-left:1.2em'>{}</ul>",
            format_html_join("", "<li>{}</li>", ((label,) for label in missing)),
        )

    @admin.display(description=_("modifications depuis la notification précédente"))
    def changes(self, obj):
        rows = obj.snapshot.get("filing", {}).get("changes") or []
        if obj.sequence == 1:
            return _("— (notification initiale)")
        if not rows:
            return _("aucune")
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("élément"),
            _("avant"),
            _("après"),
            format_html_join(
                "",
                "<tr><td>{}</td><td style='white-space:pre-wrap'>{}</td><td style='white-space:pre-wrap'>{}</td></tr>",
                ((c["label"], c["before"] or "—", c["after"] or "—") for c in rows),
            ),
        )

    @admin.display(description=_("accusé de réception"))
    def receipt(self, obj):
        if obj.receipt_name:
            url = reverse("admin:labs_cnilfiling_receipt", args=[obj.pk])
            return format_html(
                '<a href="{}">{}</a> <small>({} {}, SHA-256 {}…)</small>',
                url,
                _("télécharger le PDF"),
                _("joint le"),
                format_paris(obj.receipt_attached_at),
                obj.receipt_sha256[:16],
            )
        return _("pas encore joint")

    @admin.display(description=_("texte déposé (figé)"))
    def text_sent(self, obj):
        return format_html('<pre style="white-space:pre-wrap;font-size:12px">{}</pre>', obj.text or "—")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        filing = self.get_object(request, unquote(object_id))
        can_attach = (
            filing is not None
            and not (filing.cnil_reference and filing.receipt_name)
            and self.has_url_permission(request, "attach_receipt")
        )
        extra_context = {**(extra_context or {}), "can_attach_receipt": can_attach}
        return super().change_view(request, object_id, form_url, extra_context)

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
            path(
                "<path:object_id>/edpb.json",
                self.admin_site.admin_view(self.edpb_json_view),
                name="{}_{}_edpb_json".format(*info),
            ),
            path(
                "<path:object_id>/receipt.pdf",
                self.admin_site.admin_view(self.receipt_view),
                name="{}_{}_receipt".format(*info),
            ),
            path(
                "<path:object_id>/receipt/attach/",
                self.admin_site.admin_view(self.attach_receipt_view),
                name="{}_{}_attach_receipt".format(*info),
            ),
            *super().get_urls(),
        ]

    def _filing_or_404(self, request, object_id):
        filing = self.get_object(request, unquote(object_id))
        if filing is None or not self.has_view_permission(request, filing):
            raise Http404("Notification introuvable")
        return filing

    def sheet_view(self, request, object_id, fmt):
        filing = self._filing_or_404(request, object_id)
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

    def edpb_json_view(self, request, object_id):
        """The filing in the EDPB common template's structure, validated first: an invalid export is never served."""
        filing = self._filing_or_404(request, object_id)
        if not self.has_url_permission(request, "edpb_json"):
            raise PermissionDenied(REFUSED)
        try:
            content = edpb_export_json(filing)
        except EdpbExportError as error:
            self.message_user(request, str(error), messages.ERROR)
            return redirect("admin:labs_cnilfiling_change", filing.pk)
        audit_record(actor=request.user, action=AuditEvent.Action.EXPORT, obj=filing, request=request, format="edpb")
        response = HttpResponse(content, content_type="application/json; charset=utf-8")
        name = f"notification-cnil-{filing.case_file.laboratory.code}-{filing.sequence}-modele-edpb.json"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def receipt_view(self, request, object_id):
        filing = self._filing_or_404(request, object_id)
        if not self.has_url_permission(request, "receipt"):
            raise PermissionDenied(REFUSED)
        if not filing.receipt_name:
            self.message_user(request, _("Aucun accusé de réception joint à cette notification."), messages.WARNING)
            return redirect("admin:labs_cnilfiling_change", filing.pk)
        audit_record(actor=request.user, action=AuditEvent.Action.EXPORT, obj=filing, request=request, format="receipt")
        response = HttpResponse(receipt_bytes(filing.receipt_name), content_type="application/pdf")
        name = f"accuse-cnil-{filing.case_file.laboratory.code}-{filing.sequence}.pdf"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def attach_receipt_view(self, request, object_id):
        filing = self._filing_or_404(request, object_id)
        if not self.has_url_permission(request, "attach_receipt"):
            raise PermissionDenied(REFUSED)
        form = ReceiptForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                cnil_filing_receipt_attach(filing=filing, by=request.user, request=request, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(request, _("Référence et accusé de réception enregistrés."), messages.SUCCESS)
                return redirect("admin:labs_cnilfiling_change", filing.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": filing,
            "title": _("Référence CNIL et accusé de réception — %(filing)s") % {"filing": filing},
            "form": form,
            "max_mb": receipt_max_bytes() // (1024 * 1024),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "labs/admin/receipt_form.html", context)


def _int_or_none(value: str) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


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
