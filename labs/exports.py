"""Formula-safe spreadsheet exports: one rule for every django-import-export resource that writes CSV or XLSX.

A cell starting with = + - @ (or a tab or carriage return) is run as a formula by Excel and LibreOffice
(CSV injection: `=HYPERLINK(...)` in a patient's name leaks the row on a click). Such a cell is written
with a leading ' so the spreadsheet shows it as text, unless it is a plain number or phone number (an E.164
"+33612345678" must stay readable for the call centre). The rule lives here, in the lowest layer, so the
campaign engine's call-centre list and the dashboards' reports cannot drift apart again.

Not import-export's IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT: it is global and strips characters from the
value; here the value stays whole and readable, and each resource opts in where it is declared.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from import_export.forms import SelectableFieldsExportForm

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^[+-]?[\d .]+$")


def formula_safe(value: Any) -> Any:
    """The value a spreadsheet will show as written: text that would start a formula gets a leading '."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not PLAIN_NUMBER.match(value):
        return f"'{value}"
    return value


class FormulaSafeResource:
    """Mixin for import-export resources (before `resources.ModelResource`): every exported cell is formula-safe.

    Hooks `Resource.export_field`, which import-export calls for each cell of `export()` (dehydrate methods
    included); tests/labs/test_exports.py fails if an upgrade stops calling it."""

    def export_field(self, field: Any, instance: Any, **kwargs: Any) -> Any:
        return formula_safe(super().export_field(field, instance, **kwargs))  # type: ignore[misc]


class FrenchExportForm(SelectableFieldsExportForm):
    """import-export's field picker, each box labelled in French: the column's French name (`column_name`), or
    for a column named after its attribute, the model field's French label with the column in brackets.

    import-export labels a box with the attribute's name title-cased ("Laboratory Code (laboratoire)",
    "Dpo Email"). It offers no public hook for that label: this overrides its `_get_field_label` (version
    pinned in requirements.txt; tests/test_staff_french.py fails if an upgrade brings the English back)."""

    def _get_field_label(self, resource: Any, field_name: str) -> str:
        field = resource.fields.get(field_name)
        column = field.column_name if field is not None and field.column_name else field_name
        if column != field_name:
            return column
        model = getattr(resource._meta, "model", None)
        try:
            label = str(model._meta.get_field(field_name).verbose_name) if model is not None else field_name
        except FieldDoesNotExist:
            label = field_name
        return label if label == column else f"{label} ({column})"
