"""Laboratories in and out of the admin through django-import-export (CSV and XLSX)."""

from __future__ import annotations

import html
import io

import openpyxl
import pytest
import tablib
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from labs.models import Laboratory
from labs.resources import LABORATORY_COLUMNS, LaboratoryResource
from tests.factories import LaboratoryFactory

pytestmark = pytest.mark.django_db

CSV_TEXT = (
    "code,name,finess_ej,finess_eg,siren,address_line,postcode,city,dpo_name,dpo_email,dpo_phone\n"
    "LAB01,Laboratoire des Remparts,350000001,350000002,123456789,1 rue du Port,35000,Rennes,"
    "Claire Martin,dpo@remparts.example,+33299000001\n"
    "LAB02 , Biologie du Golfe ,,,,,56000,Vannes,Paul Le Goff,dpo@golfe.example,\n"
)


def format_index(kind: str, name: str) -> int:
    model_admin = admin.site._registry[Laboratory]
    formats = model_admin.get_import_formats() if kind == "import" else model_admin.get_export_formats()
    return [fmt.__name__ for fmt in formats].index(name)


def test_csv_import_creates_new_laboratories_and_updates_known_ones_by_code():
    # given a known laboratory with an outdated DPO
    LaboratoryFactory(code="LAB01", name="Ancien nom", dpo_email="old@remparts.example")
    dataset = tablib.Dataset().load(CSV_TEXT, format="csv")
    # when the file is imported
    result = LaboratoryResource().import_data(dataset, dry_run=False, raise_errors=True)
    # then LAB01 is updated, LAB02 created with trimmed values
    assert not result.has_errors() and not result.has_validation_errors()
    assert Laboratory.objects.count() == 2
    lab01 = Laboratory.objects.get(code="LAB01")
    assert (lab01.name, lab01.dpo_email, lab01.siren) == (
        "Laboratoire des Remparts",
        "dpo@remparts.example",
        "123456789",
    )
    assert Laboratory.objects.get(code="LAB02").name == "Biologie du Golfe"


def test_xlsx_export_then_import_round_trips_the_laboratory_list():
    # given two laboratories exported to XLSX
    LaboratoryFactory(code="LAB07", name="Laboratoire Sept", siren="552100554")
    LaboratoryFactory(code="LAB08", name="Laboratoire Huit")
    xlsx = LaboratoryResource().export().export("xlsx")
    # when the sheet is edited (a DPO changes, a number-typed SIREN) and imported back
    book = openpyxl.load_workbook(io.BytesIO(xlsx))
    sheet = book.active
    headers = [cell.value for cell in sheet[1]]
    assert tuple(headers) == LABORATORY_COLUMNS
    for row in sheet.iter_rows(min_row=2):
        if row[0].value == "LAB08":
            row[headers.index("dpo_name")].value = "Nouvelle DPO"
            row[headers.index("siren")].value = 732829320
    buffer = io.BytesIO()
    book.save(buffer)
    result = LaboratoryResource().import_data(
        tablib.Dataset().load(buffer.getvalue(), format="xlsx"), dry_run=False, raise_errors=True
    )
    # then the changed laboratory is updated, the other skipped as unchanged
    assert not result.has_errors()
    lab08 = Laboratory.objects.get(code="LAB08")
    assert (lab08.dpo_name, lab08.siren) == ("Nouvelle DPO", "732829320")
    assert result.totals["update"] == 1 and result.totals["skip"] == 1
    assert Laboratory.objects.count() == 2


def test_admin_import_of_a_csv_file_creates_laboratories_after_confirmation(admin_client):
    # given the admin import page
    url = reverse("admin:labs_laboratory_import")
    assert admin_client.get(url).status_code == 200
    # when a CSV file is uploaded, previewed and confirmed
    upload = SimpleUploadedFile("labs.csv", CSV_TEXT.encode("utf-8"), content_type="text/csv")
    preview = admin_client.post(url, {"format": format_index("import", "CSV"), "resource": 0, "import_file": upload})
    assert preview.status_code == 200 and "confirm_form" in preview.context
    assert not Laboratory.objects.exists()  # the preview is a dry run
    confirm = preview.context["confirm_form"].initial
    response = admin_client.post(reverse("admin:labs_laboratory_process_import"), confirm)
    # then both laboratories exist
    assert response.status_code == 302
    assert set(Laboratory.objects.values_list("code", flat=True)) == {"LAB01", "LAB02"}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"nom,ville\nLabo,Rennes\n", "Colonne « code » absente"),
        (b"code;name\nLAB01;Labo\n", "points-virgules"),
        (b"code,name,patient_nir\nLAB01,Labo,253072A07300443\n", "Colonnes inconnues : patient_nir"),
        (b"code,name,dpo_email\nLAB01,Labo,pas-un-courriel\n", "dpo_email"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00", "UnicodeDecodeError"),
    ],
    ids=["no-code-column", "semicolons", "unknown-column", "bad-email", "binary-file"],
)
def test_admin_import_of_bad_input_shows_a_clear_message_and_imports_nothing(admin_client, content, expected):
    # when a file with wrong columns, a bad value or binary content is uploaded as CSV
    upload = SimpleUploadedFile("labs.csv", content, content_type="text/csv")
    response = admin_client.post(
        reverse("admin:labs_laboratory_import"),
        {"format": format_index("import", "CSV"), "resource": 0, "import_file": upload},
    )
    # then the page explains what is wrong, offers no confirmation, and nothing was written
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert expected in page
    assert "confirm_form" not in response.context
    assert "Traceback" not in page
    assert not Laboratory.objects.exists()


def test_admin_export_of_laboratories_as_csv_lists_their_dpo_contacts(admin_client):
    # given two laboratories
    LaboratoryFactory(code="LAB03", dpo_email="dpo@trois.example")
    LaboratoryFactory(code="LAB04", dpo_email="dpo@quatre.example")
    data = {"format": format_index("export", "CSV"), "resource": 0}
    data.update({f"laboratoryresource_{column}": "on" for column in LABORATORY_COLUMNS})
    # when they are exported from the admin
    response = admin_client.post(reverse("admin:labs_laboratory_export"), data)
    # then the CSV holds one row per laboratory with the DPO contact
    assert response.status_code == 200
    rows = tablib.Dataset().load(response.content.decode("utf-8-sig"), format="csv")
    assert rows.headers[:2] == ["code", "name"]
    assert {row[0] for row in rows} == {"LAB03", "LAB04"}
    assert "dpo@quatre.example" in response.content.decode()
