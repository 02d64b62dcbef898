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
