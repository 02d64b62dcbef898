"""The print batch manifest (CSV for the print-and-mail provider) is formula-safe (labs/exports.py)."""

from __future__ import annotations

import pytest

from letters.printing import build_print_batch
from tests.test_formula_safe_exports import unsafe_csv_cells

pytestmark = pytest.mark.django_db


def test_a_hostile_address_comes_out_as_text_in_the_print_manifest(make_letter):
    # given a letter whose address lines and town start formulas
    _, letter = make_letter(
        civility="", last_name="@SUM(A1:A9)", first_name="", address_line='=HYPERLINK("http://evil.example")',
        city="+cmd|' /C calc'!A0", postcode="-2+3",
    )  # fmt: skip
    # when it is built into a print batch
    manifest = build_print_batch([letter]).manifest_csv
    # then the manifest keeps the text but no cell would run in a spreadsheet
    assert "HYPERLINK" in manifest
    assert unsafe_csv_cells(manifest) == []
