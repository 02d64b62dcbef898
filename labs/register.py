"""The Art. 33(5) register as a django-import-export resource (CSV/XLSX export from the admin), its field picker
in French and its file name."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from import_export import fields, resources
from import_export.forms import SelectableFieldsExportForm

from .exports import formula_safe
from .models import BreachLaboratory
from .selectors import REGISTER_COLUMNS, register_row


class BreachRegisterResource(resources.ModelResource):
    """One line per case file, the same columns as the PDF register (selectors.register_row); formula-safe,
    like every export (labs/exports.py): titles, names and descriptions are typed or imported text.

    `export_field` is overridden here (the row is computed once per case file), so the rule is applied in it
    rather than through the FormulaSafeResource mixin, whose hook this override would bypass."""

    class Meta:
        model = BreachLaboratory
        fields: list[str] = []

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rows: dict[int, dict[str, Any]] = {}
        for key, label in REGISTER_COLUMNS:
            self.fields[key] = fields.Field(attribute=key, column_name=str(label), readonly=True)

    def get_export_order(self) -> tuple[str, ...]:
        return tuple(key for key, _ in REGISTER_COLUMNS)

    def export_field(self, field: fields.Field, instance: BreachLaboratory, **kwargs: Any) -> Any:
        if instance.pk not in self._rows:
            self._rows[instance.pk] = register_row(instance)
        return formula_safe(self._rows[instance.pk].get(field.attribute, ""))


class RegisterExportForm(SelectableFieldsExportForm):
    """import-export's export form, each column offered under its French name (the package titles the field's
    attribute: "Aware At (connaissance (Paris))"). Reads the form's public `fields` and the resource's columns;
    tests/labs/test_register.py fails if an upgrade renames them."""

    def __init__(self, formats: Any, resources: Any, **kwargs: Any) -> None:
        super().__init__(formats, resources, **kwargs)
        for resource in resources:
            instance = resource()
            for key in instance.get_export_order():
                name = self.create_boolean_field_name(resource, key)
                if name in self.fields:
                    self.fields[name].label = instance.fields[key].column_name


def register_export_filename(extension: str) -> str:
    return f"registre-violations-{timezone.localdate():%Y-%m-%d}.{extension}"
