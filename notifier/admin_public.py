"""The admin page of Art. 34(3)(c) public communications: recorded here (not in the case file's form) because
recording freezes the figures that justify them, which only the campaign engine computes.

The add page shows the case file's figures as they are now; a recorded publication is read-only, its figures
as they were. Its line in `labs.access.ADMIN_TABLE`: DPOs add for their laboratories, the CNIL liaison reads."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from labs.access import LabScopedAdminMixin, scope_queryset
from labs.models import BreachLaboratory, PublicCommunication

from .public_communications import public_communication_check, public_communication_record
from .selectors import unreachable_by_reason

FORM_FIELDS = ("case_file", "published_at", "medium", "where", "url", "text")


def _formfield(db_field: models.Field, **kwargs: Any) -> Any:
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class PublicCommunicationForm(forms.ModelForm):
    published_at = forms.SplitDateTimeField(
        label="Publiée le (heure de Paris)", widget=AdminSplitDateTime,
        error_messages={"invalid_date": "Date illisible (attendu JJ/MM/AAAA).", "invalid_time": "Heure illisible "
                        "(attendu HH:MM).", "required": "Indiquez la date et l'heure de la publication."},
    )  # fmt: skip
    url = forms.URLField(label="Lien", required=False, assume_scheme="https", max_length=500,
                         error_messages={"invalid": "Adresse web illisible (attendu https://…)."})  # fmt: skip

    class Meta:
        model = PublicCommunication
        fields = FORM_FIELDS
        formfield_callback = _formfield

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            public_communication_check(
                published_at=data.get("published_at"), medium=data.get("medium") or "", url=data.get("url") or "",
                where=data.get("where") or "", text=data.get("text") or "",
            )  # fmt: skip
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                if field not in self.errors:
                    self.add_error(field, messages)
        return data


def figures_html(lines: list[tuple[str, int]]) -> str:
    if not lines:
        return "—"
    rows = format_html_join("", "<tr><td>{}</td><td class='num'>{}</td></tr>", lines)
    return format_html("<table class='public-figures'><tbody>{}</tbody></table>", rows)


@admin.register(PublicCommunication)
class PublicCommunicationAdmin(LabScopedAdminMixin, admin.ModelAdmin):
    lab_path = "case_file__laboratory"
    form = PublicCommunicationForm
    change_form_template = "notifier/admin/public_communication_change_form.html"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ("case_file", "published_at", "medium", "where", "link", "unreachable")
    list_filter = ("medium",)
    list_select_related = ("case_file__laboratory", "case_file__breach")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return FORM_FIELDS if obj is None else (*FORM_FIELDS, "figures_table", "recorded_by", "recorded_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.get_fields(request, obj)

    @admin.display(description="lien")
    def link(self, obj: PublicCommunication) -> str:
        return format_html('<a href="{}" rel="noopener">{}</a>', obj.url, obj.url) if obj.url else "—"

    @admin.display(description="patients injoignables (figé)")
    def unreachable(self, obj: PublicCommunication) -> str:
        return str(obj.figures.get("unreachable", "—")) if obj.figures else "—"

    @admin.display(description="chiffres qui la justifient (figés à l'enregistrement)")
    def figures_table(self, obj: PublicCommunication) -> str:
        computed = obj.figures.get("computed_at", "") if obj.figures else ""
        return format_html("{}<small>calculés le {}</small>", figures_html(obj.figures_lines), computed[:16] or "—")

    def save_model(self, request: HttpRequest, obj: PublicCommunication, form: Any, change: bool) -> None:
        data = form.cleaned_data
        created = public_communication_record(
            case_file=data["case_file"], published_at=data["published_at"], medium=data["medium"],
            where=data.get("where", ""), url=data.get("url", ""), text=data["text"], by=request.user,
        )  # fmt: skip
        obj.pk = created.pk
        obj.refresh_from_db()

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if add:
            context["live_figures"] = self._live_figures(request)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def _live_figures(self, request: HttpRequest) -> str:
        """The chosen case file's figures now (what recording will freeze), if it is in the user's reach."""
        chosen = request.POST.get("case_file") or request.GET.get("case_file") or ""
        if not chosen.isdigit():
            return ""
        case_file = scope_queryset(BreachLaboratory.objects.all(), request.user, "laboratory").filter(pk=chosen).first()
        if case_file is None:
            return ""
        figures = unreachable_by_reason(breach_id=case_file.breach_id, laboratory_id=case_file.laboratory_id)
        return figures_html(PublicCommunication(figures=figures).figures_lines)
