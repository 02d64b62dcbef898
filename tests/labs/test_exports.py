"""labs/exports.py: the one formula-safe rule for spreadsheet exports."""

from __future__ import annotations

import pytest
from import_export import resources

from labs.exports import FormulaSafeResource, formula_safe
from labs.models import Laboratory


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\t=1", "\r=1"],
)
def test_text_that_would_start_a_formula_is_written_as_text(text):
    assert formula_safe(text) == f"'{text}"


@pytest.mark.parametrize("value", ["+33612345678", "-12.5", "06 12 34 56 78", "Dupont", "", None, 42])
def test_numbers_phone_numbers_and_plain_text_are_left_as_they_are(value):
    assert formula_safe(value) == value


class _LaboratoryNames(FormulaSafeResource, resources.ModelResource):
    class Meta:
        model = Laboratory
        fields = ("code", "name")

    def dehydrate_name(self, laboratory):
        return laboratory.name.upper()


def test_the_mixin_makes_every_exported_cell_safe_dehydrated_ones_included():
    # given laboratories whose code and name a spreadsheet would run (unsaved: the export reads objects)
    rows = [Laboratory(code="=1+1", name="+cmd|' /C calc'!A0"), Laboratory(code="LAB-A", name="Remparts")]
    # when exported through the mixin (import-export calls export_field per cell: this fails if it stops)
    dataset = _LaboratoryNames().export(rows)
    # then the formulas are text and the plain values unchanged
    assert dataset.headers == ["code", "name"]
    assert list(dataset) == [("'=1+1", "'+CMD|' /C CALC'!A0"), ("LAB-A", "REMPARTS")]
