"""Status-page throughput: POST /verifier/ with valid codes against 500,000 patients in PostgreSQL.

    .venv/bin/python benchmarks/status_page.py [--patients 500000] [--seconds 20] [--connections 8]

Builds (once; reused on later runs) a PostgreSQL database `notifier_bench_status` holding one
laboratory, 500,000 patients and their notifications with real status-code digests; starts gunicorn
with 2 worker processes (gthread, 4 threads each: keep-alive) on loopback (rate limits raised for the run, counters in Redis as in production);
then drives it with wrk from a second process:
  - baseline: GET /verifier/ (the form, no database work) — the server's ceiling on this machine;
  - measured: POST /verifier/ with a valid code + birth date, rotating over 2,000 patients (each a
    digest lookup, the birth-date check, a new session written and a redirect).
Prints requests/s, latency percentiles and the ratio measured / baseline. Target (issue #6):
≥ 300 requests/s with p99 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "notifier_bench_status"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
CACHE_URL = "redis://127.0.0.1:6379/9"
CSRF = "benchcsrftoken0123456789abcdefAB"  # 32 chars: Django accepts an unmasked secret as the form token


def _setup_django() -> None:
    os.environ["DATABASE_URL"] = DATABASE_URL
    os.environ["CACHE_URL"] = CACHE_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _ensure_database() -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone():
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def _populate(n_patients: int) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from labs.models import Breach, Laboratory
    from notifier.codes import status_code_digest, status_code_for_ids
    from notifier.models import Campaign, Notification
    from patients.models import Patient

    call_command("migrate", verbosity=0)
    if Patient.objects.count() >= n_patients and Notification.objects.exists():
        return
    print(f"building {n_patients:,} patients (once) …", flush=True)
    started = time.perf_counter()
    lab, _ = Laboratory.objects.get_or_create(code="BENCH", defaults={"name": "Laboratoire de mesure"})
    breach, _ = Breach.objects.get_or_create(
        slug="bench", defaults={"title": "Fuite de mesure", "aware_at": timezone.now() - dt.timedelta(days=2)}
    )
    user_model = get_user_model()
    author, _ = user_model.objects.get_or_create(username="bench-author", defaults={"is_staff": True})
    approver, _ = user_model.objects.get_or_create(username="bench-approver", defaults={"is_staff": True})
    Notification.objects.filter(campaign__breach=breach).delete()
    Campaign.objects.filter(breach=breach).delete()
    Patient.objects.filter(breach=breach).delete()
    rng = random.Random(2021)
    batch: list[Patient] = []
    for i in range(n_patients):
        batch.append(
            Patient(
                breach=breach,
                laboratory=lab,
                person_key=f"{i:064x}",
                first_name="Prénom",
                last_name=f"Nom{i}",
                birth_date=dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(30000)),
                address_line="1 rue de la Mesure",
                postcode="35000",
                city="Rennes",
                exposure_mask=0b111,
                record_count=1,
            )
        )
        if len(batch) == 10000:
            Patient.objects.bulk_create(batch)
            batch = []
    Patient.objects.bulk_create(batch)
    campaign = Campaign.objects.create(
        breach=breach, laboratory=lab, name="Mesure", created_by=author, approved_by=approver,
        status=Campaign.Status.RUNNING, launched_at=timezone.now(),
    )  # fmt: skip
    rows: list[Notification] = []
    for patient_id in Patient.objects.filter(breach=breach).values_list("pk", flat=True).iterator(chunk_size=20000):
        digest = status_code_digest(status_code_for_ids(breach_id=breach.pk, patient_id=patient_id))
        rows.append(
            Notification(
                campaign=campaign,
                patient_id=patient_id,
                channel="post",
                status="sent",
                code_digest=digest,
                reference=f"B{campaign.pk}-{patient_id}",
            )  # fmt: skip
        )
        if len(rows) == 10000:
            Notification.objects.bulk_create(rows)
            rows = []
    Notification.objects.bulk_create(rows)
    # Fresh tables have no statistics yet: without them the planner ANDs a whole campaign's rows with the
    # digest's (7.9 ms a lookup instead of 0.1 ms), which production's autovacuum would have fixed long before.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)


def _credentials(count: int) -> list[tuple[str, dt.date]]:
    from notifier.codes import status_code_for_ids
    from notifier.models import Notification

    sample = (
        Notification.objects.filter(campaign__laboratory__code="BENCH")
        .order_by("?")
        .values_list("patient__breach_id", "patient_id", "patient__birth_date")[:count]
    )
    return [(status_code_for_ids(breach_id=b, patient_id=p), birth) for b, p, birth in sample]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _lua(credentials: list[tuple[str, dt.date]], port: int) -> str:
    bodies = ",\n".join(
        f'"csrfmiddlewaretoken={CSRF}&code={code}&day={b.day}&month={b.month}&year={b.year}"' for code, b in credentials
    )
    return f"""
local bodies = {{ {bodies} }}
local i = 0
request = function()
  i = i + 1
  local body = bodies[(i % #bodies) + 1]
  return wrk.format("POST", "/verifier/", {{
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "csrftoken={CSRF}",
    ["Origin"] = "http://127.0.0.1:{port}",
    ["Host"] = "127.0.0.1:{port}",
  }}, body)
end
response = function(status, headers, body)
  if status ~= 302 then
    io.stderr:write("unexpected status " .. status .. "\\n")
  end
end
"""


def _wrk(url: str, seconds: int, connections: int, script: str | None) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        command[1:1] = ["-s", script]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    text = out.stdout
    unexpected = out.stderr.count("unexpected status")

    def latency(label: str) -> float:
        match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", text)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
        "p50": latency("50"),
        "p90": latency("90"),
        "p99": latency("99"),
        "requests": int(re.search(r"(\d+) requests in", text).group(1)),
        "unexpected": unexpected,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=500_000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    _ensure_database()
    _setup_django()
    _populate(args.patients)
    credentials = _credentials(2000)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "CACHE_URL": CACHE_URL,
        "STATUS_PAGE_TRIES_PER_IP_PER_MINUTE": "100000000",
        "STATUS_PAGE_FAILURES_PER_CODE_PER_HOUR": "100000000",
        "STATUS_PAGE_GLOBAL_FAILURES_PER_HOUR": "100000000",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "ERROR",
    }
    server = subprocess.Popen(
        # Production's gunicorn.conf.py (2 workers x 4 threads, redacting access log formatted but not printed).
        [str(ROOT / ".venv/bin/gunicorn"), "config.wsgi", "--config", "gunicorn.conf.py", "--access-logfile", os.devnull,
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/verifier/"
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            script.write(_lua(credentials, port))
        _wrk(url, 3, args.connections, script.name)  # warm-up: connections, caches, query plans
        baseline = _wrk(url, args.seconds, args.connections, None)
        measured = _wrk(url, args.seconds, args.connections, script.name)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    load = os.getloadavg()[0]
    print(f"patients in database         {args.patients:,}")
    print(
        f"gunicorn                     2 workers x 4 threads, wrk -t2 -c{args.connections} -d{args.seconds}s (load {load:.1f})"
    )
    for name, r in (("baseline GET form", baseline), ("POST valid code", measured)):
        print(
            f"{name:<28} {r['rps']:8.0f} req/s   p50 {r['p50']:6.1f} ms   p90 {r['p90']:6.1f} ms   p99 {r['p99']:6.1f} ms"
        )
    print(f"non-302 answers to POST      {measured['unexpected']} of {measured['requests']}")
    print(f"ratio POST / GET baseline    {measured['rps'] / baseline['rps']:.2f}")
    ok = measured["rps"] >= 300 and measured["p99"] <= 100 and measured["unexpected"] == 0
    print(f"target ≥ 300 req/s, p99 ≤ 100 ms: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
