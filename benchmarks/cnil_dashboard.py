"""CNIL-dashboard benchmark: 500,000 patients in PostgreSQL, the page's server time vs a per-row baseline.

    createdb -h 127.0.0.1 -U postgres notifier_dashboards   # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/notifier_dashboards \\
        .venv/bin/python benchmarks/cnil_dashboard.py [--patients 500000] [--labs 27] [--runs 15] [--reset]

Loads synthetic rows with COPY (patients, then ~1.3 notifications each: every patient a letter, a third
also an email, statuses spread across delivered/sent/returned/bounced/unreachable/pending), 27 case files
with filings in every state, one campaign per laboratory. Re-running reuses the data (--reset reloads).
Then, in the same process:
- the CNIL page: GET /cnil/ through the Django test client as a verified liaison (view + aggregates +
  template), median and p95 of --runs runs after one warm-up — target ≤ 200 ms;
- `cnil.cnil_rows()` alone (the queries);
- the baseline: the same figures computed naively, iterating every patient and notification row in
  Python (what a first version without GROUP BY would do).
Prints each time and the ratio. Not a test: the machine is shared, note `uptime` with the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

BREACH_SLUG = "bench-cnil-dashboard"
AWARE = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def _copy(cursor, model, columns: list[str], rows) -> None:
    """COPY rows (tuples in `columns` order) into the model's table, in text format."""
    table = model._meta.db_table
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    with cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def load(*, patients: int, labs: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from labs.models import Breach, BreachLaboratory, CnilFiling, Laboratory, PublicCommunication
    from notifier.models import Campaign, Notification
    from patients.models import Patient

    t0 = time.perf_counter()
    author, _ = get_user_model().objects.get_or_create(username="bench-author", defaults={"is_staff": True})
    breach = Breach.objects.create(slug=BREACH_SLUG, title="Fuite de benchmark", aware_at=AWARE)
    now = dt.datetime.now(dt.UTC)
    laboratories = [
        Laboratory.objects.get_or_create(code=f"BENCH{n:02d}", defaults={"name": f"Laboratoire de test n°{n}"})[0]
        for n in range(1, labs + 1)
    ]
    for i, lab in enumerate(laboratories):
        # Case files in every state: on time, late, missing (deadline past), not required, pending.
        aware = now - dt.timedelta(hours=10) if i % 5 == 4 else AWARE
        cf = BreachLaboratory.objects.create(
            breach=breach, laboratory=lab, aware_at=aware, high_risk="yes" if i % 3 else "undecided",
            cnil_decision="not_notify" if i % 5 == 3 else "undecided",
        )  # fmt: skip
        if i % 7 == 6:
            PublicCommunication.objects.create(
                case_file=cf, published_at=now, medium="press", where="Ouest-France", text="Avis", figures={}
            )
        if i % 5 in (0, 1):
            late = i % 5 == 1
            submitted = AWARE + dt.timedelta(hours=90 if late else 40)
            CnilFiling.objects.create(
                case_file=cf, sequence=1, kind="initial", submitted_at=submitted, late=late,
                delay_reasons="retard" if late else "", snapshot={},
            )  # fmt: skip
            BreachLaboratory.objects.filter(pk=cf.pk).update(first_filed_at=submitted, filed_late=late)
            if i % 2:
                CnilFiling.objects.create(
                    case_file=cf, sequence=2, kind="complementary", submitted_at=submitted + dt.timedelta(days=3),
                    late=False, snapshot={},
                )  # fmt: skip
    campaigns = {
        lab.pk: Campaign.objects.create(
            breach=breach, laboratory=lab, name="Bench", created_by=author, status=Campaign.Status.RUNNING
        ).pk
        for lab in laboratories
    }
    # Laboratory sizes: uneven, like the real leak (a few big laboratories, several small ones).
    weights = [1 + (i * 7) % 13 for i in range(labs)]
    weights[-1] = 0.0005  # one laboratory with a handful of patients: its counts show "< 10"
    total_w = sum(weights)
    sizes = [int(patients * w / total_w) for w in weights]
    sizes[0] += patients - sum(sizes)

    p_fields = [f for f in Patient._meta.concrete_fields if not f.primary_key]
    p_columns = [f.column for f in p_fields]
    fixed = {
        "created_at": now, "updated_at": now, "breach_id": breach.pk, "civility": "Mme", "first_name": "Prénom",
        "last_name": "Nom", "address_line": "1 rue du Test", "postcode": "35000", "city": "Rennes",
        "data_issues": "[]", "record_count": 1, "exposure_mask": 31, "nir_masked": "2 70 •• •• ••• ••• 42",
    }  # fmt: skip

    def patient_rows():
        n = 0
        for lab, size in zip(laboratories, sizes, strict=True):
            for _ in range(size):
                n += 1
                values = {**fixed, "laboratory_id": lab.pk, "person_key": f"{n:064x}"}
                yield tuple(
                    values[f.attname]
                    if f.attname in values
                    else (json.dumps(f.get_default()) if f.get_internal_type() == "JSONField" else f.get_default())
                    for f in p_fields
                )

    with transaction.atomic(), connection.cursor() as cursor:
        _copy(cursor, Patient, p_columns, patient_rows())
        print(f"  patients copied: {patients:,} in {time.perf_counter() - t0:.1f} s", flush=True)
        cursor.execute(
            f"SELECT id, laboratory_id FROM {Patient._meta.db_table} WHERE breach_id = %s ORDER BY id", [breach.pk]
        )
        ids = cursor.fetchall()
        n_fields = [f for f in Notification._meta.concrete_fields if not f.primary_key]
        n_columns = [f.column for f in n_fields]
        post_cycle = ["delivered", "sent", "sent", "sent", "returned", "sent", "delivered", "pending", "sent", "sent",
                      "unreachable", "sent", "returned", "delivered", "sent", "sent", "sent", "sent", "queued", "sent"]  # fmt: skip
        mail_cycle = ["delivered", "delivered", "bounced", "delivered", "sent", "delivered", "failed"]

        def notification_rows():
            for k, (patient_id, lab_id) in enumerate(ids):
                campaign_id = campaigns[lab_id]
                channels = [("post", post_cycle[k % len(post_cycle)])]
                if k % 3 == 0:
                    channels.append(("email", mail_cycle[k % len(mail_cycle)]))
                for channel, status in channels:
                    sent = status not in ("pending", "queued", "unreachable")
                    at = AWARE + dt.timedelta(hours=20 + k % 200)
                    values = {
                        "created_at": now, "updated_at": now, "campaign_id": campaign_id, "patient_id": patient_id,
                        "channel": channel, "status": status, "reference": f"B{campaign_id}-{patient_id}-{channel[0]}",
                        "code_digest": f"{patient_id:064x}", "language": "fr", "is_fallback": False, "attempts": 1,
                        "last_error": "", "provider_message_id": "", "print_batch_id": None, "queued_at": None,
                        "sending_at": None, "sent_at": at if sent else None,
                        "final_at": at if status not in ("pending", "queued", "sent") else None,
                    }  # fmt: skip
                    yield tuple(values[f.attname] for f in n_fields)

        _copy(cursor, Notification, n_columns, notification_rows())
    with connection.cursor() as cursor:  # outside the transaction: VACUUM sets the visibility map (index-only scans)
        cursor.execute(f"VACUUM ANALYZE {Patient._meta.db_table}, {Notification._meta.db_table}")
    print(f"  loaded in {time.perf_counter() - t0:.1f} s", flush=True)


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} ({os.cpu_count()} cores)"


def naive_rows() -> dict:
    """The baseline: every patient and notification row brought into Python and counted there."""
    from labs.models import BreachLaboratory
    from notifier.models import Campaign, Notification
    from patients.models import Patient

    out: dict = {"patients": defaultdict(int), "status": defaultdict(lambda: defaultdict(int))}
    for patient in Patient.objects.all().iterator(chunk_size=5000):
        out["patients"][(patient.breach_id, patient.laboratory_id)] += 1
    campaign_case = dict(Campaign.objects.values_list("pk", "laboratory_id"))
    failed = set(Notification.UNREACHED)
    per_patient: dict[tuple[int, int], bool] = {}
    for n in Notification.objects.all().iterator(chunk_size=5000):
        key = campaign_case[n.campaign_id]
        out["status"][key][n.status] += 1
        reached = per_patient.get((n.campaign_id, n.patient_id), False)
        per_patient[(n.campaign_id, n.patient_id)] = reached or n.status not in failed
    unreachable: dict[int, int] = defaultdict(int)
    for (campaign_id, _patient), reached in per_patient.items():
        unreachable[campaign_case[campaign_id]] += not reached
    out["unreachable"] = unreachable
    for cf in BreachLaboratory.objects.all():
        cf.filings.count()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=500_000)
    parser.add_argument("--labs", type=int, default=27)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--reset", action="store_true", help="delete the benchmark's rows and load them again")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        sys.exit("Set DATABASE_URL=postgres://…/notifier_dashboards: this benchmark measures PostgreSQL.")
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    call_command("migrate", verbosity=0)
    from dashboards import cnil
    from labs import access
    from labs.models import Breach
    from patients.models import Patient
    from tests.access_fixtures import login_verified, make_staff

    existing = Patient.objects.filter(breach__slug=BREACH_SLUG).count()
    if args.reset or existing != args.patients:
        if existing or Breach.objects.filter(slug=BREACH_SLUG).exists():
            with connection.cursor() as cursor:  # a benchmark database: wipe the data tables, keep the schema
                cursor.execute("TRUNCATE labs_breach CASCADE")  # patients, case files, campaigns, notifications…
        print(f"loading {args.patients:,} patients into {settings.DATABASES['default']['NAME']} …", flush=True)
        load(patients=args.patients, labs=args.labs)

    from django.contrib.auth import get_user_model

    liaison = get_user_model().objects.filter(username="bench-liaison").first() or make_staff(
        "bench-liaison", role=access.CNIL_LIAISON
    )
    client = login_verified(Client(), liaison)
    from notifier.models import Notification

    print(_load())
    print(f"rows: {Patient.objects.count():,} patients, {Notification.objects.count():,} notifications")

    response = client.get("/cnil/")  # warm-up (connection, templates)
    assert response.status_code == 200, response.status_code
    assert b"&lt; 10" in response.content

    def timed(fn) -> list[float]:
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        return times

    def cold_page():
        cache.delete(cnil.CNIL_COUNTS_CACHE_KEY)  # every count aggregated in the database, now
        assert client.get("/cnil/").status_code == 200

    def warm_page():
        assert client.get("/cnil/").status_code == 200

    cold = timed(cold_page)
    cnil.cnil_counts_cached(refresh=True)
    warm = timed(warm_page)
    with CaptureQueriesContext(connection) as queries:
        cnil.cnil_counts()
    counts_times = timed(cnil.cnil_counts)

    started = time.perf_counter()
    naive = naive_rows()
    naive_time = time.perf_counter() - started
    # The two must agree (otherwise the comparison means nothing).
    fast = {row.laboratory.pk: row for row in cnil.cnil_rows()}
    for (_breach, lab_id), n in naive["patients"].items():
        assert fast[lab_id].patients == n, (lab_id, fast[lab_id].patients, n)
    for lab_id, n in naive["unreachable"].items():
        assert fast[lab_id].unreachable_patients == n, (lab_id, fast[lab_id].unreachable_patients, n)
        assert fast[lab_id].returned == naive["status"][lab_id]["returned"]

    def show(name: str, times: list[float]) -> float:
        median = statistics.median(times)
        p95 = sorted(times)[max(0, round(len(times) * 0.95) - 1)]
        print(f"{name}: median {median * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms ({len(times)} runs)")
        return median

    cold_median = show("CNIL page, counts aggregated live (cache emptied before each GET)", cold)
    warm_median = show("CNIL page, counts snapshot cached (≤ 60 s old), case files live — target ≤ 200 ms", warm)
    show(f"cnil.cnil_counts() alone ({len(queries.captured_queries)} grouped queries)", counts_times)
    print(f"naive per-row Python baseline (all rows into Python): {naive_time * 1000:.0f} ms")
    print(
        f"ratio naive / live page: {naive_time / cold_median:.1f}×; naive / cached page: {naive_time / warm_median:.0f}×"
    )
    print(_load())


if __name__ == "__main__":
    main()
