"""The importer against the generator's own truth, on PostgreSQL (the COPY path)."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from patients.models import ExposedRecord, ImportRejection, Patient
from patients.selectors import breach_exposure_summary
from patients.services import leak_import
from tests.factories import BreachFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def leak_50k(tmp_path_factory):
    """A 50,000-record synthetic leak (cp1252, comma-separated: the harder shape) and its truth."""
    path = tmp_path_factory.mktemp("leak") / "leak.csv"
    call_command("generate_leak", str(path), rows=50_000, seed=11, encoding="cp1252", delimiter=",", verbosity=0)
    truth = json.loads(path.with_name(path.name + ".truth.json").read_text())
    return path, truth


def test_a_50000_record_leak_imports_with_exactly_the_generators_accounting(leak_50k, tmp_path):
    # given the generated file and its truth
    path, truth = leak_50k
    breach = BreachFactory(slug="leak-50k")
    # when imported
    result = leak_import(path=path, breach=breach, allow_new_laboratories=True, rejects_path=tmp_path / "rejects.csv")
    # then every record is accounted for as the generator says
    batch = result.batch
    assert (result.source.encoding, result.source.delimiter) == ("cp1252", ",")
    assert (batch.rows_read, batch.rows_accepted, batch.rows_rejected) == (
        truth["rows"],
        truth["accepted"],
        truth["rejected"],
    )
    assert ExposedRecord.objects.filter(batch=batch).count() == truth["accepted"]
    assert ImportRejection.objects.filter(batch=batch).count() == truth["rejected"]
    # and the patients, per laboratory, class and channel, are the generator's
    summary = breach_exposure_summary(breach=breach)
    for key in (
        "patients",
        "patients_by_lab",
        "laboratories",
        "patients_with_email",
        "patients_with_nir_exposed",
        "patients_with_password_exposed",
    ):
        assert summary[key] == truth[key], key
    expected_sensitive = {name: n for name, n in truth["sensitive_patients"].items() if n}
    assert {name: n for name, n in summary["sensitive_patients"].items() if n} == expected_sensitive
    assert sum(Patient.objects.filter(breach=breach).values_list("record_count", flat=True)) == truth["accepted"]


def test_small_generations_split_persons_and_the_accounting_stays_exact(leak_50k, tmp_path, monkeypatch):
    # given generations of 1,000 records: the generator's persons (rows shuffled within 20,000) are written
    # before their last rows are read, which then update the written patients
    from patients import services

    monkeypatch.setattr(services, "GENERATION_RECORDS", 1_000)
    path, truth = leak_50k
    breach = BreachFactory(slug="leak-50k-generations")
    # when imported
    result = leak_import(path=path, breach=breach, allow_new_laboratories=True)
    # then the patients and their record counts are still exactly the generator's
    assert result.batch.patients_created == truth["patients"]
    summary = breach_exposure_summary(breach=breach)
    for key in ("patients", "patients_by_lab", "patients_with_email", "patients_with_nir_exposed"):
        assert summary[key] == truth[key], key
    counts = Patient.objects.filter(breach=breach).values_list("record_count", flat=True)
    assert sum(counts) == truth["accepted"] == ExposedRecord.objects.filter(batch=result.batch).count()
    assert max(counts) > 1


def test_importing_the_50000_record_leak_again_is_a_no_op(leak_50k, tmp_path):
    # given the file imported once
    path, truth = leak_50k
    breach = BreachFactory(slug="leak-50k-twice")
    first = leak_import(path=path, breach=breach, allow_new_laboratories=True, rejects_path=tmp_path / "rejects.csv")
    counts = (Patient.objects.count(), ExposedRecord.objects.count(), ImportRejection.objects.count())
    # when imported again
    second = leak_import(path=path, breach=breach, allow_new_laboratories=True, rejects_path=tmp_path / "rejects2.csv")
    # then nothing changed
    assert (first.already_imported, second.already_imported) == (False, True)
    assert (Patient.objects.count(), ExposedRecord.objects.count(), ImportRejection.objects.count()) == counts
    assert counts[0] == truth["patients"]
    assert not (tmp_path / "rejects2.csv").exists()


def test_a_failed_postgresql_import_rolls_back_and_runs_again(leak_50k, tmp_path, monkeypatch):
    # given an import whose writer thread fails on its second generation of patients, after the first
    # generation's patients and records were copied
    from patients import services

    path, truth = leak_50k
    breach = BreachFactory(slug="leak-50k-failed")
    copied = []
    real_copy = services._PostgresWriter._copy

    def failing_copy(self, model, columns, text):
        if model is Patient and text and len(copied) == 1:
            raise RuntimeError("connection lost")
        real_copy(self, model, columns, text)
        if model is Patient and text:
            copied.append(text.count("\n"))

    monkeypatch.setattr(services, "GENERATION_RECORDS", 10_000)
    monkeypatch.setattr(services._PostgresWriter, "_copy", failing_copy)
    with pytest.raises(RuntimeError, match="connection lost"):
        leak_import(path=path, breach=breach, allow_new_laboratories=True)
    assert copied and copied[0] > 5_000
    # then nothing of it remains but the failed batch
    assert not ExposedRecord.objects.filter(batch__breach=breach).exists()
    assert breach.import_batches.get().status == "failed"
    # when run again
    monkeypatch.undo()
    result = leak_import(path=path, breach=breach, allow_new_laboratories=True)
    # then it completes
    assert result.batch.rows_accepted == truth["accepted"]
    assert Patient.objects.filter(breach=breach).count() == truth["patients"]
