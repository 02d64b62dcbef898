"""Benchmark: import a 491,839-record synthetic leak into PostgreSQL (issue #2, performance).

    DATABASE_URL=postgres://… .venv/bin/python benchmarks/import_leak.py [--rows 491839] [--seed 2021]
        [--shapes real,legacy]

For each generator shape (default: the real one, about one row per person, then the legacy one, about
2.5 rows per person), generates the file once with `manage.py generate_leak --shape` (reused under
var/bench/ afterwards) and imports it with `patients.services.leak_import` into a fresh breach, each in
a fresh child process (so that each peak RSS is its own), checking the accounting against the
generator's truth. Then imports a 20,000-record slice of the first shape's file through a
django-import-export `ModelResource` with `use_bulk=True` (the baseline) and prints rows/s, seconds,
peak RSS, bytes held per patient and the ratio. The breaches it creates are deleted at the end unless
--keep is given. Targets: ≤ 60 s, ≤ 500 MB, ≥ 10× the baseline.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

import phonenumbers  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.validators import validate_email  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from import_export import fields, resources  # noqa: E402
from stdnum.fr import nir as stdnum_nir  # noqa: E402
from tablib import Dataset  # noqa: E402

from labs.models import Breach, Laboratory  # noqa: E402
from patients.categories import Exposure  # noqa: E402
from patients.classify import classify_comments  # noqa: E402
from patients.models import ExposedRecord, ImportBatch, ImportRejection, Patient  # noqa: E402
from patients.normalize import clean_text, date_key, name_key, nir_mask, parse_date, person_key  # noqa: E402
from patients.selectors import breach_exposure_summary  # noqa: E402
from patients.services import leak_import  # noqa: E402

BASELINE_ROWS = 20_000


class MinimalPatientResource(resources.ModelResource):
    """django-import-export at its cheapest: one Patient per row, no dedup, no normalisation, bulk-inserted.
    Not the same job (its output is wrong: a patient per row); printed as a lower bound of the library's cost."""

    last_name = fields.Field(attribute="last_name", column_name="NOM")
    first_name = fields.Field(attribute="first_name", column_name="PRENOM")
    civility = fields.Field(attribute="civility", column_name="CIVILITE")
    address_line = fields.Field(attribute="address_line", column_name="ADRESSE1")
    postcode = fields.Field(attribute="postcode", column_name="CP")
    city = fields.Field(attribute="city", column_name="VILLE")

    class Meta:
        model = Patient
        fields = ("last_name", "first_name", "civility", "address_line", "postcode", "city")
        import_id_fields = ("last_name",)
        use_bulk = True
        batch_size = 2000
        force_init_instance = True
        skip_diff = True

    def __init__(self, *, breach: Breach) -> None:
        super().__init__()
        self.breach = breach
        self.labs: dict[str, int] = {}

    def import_instance(self, instance, row, **kwargs):
        super().import_instance(instance, row, **kwargs)
        code = row["CODE_LABO"]
        if code not in self.labs:
            self.labs[code] = Laboratory.objects.get_or_create(code=code, defaults={"name": code})[0].pk
        instance.breach = self.breach
        instance.laboratory_id = self.labs[code]
        material = "|".join(row[c] for c in ("NUM_SECU", "DATE_NAISSANCE", "NOM", "PRENOM", "NUM_DOSSIER"))
        instance.person_key = person_key(material, settings.PERSON_KEY_SECRET)
        instance.record_count = 1


class LeakPatientResource(resources.ModelResource):
    """The same job done the idiomatic django-import-export way (the baseline of the target): per row,
    normalise with the libraries (stdnum, phonenumbers, Django's email validator), classify the comments,
    find the patient by `import_id_fields` (one lookup per row), merge, and let `use_bulk=True` insert
    and update in batches. Exposed records are not written: the baseline is favoured, not handicapped."""

    class Meta:
        model = Patient
        fields = (
            "person_key", "last_name", "first_name", "civility", "address_line", "postcode", "city", "email",
            "landline_phone", "mobile_phone", "birth_date", "nir_valid", "nir_masked", "exposure_mask",
            "sensitive_mask", "record_count",
        )  # fmt: skip
        import_id_fields = ("person_key",)
        use_bulk = True
        batch_size = 1000
        skip_diff = True

    def __init__(self, *, breach: Breach) -> None:
        super().__init__()
        self.breach = breach
        self.labs: dict[str, int] = {}
        self.pending: dict[tuple[int, str], Patient] = {}

    def before_import_row(self, row, **kwargs):
        code = row["CODE_LABO"].strip()
        if code not in self.labs:
            self.labs[code] = Laboratory.objects.get_or_create(code=code, defaults={"name": code})[0].pk
        row["_lab_id"] = self.labs[code]
        nir = stdnum_nir.compact(row["NUM_SECU"])
        if nir:
            material = f"nir:{nir}|{date_key(row['DATE_NAISSANCE'])}"
        else:
            material = f"name:{name_key(row['NOM'])}|{name_key(row['PRENOM'])}|{date_key(row['DATE_NAISSANCE'])}"
        row["person_key"] = person_key(material, settings.PERSON_KEY_SECRET)
        row["_nir"] = nir

    def get_instance(self, instance_loader, row):
        key = (row["_lab_id"], row["person_key"])
        if key in self.pending:
            return self.pending[key]
        return Patient.objects.filter(breach=self.breach, laboratory_id=key[0], person_key=key[1]).first()

    def import_instance(self, instance, row, **kwargs):
        if instance.pk is None and not instance.person_key:
            instance.breach = self.breach
            instance.laboratory_id = row["_lab_id"]
            instance.person_key = row["person_key"]
            if row["_nir"]:
                instance.nir_valid = stdnum_nir.is_valid(row["_nir"])
                instance.nir_masked = nir_mask(row["_nir"])
            instance.birth_date = parse_date(row["DATE_NAISSANCE"])
        for attribute, column in (("last_name", "NOM"), ("first_name", "PRENOM"), ("civility", "CIVILITE")):
            if not getattr(instance, attribute):
                setattr(instance, attribute, clean_text(row[column]))
        if not instance.address_line:
            instance.address_line = clean_text(f"{row['ADRESSE1']} {row['ADRESSE2']}")
            instance.postcode, instance.city = row["CP"].strip(), clean_text(row["VILLE"])
        if row["EMAIL"].strip() and not instance.email:
            try:
                validate_email(row["EMAIL"].strip().lower())
                instance.email = row["EMAIL"].strip().lower()
            except ValidationError:
                pass
        for attribute, column in (("landline_phone", "TEL_FIXE"), ("mobile_phone", "TEL_PORTABLE")):
            if row[column].strip() and not getattr(instance, attribute):
                try:
                    number = phonenumbers.parse(row[column], "FR")
                    setattr(
                        instance, attribute, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                    )
                except phonenumbers.NumberParseException:
                    pass
        sensitive = classify_comments([row["COMMENTAIRE"], row["COMMENTAIRE_MEDICAL"]])
        exposure = sum(int(flag) for flag, column in _PRESENCE if row[column].strip())
        instance.exposure_mask |= exposure | (int(Exposure.MEDICAL_COMMENT) if sensitive else 0)
        instance.sensitive_mask |= sensitive
        instance.record_count += 1
        self.pending[(row["_lab_id"], row["person_key"])] = instance

    def save_instance(self, instance, is_create, row, **kwargs):
        if not is_create and instance.pk is None:
            return  # still waiting in this batch's create list, merged in place
        super().save_instance(instance, is_create, row, **kwargs)


_PRESENCE = (
    (Exposure.IDENTITY, "NOM"), (Exposure.BIRTH_DATE, "DATE_NAISSANCE"), (Exposure.NIR, "NUM_SECU"),
    (Exposure.POSTAL_ADDRESS, "ADRESSE1"), (Exposure.EMAIL, "EMAIL"), (Exposure.PHONE, "TEL_FIXE"),
    (Exposure.BLOOD_GROUP, "GROUPE_SANGUIN"), (Exposure.PRESCRIBER, "MEDECIN_PRESCRIPTEUR"),
    (Exposure.INSURER, "ORGANISME"), (Exposure.PORTAL_PASSWORD, "MDP_PORTAIL"), (Exposure.OTHER_ADMIN, "RANG_CPAM"),
)  # fmt: skip


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _leak_file(rows: int, seed: int, shape: str) -> tuple[Path, dict]:
    path = ROOT / "var" / "bench" / f"leak-{rows}-{seed}-{shape}.csv"
    truth_path = path.with_name(path.name + ".truth.json")
    if not truth_path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {path} …", file=sys.stderr, flush=True)
        call_command("generate_leak", str(path), rows=rows, seed=seed, shape=shape, verbosity=0)
    return path, json.loads(truth_path.read_text())


def _baseline_dataset(path: Path, n: int) -> Dataset:
    """The first n well-formed records (tablib needs rectangular data, so broken ones are skipped)."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter=";")
        header = next(reader)
        dataset = Dataset(headers=header)
        for record in reader:
            if len(record) == len(header) and record[0].strip() and (record[4].strip() or record[8].strip()):
                dataset.append(record)
                if len(dataset) >= n:
                    break
    return dataset


def _drop(breach: Breach) -> None:
    """Delete a benchmark breach quickly (raw deletes: the ORM would collect 700k objects first)."""
    with connection.cursor() as cursor:
        for model, where in (
            (ExposedRecord, "batch_id IN (SELECT id FROM patients_importbatch WHERE breach_id = %s)"),
            (ImportRejection, "batch_id IN (SELECT id FROM patients_importbatch WHERE breach_id = %s)"),
            (Patient, "breach_id = %s"),
            (ImportBatch, "breach_id = %s"),
        ):
            cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE {where}", [breach.pk])  # noqa: S608
    breach.delete()


def import_once(rows: int, seed: int, shape: str, keep: bool) -> dict:
    """One import of one shape's file in this process: its figures (run in a child by `main`)."""
    path, truth = _leak_file(rows, seed, shape)
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    breach = Breach.objects.create(slug=f"bench-{stamp}-{shape}", title="benchmark", aware_at=timezone.now())
    try:
        load = os.getloadavg()
        rss_before = _peak_rss_mb()
        cpu_before = time.process_time()
        started = time.perf_counter()
        result = leak_import(path=path, breach=breach, allow_new_laboratories=True)
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu_before
        rss_peak = _peak_rss_mb()
        batch = result.batch
        summary = breach_exposure_summary(breach=breach)
        exact = (batch.rows_read, batch.rows_accepted, batch.rows_rejected, summary["patients"]) == (
            truth["rows"],
            truth["accepted"],
            truth["rejected"],
            truth["patients"],
        ) and summary["patients_by_lab"] == truth["patients_by_lab"]
    finally:
        if not keep:
            _drop(breach)
    return {
        "shape": shape,
        "file": str(path.relative_to(ROOT)),
        "load_avg_1_5_15": [round(x, 2) for x in load],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        "rows": batch.rows_read,
        "accepted": batch.rows_accepted,
        "rejected": batch.rows_rejected,
        "patients": summary["patients"],
        "exact_against_truth": exact,
        "seconds": round(seconds, 2),
        "python_cpu_seconds": round(cpu, 2),
        "rows_per_second": round(batch.rows_read / seconds),
        "peak_rss_mb": round(rss_peak, 1),
        "rss_before_import_mb": round(rss_before, 1),
        # An upper bound of what the import holds per patient: the peak's growth over the start, all of
        # it charged to the patients (COPY buffers and caches included).
        "bytes_per_patient_at_peak": round((rss_peak - rss_before) * 1024 * 1024 / max(summary["patients"], 1)),
    }


def baseline(path: Path) -> dict:
    """The two django-import-export resources on the first BASELINE_ROWS well-formed records of `path`."""
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    baseline_breach = Breach.objects.create(slug=f"bench-{stamp}-baseline", title="baseline", aware_at=timezone.now())
    minimal_breach = Breach.objects.create(slug=f"bench-{stamp}-minimal", title="minimal", aware_at=timezone.now())
    try:
        dataset = _baseline_dataset(path, BASELINE_ROWS)
        dataset.append_col([""] * len(dataset), header="person_key")
        baseline_started = time.perf_counter()
        outcome = LeakPatientResource(breach=baseline_breach).import_data(dataset, dry_run=False, raise_errors=True)
        baseline_seconds = time.perf_counter() - baseline_started
        assert not outcome.has_errors()
        baseline_patients = Patient.objects.filter(breach=baseline_breach).count()
        minimal_started = time.perf_counter()
        MinimalPatientResource(breach=minimal_breach).import_data(dataset, dry_run=False, raise_errors=True)
        minimal_seconds = time.perf_counter() - minimal_started
    finally:
        _drop(baseline_breach)
        _drop(minimal_breach)
    return {
        "baseline_file": str(path.relative_to(ROOT)),
        "baseline_rows": len(dataset),
        "baseline_seconds": round(baseline_seconds, 2),
        "baseline_rows_per_second": round(len(dataset) / baseline_seconds),
        "baseline_patients": baseline_patients,
        "minimal_baseline_rows_per_second": round(len(dataset) / minimal_seconds),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=491_839)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--shapes", default="real,legacy", help="generator shapes to import, in order")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark breaches and their rows")
    parser.add_argument("--one", metavar="SHAPE", help=argparse.SUPPRESS)  # the child process's job
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("warning: not PostgreSQL (set DATABASE_URL): the figures are not the target's", file=sys.stderr)
    if args.one:
        print(json.dumps(import_once(args.rows, args.seed, args.one, args.keep)))
        return 0

    call_command("migrate", verbosity=0)  # a fresh benchmark database: the schema first, outside the measure
    shapes = [shape.strip() for shape in args.shapes.split(",") if shape.strip()]
    runs = []
    for shape in shapes:
        _leak_file(args.rows, args.seed, shape)  # generated outside the measured child
        command = [sys.executable, __file__, "--rows", str(args.rows), "--seed", str(args.seed), "--one", shape]
        if args.keep:
            command.append("--keep")
        child = subprocess.run(command, capture_output=True, text=True)  # noqa: S603
        if child.returncode != 0:  # the child's own error, not a CalledProcessError traceback
            print(f"import of the {shape} file failed:\n{child.stderr.strip()[-2000:]}", file=sys.stderr)
            return 1
        runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
        print(json.dumps(runs[-1], indent=2), flush=True)
    figures = baseline(ROOT / runs[0]["file"])
    for run in runs:
        run["ratio"] = round(run["rows_per_second"] / figures["baseline_rows_per_second"], 1)
        run["ratio_to_minimal"] = round(run["rows_per_second"] / figures["minimal_baseline_rows_per_second"], 1)
    print(json.dumps({"database": connection.vendor, **figures, "imports": runs}, indent=2))
    ok = True
    for run in runs:
        met = run["exact_against_truth"] and run["seconds"] <= 60 and run["peak_rss_mb"] <= 500 and run["ratio"] >= 10
        ok = ok and run["exact_against_truth"]
        print(
            f"{run['shape']:7} {run['rows']:,} rows, {run['patients']:,} patients: {run['seconds']} s, "
            f"{run['peak_rss_mb']} MB peak, {run['bytes_per_patient_at_peak']} B/patient, {run['ratio']}× baseline "
            f"— targets (≤ 60 s, ≤ 500 MB, ≥ 10×, exact): {'met' if met else 'NOT met'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
