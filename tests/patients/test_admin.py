"""The patients admin: imports with their rejections, read-only patients and records, the summary export."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from labs.models import AuditEvent, Breach
from patients.categories import Exposure, Sensitive
from patients.models import ExposedRecord, ImportBatch, Patient
from patients.resources import SUMMARY_COLUMNS
from tests.factories import BreachFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(tmp_path) -> dict:
    """A small synthetic leak imported for real (generator → importer); returns the NIRs it held."""
    leak = tmp_path / "leak.csv"
    call_command(
        "generate_leak", str(leak), "--rows", "400", "--labs", "2", "--seed", "11", "--json", stdout=io.StringIO()
    )
    with leak.open("a", encoding="utf-8") as handle:
        handle.write("LAB01;une ligne tronquée\n")  # at least one rejection, whatever the seed drew
    call_command(
        "create_breach",
        "fuite-test",
        "--title",
        "Fuite test",
        "--aware-at",
        "2021-02-23T09:00+01:00",
        stdout=io.StringIO(),
    )
    call_command(
        "import_leak", str(leak), "--breach", "fuite-test", "--allow-new-laboratories", "--json", stdout=io.StringIO()
    )
    with leak.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    nirs = {re.sub(r"[ .]", "", row["NUM_SECU"] or "") for row in rows} - {""}
    return {"breach": Breach.objects.get(slug="fuite-test"), "nirs": nirs}


def export_data(resource_prefix: str = "patientsummaryresource", fmt: str = "CSV") -> dict:
    formats = [f.__name__ for f in admin.site._registry[Patient].get_export_formats()]
    data = {"format": formats.index(fmt), "resource": 0}
    data.update({f"{resource_prefix}_{column}": "on" for column in SUMMARY_COLUMNS})
    return data


def test_admin_pages_render_for_a_superuser_with_imported_data(admin_client, imported):
    # given an imported leak
    patient = Patient.objects.filter(breach=imported["breach"]).first()
    batch = ImportBatch.objects.get(breach=imported["breach"])
    record = ExposedRecord.objects.filter(batch=batch).first()
    # when a superuser opens every list and detail page
    urls = [
        reverse("admin:patients_patient_changelist"),
        reverse("admin:patients_patient_change", args=[patient.pk]),
        reverse("admin:patients_patient_export"),
        reverse("admin:patients_importbatch_changelist"),
        reverse("admin:patients_importbatch_change", args=[batch.pk]),
        reverse("admin:patients_exposedrecord_changelist"),
        reverse("admin:patients_exposedrecord_change", args=[record.pk]),
    ]
    # then each renders
    for url in urls:
        assert admin_client.get(url).status_code == 200, url


def test_patient_list_shows_exposure_categories_and_channels_as_words(admin_client):
    # given a patient whose NIR, email and a medical comment leaked
    PatientFactory(
        last_name="Kerhervé",
        email="k@example.org",
        mobile_phone="+33639981234",
        landline_phone="",
        exposure_mask=int(Exposure.IDENTITY | Exposure.NIR | Exposure.MEDICAL_COMMENT),
        sensitive_mask=int(Sensitive.HIV),
    )
    # when the list is shown
    page = html.unescape(admin_client.get(reverse("admin:patients_patient_changelist")).content.decode())
    # then categories and channels read as words
    assert "identité, NIR, commentaire médical" in page
    assert "courrier, courriel, SMS" in page


def test_import_batch_page_shows_counts_and_its_rejections(admin_client, imported):
    # given the batch of an import that rejected broken records
    batch = ImportBatch.objects.get(breach=imported["breach"])
    rejection = batch.rejections.first()
    assert rejection is not None
    # when its page is opened
    page = html.unescape(
        admin_client.get(reverse("admin:patients_importbatch_change", args=[batch.pk])).content.decode()
    )
    # then the accounting and each rejection's position and reason are there, read-only
    assert f"{batch.rows_read} = {batch.rows_accepted} + {batch.rows_rejected}" in page
    assert rejection.get_reason_display() in page and rejection.message in page
    assert 'name="rejections-0-reason"' not in page


def test_search_finds_patients_by_name_and_by_birth_date(admin_client):
    # given two patients with different names and birth dates
    alice = PatientFactory(last_name="Le Bihan", first_name="Alice", birth_date=dt.date(1970, 5, 17))
    PatientFactory(last_name="Morvan", first_name="Yann", birth_date=dt.date(1985, 1, 2))
    url = reverse("admin:patients_patient_changelist")
    # when searching by name, by birth date in both formats, and by an impossible date
    by_name = admin_client.get(url, {"q": "bihan"}).context["cl"].queryset
    by_date = admin_client.get(url, {"q": "17/05/1970"}).context["cl"].queryset
    by_iso = admin_client.get(url, {"q": "Alice 1970-05-17"}).context["cl"].queryset
    impossible = admin_client.get(url, {"q": "31/02/1970"}).context["cl"].queryset
    # then only the matching patient comes back
    assert list(by_name) == [alice]
    assert list(by_date) == [alice]
    assert list(by_iso) == [alice]
    assert not impossible.exists()


def test_filters_by_email_sensitivity_and_minority(admin_client):
    # given patients with and without email, health comment, minority
    with_email = PatientFactory(email="a@example.org", sensitive_mask=int(Sensitive.CANCER))
    minor = PatientFactory(email="", is_minor=True)
    url = reverse("admin:patients_patient_changelist")

    def listed(params: dict) -> set[Patient]:
        return set(admin_client.get(url, params).context["cl"].queryset)

    # then each filter keeps the right patients
    assert listed({"has_email": "yes"}) == {with_email}
    assert listed({"has_email": "no"}) == {minor}
    assert listed({"sensitive": "yes"}) == {with_email}
    assert listed({"sensitive": "no"}) == {minor}
    assert listed({"is_minor__exact": "1"}) == {minor}


def test_patients_and_records_are_read_only_in_the_admin(admin_client):
    # given a patient
    patient = PatientFactory(last_name="Guillou")
    change_url = reverse("admin:patients_patient_change", args=[patient.pk])
    # when a superuser tries to add, change or delete through the admin
    add = admin_client.get(reverse("admin:patients_patient_add"))
    change = admin_client.post(change_url, {"last_name": "Autre"})
    delete = admin_client.get(reverse("admin:patients_patient_delete", args=[patient.pk]))
    # then nothing is allowed and nothing changed
    assert add.status_code == 403 and change.status_code == 403 and delete.status_code == 403
    patient.refresh_from_db()
    assert patient.last_name == "Guillou"
    assert 'name="last_name"' not in admin_client.get(change_url).content.decode()


def test_summary_export_and_patient_pages_never_contain_a_nir(admin_client, imported):
    # given an imported leak whose NIRs we know
    nirs = imported["nirs"]
    assert nirs
    # when the patient summary is exported as CSV and a patient page is opened
    response = admin_client.post(reverse("admin:patients_patient_export"), export_data())
    patient = Patient.objects.exclude(nir_masked="").first()
    page = admin_client.get(reverse("admin:patients_patient_change", args=[patient.pk])).content.decode()
    # then neither holds any NIR (nor its first 13 characters), only masked forms
    assert response.status_code == 200
    exported = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert len(rows) == Patient.objects.count()
    for nir in nirs:
        assert nir[:13] not in exported and nir[:13] not in page
    assert not re.search(r"\d{13}", exported.replace(" ", "").replace(".", ""))
    assert patient.nir_masked and patient.nir_masked in html.unescape(page)
    assert patient.person_key not in page
    assert {row["laboratoire"] for row in rows} == {"LAB01", "LAB02"}
    assert all(row["données exposées"].startswith("identité") for row in rows)


def test_summary_export_as_xlsx_is_a_spreadsheet(admin_client):
    # given a patient
    PatientFactory(last_name="Tanguy")
    # when exported as XLSX
    response = admin_client.post(reverse("admin:patients_patient_export"), export_data(fmt="XLSX"))
    # then a workbook comes back
    assert response.status_code == 200
    assert response.content[:2] == b"PK"


def test_a_dpo_sees_and_exports_only_their_laboratory(client, login_verified, dpo_lab_a, lab_a, lab_b):
    # given patients at two laboratories
    breach = BreachFactory()
    mine = PatientFactory(breach=breach, laboratory=lab_a, last_name="Danielou")
    PatientFactory(breach=breach, laboratory=lab_b, last_name="Quéré")
    login_verified(client, dpo_lab_a)
    # when the DPO of lab A lists and exports patients
    listed = set(client.get(reverse("admin:patients_patient_changelist")).context["cl"].queryset)
    exported = client.post(reverse("admin:patients_patient_export"), export_data()).content.decode("utf-8-sig")
    other = Patient.objects.get(last_name="Quéré")
    # then only lab A's patient is visible, exported, or reachable by URL
    assert listed == {mine}
    assert "Danielou" in exported and "Quéré" not in exported
    assert AuditEvent.objects.filter(
        actor_username=dpo_lab_a.username, action=AuditEvent.Action.EXPORT, object_type="patients.patient"
    ).exists()
    assert client.get(reverse("admin:patients_patient_change", args=[other.pk])).status_code == 404


def test_the_cnil_liaison_cannot_list_or_export_patients(client, login_verified, cnil_liaison):
    # given a patient and the CNIL liaison logged in
    PatientFactory()
    login_verified(client, cnil_liaison)
    # when they try the patient list and the export
    listing = client.get(reverse("admin:patients_patient_changelist"))
    export = client.post(reverse("admin:patients_patient_export"), export_data())
    # then both are refused
    assert listing.status_code == 403
    assert export.status_code == 403


def test_a_dpo_sees_the_import_batches_that_touched_their_laboratory_only(
    client, login_verified, dpo_lab_a, lab_a, lab_b
):
    # given two batches, each with a record at a different laboratory
    breach = BreachFactory()
    batches = {}
    for lab, name in ((lab_a, "a.csv"), (lab_b, "b.csv")):
        batch = ImportBatch.objects.create(breach=breach, file_name=name, sha256=name * 8, status="succeeded")
        patient = PatientFactory(breach=breach, laboratory=lab)
        ExposedRecord.objects.create(patient=patient, batch=batch, record_number=1)
        batches[name] = batch
    login_verified(client, dpo_lab_a)
    # when the DPO of lab A lists the imports
    listed = set(client.get(reverse("admin:patients_importbatch_changelist")).context["cl"].queryset)
    # then only the batch that holds lab A's records is there
    assert listed == {batches["a.csv"]}
    assert client.get(reverse("admin:patients_importbatch_change", args=[batches["b.csv"].pk])).status_code == 404
