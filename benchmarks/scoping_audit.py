"""Cost of laboratory scoping + the audit trail on the admin, and of the reminder beat, on PostgreSQL.

    .venv/bin/python benchmarks/scoping_audit.py [--patients 100000] [--labs 27] [--requests 40]

Builds (once; reused later) a PostgreSQL database `notifier_bench_filings` with `--labs` laboratories and
`--patients` patients spread over them, plus one Art. 33 case file per laboratory. Then, in this process:
  - admin patient list (page 1, 100 rows) as the DPO of one laboratory (scoped by `labs.access`, each view
    audited) against the same page as a superuser (no scoping filter; also audited): ms per request, ratio;
  - a patient change page as the DPO (scoped get_object + one audit row) against the superuser;
  - `audit_record()` against a bare `AuditEvent.objects.create()` of the same row: µs per event, ratio;
  - the reminder beat (`deadline_reminders_send`) over every open case file, first run and re-run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "notifier_bench_filings"


def _setup_django() -> None:
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone():
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _populate(patients: int, labs: int) -> None:
    from django.utils import timezone

    from labs.models import Breach, BreachLaboratory, Laboratory
    from patients.models import Patient

    if Patient.objects.count() >= patients:
        return
    breach, _ = Breach.objects.get_or_create(
        slug="bench", defaults={"title": "Fuite (bench)", "aware_at": timezone.now() - dt.timedelta(hours=60)}
    )
    lab_objs = [
        Laboratory.objects.get_or_create(code=f"BENCH{i:02d}", defaults={"name": f"Laboratoire {i}"})[0]
        for i in range(labs)
    ]
    start = Patient.objects.count()
    batch = []
    for n in range(start, patients):
        batch.append(
            Patient(
                breach=breach,
                laboratory=lab_objs[n % labs],
                person_key=f"{n:064x}",
                first_name=f"Prénom{n % 997}",
                last_name=f"NOM{n % 4999}",
                birth_date=dt.date(1950 + n % 60, 1 + n % 12, 1 + n % 28),
                exposure_mask=7,
                record_count=1,
            )
        )
        if len(batch) == 10_000:
            Patient.objects.bulk_create(batch)
            batch = []
    Patient.objects.bulk_create(batch)
    for lab in lab_objs:
        BreachLaboratory.objects.get_or_create(breach=breach, laboratory=lab, defaults={"aware_at": breach.aware_at})


def _users():
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from labs import access
    from labs.models import Laboratory

    model = get_user_model()
    superuser, _ = model.objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    dpo, _ = model.objects.get_or_create(username="bench-dpo", defaults={"is_staff": True})
    dpo.groups.add(access.roles_ensure()[access.DPO])
    access.memberships_set(user=dpo, laboratories=[Laboratory.objects.get(code="BENCH05")])
    for user in (superuser, dpo):
        TOTPDevice.objects.get_or_create(user=user, name="bench", defaults={"confirmed": True})
    return superuser, dpo


def _client(user):
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = user.totpdevice_set.get().persistent_id
    session.save()
    return client


def _time_get(client, url: str, requests: int) -> float:
    assert client.get(url).status_code == 200, url  # warm-up and sanity
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--labs", type=int, default=27)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    _setup_django()
    from django.test.utils import setup_test_environment

    setup_test_environment()  # ALLOWED_HOSTS testserver, locmem email
    from django.urls import reverse

    from labs.audit import AuditEvent, audit_record
    from labs.models import Laboratory
    from labs.services import deadline_reminders_send
    from patients.models import Patient

    t0 = time.perf_counter()
    _populate(args.patients, args.labs)
    print(f"data: {Patient.objects.count():,} patients over {Laboratory.objects.count()} labs "
          f"(ready in {time.perf_counter() - t0:.1f} s); load {os.getloadavg()[0]:.1f}")  # fmt: skip
    superuser, dpo = _users()
    as_admin, as_dpo = _client(superuser), _client(dpo)

    listing = reverse("admin:patients_patient_changelist")
    base = _time_get(as_admin, listing, args.requests)
    scoped = _time_get(as_dpo, listing, args.requests)
    print(
        f"patient list page: superuser {base:.1f} ms, DPO (scoped + audited) {scoped:.1f} ms, ratio {scoped / base:.2f}"
    )

    patient = Patient.objects.filter(laboratory__code="BENCH05").order_by("pk").first()
    change = reverse("admin:patients_patient_change", args=[patient.pk])
    base = _time_get(as_admin, change, args.requests)
    scoped = _time_get(as_dpo, change, args.requests)
    print(f"patient page: superuser {base:.1f} ms, DPO {scoped:.1f} ms, ratio {scoped / base:.2f}")

    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        AuditEvent.objects.create(actor=dpo, actor_username="bench-dpo", role="DPO", action="view",
                                  object_type="patients.patient", object_id=str(patient.pk), laboratory=patient.laboratory)  # fmt: skip
    bare = (time.perf_counter() - start) / n * 1e6
    start = time.perf_counter()
    for _ in range(n):
        audit_record(actor=dpo, action="view", obj=patient)
    service = (time.perf_counter() - start) / n * 1e6
    print(f"audit event: bare insert {bare:.0f} µs, audit_record {service:.0f} µs, ratio {service / bare:.2f}")

    now = dt.datetime.now(dt.UTC)
    start = time.perf_counter()
    first = deadline_reminders_send(now=now)
    first_s = time.perf_counter() - start
    start = time.perf_counter()
    again = deadline_reminders_send(now=now)
    again_s = time.perf_counter() - start
    print(f"reminder beat over {args.labs} open case files: first run {first} sent in {first_s * 1000:.0f} ms, "
          f"re-run {again} sent in {again_s * 1000:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
