"""The obligations in the admin: each with its clocks, its assessment page, its filing page and the second
person's approval of a "not required" (an action). Registered from labs/admin.py; rows are read-only here,
every write goes through labs/obligation_services.py. Who may do what: labs/access.py ADMIN_TABLE["labs.obligation"].
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from .access import NOBODY, REFUSED, LabScopedAdminMixin, LabScopedInlineMixin, admin_rules, may
from .filings import AuthorityNotification, BreachLaboratory, CnilFiling
from .forms import ObligationAssessForm, ObligationFileForm
from .obligation_services import obligation_approve, obligation_assess, obligation_file
from .obligation_states import ObligationState, clock_text, next_clock, obligation_clocks, obligation_state
from .obligations import Obligation, step_label
from .sheets import REGIME_SHEETS

# Each at least 4.5:1 on white (WCAG 1.4.3), as the case file's clock.
STATE_COLOURS = {ObligationState.LATE: "#b00020", ObligationState.TO_ASSESS: "#a64b00"}


def _state_html(obligation: Obligation) -> str:
    state = obligation_state(obligation, now=timezone.now())
    colour = STATE_COLOURS.get(state, "#333")
    return format_html('<strong style="color:{}">{}</strong>', colour, state.label)


class ObligationInline(LabScopedInlineMixin, admin.TabularInline):
    """The case file's obligations, one line per regime, each with its state and clock (read-only here)."""

    model = Obligation
    fields = ["regime", "state", "clock", "open_link"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description=_("état"))
    def state(self, obj):
        return _state_html(obj) if obj.pk else "—"

    @admin.display(description=_("prochaine échéance"))
    def clock(self, obj):
        return clock_text(next_clock(obligation_clocks(obj))) if obj.pk else "—"

    @admin.display(description=_("évaluer, déposer"))
    def open_link(self, obj):
        if not obj.pk:
            return "—"
        return format_html('<a href="{}">{}</a>', reverse("admin:labs_obligation_change", args=[obj.pk]), _("ouvrir"))


@admin.register(Obligation)
class ObligationAdmin(LabScopedAdminMixin, SimpleHistoryAdmin):
    """Obligations per regime: a DPO assesses (required / not required with a rationale), a second DPO or a
    superuser approves a "not required", and the steps filed with an authority are recorded here."""

    lab_path = "case_file__laboratory"
    list_display = ["case_file", "regime", "state", "clock", "assessment"]
    list_select_related = ["case_file__laboratory", "case_file__breach"]
    list_filter = ["regime", "assessment", ("case_file__breach", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["case_file__laboratory__name", "case_file__laboratory__code", "case_file__breach__title"]
    actions = ["approve_not_required"]
    fields = [
        "case_file", "regime", "source", "state", "clocks", "assessment", "rationale",
        "assessed_by", "assessed_at", "approved_by", "approved_at", "step_filings",
    ]  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("filings")

    @admin.display(description=_("état"))
    def state(self, obj):
        return _state_html(obj)

    @admin.display(description=_("prochaine échéance"))
    def clock(self, obj):
        return clock_text(next_clock(obligation_clocks(obj)))

    @admin.display(description=_("fondement"))
    def source(self, obj):
        config = obj.regime_config
        return f"{config.get('source', '')} — {config.get('authority', '')}"

    @admin.display(description=_("horloges (heure de Paris)"))
    def clocks(self, obj):
        rows = [
            (clock_text(c), "" if c.filed_at else _(" — en cours") if c.in_progress else _(" — à déposer"))
            for c in obligation_clocks(obj)
        ]
        return format_html("<ul style='margin-left:0'>{}</ul>", format_html_join("", "<li>{}{}</li>", rows))

    @admin.display(description=_("dépôts enregistrés"))
    def step_filings(self, obj):
        filings = list(obj.filings.all())
        if not filings:
            return "—"
        return format_html_join(
            "",
            "<div>{} : {}</div>",
            ((step_label(f.step), str(f)) for f in sorted(filings, key=lambda f: f.notified_at)),
        )

    change_form_template = "labs/admin/obligation_change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The buttons follow the table for this user (the pages themselves refuse the others).
        buttons = []
        obligation = self.get_object(request, unquote(object_id))
        if obligation is not None:
            if self.has_url_permission(request, "assess"):
                buttons.append((reverse("admin:labs_obligation_assess", args=[obligation.pk]), _("Évaluer")))
            if (
                self.has_url_permission(request, "file")
                and obligation.regime_config["evidence"] == "authority_notification"
            ):
                buttons.append((reverse("admin:labs_obligation_file", args=[obligation.pk]), _("Enregistrer un dépôt")))
            buttons += self._sheet_buttons(request, obligation)
        extra_context = {**(extra_context or {}), "obligation_buttons": buttons}
        return super().change_view(request, object_id, form_url, extra_context)

    @staticmethod
    def _sheet_buttons(request, obligation: Obligation) -> list[tuple[str, str]]:
        """The regime's sheet in its authority's field order (`labs.sheets.REGIME_SHEETS`), where the table allows
        this user the page that serves it: the CNIL filings' sheets and EDPB export, the ARS / CERT Santé report."""
        sheet = REGIME_SHEETS.get(obligation.regime)
        if sheet is None:
            return []
        buttons = []
        if sheet.source == "case_file":
            if may(request.user, admin_rules(BreachLaboratory).views.get("ars_pdf", (NOBODY, ""))[0]):
                url = reverse("admin:labs_breachlaboratory_ars_pdf", args=[obligation.case_file_id])
                buttons.append((url, _("Fiche (PDF)")))
            return buttons
        views = admin_rules(CnilFiling).views
        for filing in obligation.case_file.filings.order_by("sequence"):
            if may(request.user, views.get("sheet_pdf", (NOBODY, ""))[0]):
                url = reverse("admin:labs_cnilfiling_sheet_pdf", args=[filing.pk])
                buttons.append((url, _("Fiche n°%(n)s (PDF)") % {"n": filing.sequence}))
            if may(request.user, views.get("edpb_json", (NOBODY, ""))[0]):
                url = reverse("admin:labs_cnilfiling_edpb_json", args=[filing.pk])
                buttons.append((url, _("N°%(n)s au modèle EDPB (JSON)") % {"n": filing.sequence}))
        return buttons

    @admin.action(description=_("Approuver « non requise » (seconde personne)"))
    def approve_not_required(self, request, queryset):
        approved = 0
        for obligation in queryset.select_related("case_file"):
            try:
                obligation_approve(obligation=obligation, by=request.user, request=request)
            except ValidationError as error:
                self.message_user(request, f"{obligation} : {' '.join(error.messages)}", messages.ERROR)
            else:
                approved += 1
        if approved:
            self.message_user(request, f"{approved} obligation(s) approuvée(s) « non requise ».", messages.SUCCESS)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/assess/", self.admin_site.admin_view(self.assess_view),
                name="{}_{}_assess".format(*info),
            ),
            path("<path:object_id>/file/", self.admin_site.admin_view(self.file_view), name="{}_{}_file".format(*info)),
            *super().get_urls(),
        ]  # fmt: skip

    def _obligation_or_404(self, request, object_id, url_name):
        obligation = self.get_object(request, unquote(object_id))
        if obligation is None:
            raise Http404("Obligation introuvable")
        if not self.has_url_permission(request, url_name):
            raise PermissionDenied(REFUSED)
        return obligation

    def _render(self, request, obligation, form, title, intro):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": obligation,
            "title": title,
            "intro": intro,
            "clocks": [clock_text(c) for c in obligation_clocks(obligation)],
            "form": form,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "labs/admin/obligation_form.html", context)

    def assess_view(self, request, object_id):
        obligation = self._obligation_or_404(request, object_id, "assess")
        form = ObligationAssessForm(request.POST or None, initial={"rationale": obligation.rationale})
        if request.method == "POST" and form.is_valid():
            try:
                obligation_assess(
                    obligation=obligation, required=form.cleaned_data["decision"] == "required",
                    rationale=form.cleaned_data["rationale"], by=request.user, request=request,
                )  # fmt: skip
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(request, _("Évaluation enregistrée."), messages.SUCCESS)
                return redirect("admin:labs_obligation_change", obligation.pk)
        intro = _(
            "« Non requise » ne prend effet qu'après l'approbation d'une seconde personne (DPO du laboratoire ou "
            "superutilisateur), depuis la liste des obligations : action « Approuver « non requise » »."
        )
        return self._render(request, obligation, form, f"Évaluer — {obligation}", intro)

    def file_view(self, request, object_id):
        obligation = self._obligation_or_404(request, object_id, "file")
        config = obligation.regime_config
        if config["evidence"] != "authority_notification":
            where = (
                _("enregistrez la notification CNIL depuis le dossier (« Notifier la CNIL »).")
                if config["evidence"] == "cnil_filing"
                else _("elle suit l'avancement des campagnes d'information des patients.")
            )
            self.message_user(
                request, f"« {obligation.regime_label} » ne se dépose pas ici : {where}", messages.WARNING
            )
            return redirect("admin:labs_obligation_change", obligation.pk)
        authority_labels = dict(AuthorityNotification.Authority.choices)
        form = ObligationFileForm(
            request.POST or None,
            steps=[(s["step"], step_label(s["step"])) for s in config["steps"]],
            authorities=[(a, authority_labels.get(a, a)) for a in config.get("authorities", [])],
        )
        if request.method == "POST" and form.is_valid():
            try:
                obligation_file(obligation=obligation, by=request.user, request=request, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(request, _("Dépôt enregistré."), messages.SUCCESS)
                return redirect("admin:labs_obligation_change", obligation.pk)
        intro = _("Le dépôt fait sur le portail de l'autorité, avec sa date et sa référence : l'horloge s'arrête.")
        return self._render(request, obligation, form, f"Enregistrer un dépôt — {obligation}", intro)
