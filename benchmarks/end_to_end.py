"""End to end, from the leaked file to the end of the response, on the server shape (issue #17).

    .venv/bin/python benchmarks/end_to_end.py [--rows 491839] [--seed 2021] [--shape real] [--concurrency 2]

PostgreSQL (database `notifier_e2e`, dropped and created again), Redis db 12 (purged) as the broker,
real `celery -A config worker --concurrency N` processes, a local SMTP sink (aiosmtpd, in its own
process, counting messages: `campaign_email._sink`). Stages, each timed from this process:

1. generate: the synthetic leak (`leak_generate`, the generator's default shape: about one row per person);
2. import: `leak_import` into a new breach (laboratories created from the file's codes);
3. case files: `case_files_sync` (one Art. 33 case file per laboratory, estimates pre-filled), then the
   facts the launch gate asks for, made up as the demo does (risk decision, consequence, a measure, DPO);
4. campaigns: for every laboratory `campaign_create` (post and email) + `campaign_approve` by another
   staff member + `campaign_launch` (which, after commit, hands emails to the workers and puts the
   letters into print batches whose rendering the workers pick up);
5. delivery: until every print batch is built and every email row is final (sent or failed).
Stages 4 and 5 overlap on purpose (the workers start on the first laboratory's emails and letters while
the next ones launch): the delivery stage is what remains after the last launch. Prints every stage's
time, the total, letters/s and emails/s (from the first launch to the last letter / email), the load
average before and after. Target (2-core machine, 491,839 rows): ≤ 30 minutes in all.
Files (rejects, print batches, variant cache) go to var/bench/e2e/ (emptied first).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from campaign_email import _free_port, _sink  # noqa: E402  (the counting SMTP sink of the email benchmark)

DB_NAME = "notifier_e2e"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
BROKER_URL = "redis://127.0.0.1:6379/12"
VAR_DIR = ROOT / "var" / "bench" / "e2e"


def _environment(smtp_port: int) -> dict[str, str]:
    """The server shape, for this process and the workers alike."""
    return {
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": BROKER_URL,
        "DB_CONN_MAX_AGE": "60",
        "NOTIFIER_VAR_DIR": str(VAR_DIR),
        "LETTERS_VARIANT_CACHE_DIR": str(VAR_DIR / "variants"),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }


def _fresh_database() -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


class Clock:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.stages: list[tuple[str, float]] = []
        self._last = self.started

    def lap(self, name: str, detail: str = "") -> float:
        now = time.perf_counter()
        seconds = now - self._last
        self._last = now
        self.stages.append((name, seconds))
        print(f"{name:11} {seconds:8.1f} s  {detail}  (load {os.getloadavg()[0]:.1f})", flush=True)
        return seconds


def _open_case_files(breach) -> int:
    """Case files for every laboratory of the breach, completed with what the launch gate asks."""
    from labs.models import BreachLaboratory, Laboratory
    from labs.services import breach_measure_add, case_files_sync

    breach.description = "Copie d'un fichier de résultats chez l'éditeur du logiciel (banc de mesure)."
    breach.period_start, breach.period_end = dt.date(2015, 1, 1), dt.date(2020, 12, 31)
    breach.save()
    created = case_files_sync(breach=breach)
    Laboratory.objects.filter(case_files__breach=breach).update(dpo_name="DPO (mesure)", dpo_email="dpo@lab.example")
    for case_file in BreachLaboratory.objects.filter(breach=breach):
        case_file.high_risk = "yes"
        case_file.high_risk_justification = "Données de santé et NIR exposés (banc de mesure)."
        case_file.consequences = ["phishing"]
        case_file.save()
        breach_measure_add(case_file=case_file, text="Accès de l'éditeur coupé (banc de mesure).")
    return created


def _launch_all(breach, author, approver) -> dict[str, int]:
    from labs.models import BreachLaboratory
    from notifier import campaigns, launch

    totals = {"campaigns": 0, "patients": 0, "post": 0, "email": 0, "unreachable": 0}
    for case_file in BreachLaboratory.objects.filter(breach=breach).select_related("laboratory").order_by("pk"):
        campaign = campaigns.campaign_create(
            breach=breach, laboratory=case_file.laboratory, name="Information des patients", by=author,
            channel_policy="post_and_email",
        )  # fmt: skip
        campaign = campaigns.campaign_approve(campaign=campaign, by=approver)
        counts = launch.campaign_launch(campaign=campaign, by=approver)  # dispatch runs after its commit
        totals["campaigns"] += 1
        for key in ("patients", "post", "email", "unreachable"):
            totals[key] += counts[key]
    return totals


def _wait_for_delivery(breach, counter, *, timeout: float, launched_at: float) -> dict:
    """Poll until every print batch is built and every email row final; when each channel finished."""
    from notifier.models import Notification, PrintBatch

    emails = Notification.objects.filter(campaign__breach=breach, channel=Notification.Channel.EMAIL)
    open_statuses = [Notification.Status.PENDING, Notification.Status.QUEUED, Notification.Status.SENDING]
    letters_unbatched = Notification.objects.filter(
        campaign__breach=breach, channel=Notification.Channel.POST, status=Notification.Status.PENDING
    )
    batches = PrintBatch.objects.filter(campaign__breach=breach)
    emails_done = letters_done = None
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        now = time.perf_counter()
        if emails_done is None and not emails.filter(status__in=open_statuses).exists():
            emails_done = now - launched_at
        if letters_done is None and not letters_unbatched.exists() and not batches.filter(built_at=None).exists():
            letters_done = now - launched_at
        failed = list(batches.exclude(error="").values_list("sequence", "error")[:3])
        if failed:
            print(f"print batch errors (the workers retry on the next tick): {failed}", flush=True)
        if emails_done is not None and letters_done is not None:
            break
        time.sleep(2)
    return {
        "emails_done_s": emails_done,
        "letters_done_s": letters_done,
        "emails_sent": emails.filter(status=Notification.Status.SENT).count(),
        "emails_failed": emails.filter(status=Notification.Status.FAILED).count(),
        "sink_received": counter.value,
        "letters": sum(batches.values_list("letter_count", flat=True)),
        "print_batches": batches.count(),
        "print_batches_built": batches.exclude(built_at=None).count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=491_839)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--shape", default="real", help="generator shape (real, legacy)")
    parser.add_argument("--labs", type=int, default=27)
    parser.add_argument("--concurrency", type=int, default=2, help="processes of the one celery worker")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="give up waiting for delivery after this")
    args = parser.parse_args()

    load_before = os.getloadavg()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in load_before)}", flush=True)
    shutil.rmtree(VAR_DIR, ignore_errors=True)
    VAR_DIR.mkdir(parents=True)
    port = _free_port()
    os.environ.update(_environment(port))
    _fresh_database()
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    from config.celery import app
    from labs.services import breach_create
    from patients.services import leak_import
    from patients.synthetic import leak_generate

    call_command("migrate", verbosity=0)
    app.control.purge()
    counter, ready = multiprocessing.Value("q", 0), multiprocessing.Event()
    sink = multiprocessing.Process(target=_sink, args=(port, counter, ready), daemon=True)
    sink.start()
    ready.wait(30)
    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "config", "worker", f"--concurrency={args.concurrency}",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"],
        cwd=ROOT, env=os.environ.copy(), start_new_session=True,
    )  # fmt: skip
    users = get_user_model().objects
    author = users.create(username="e2e-author", is_staff=True)
    approver = users.create(username="e2e-approver", is_staff=True)
    try:
        time.sleep(5)  # the worker boots while nothing is timed
        clock = Clock()
        path = VAR_DIR / "leak.csv"
        truth = leak_generate(path=path, rows=args.rows, labs=args.labs, seed=args.seed, shape=args.shape)
        clock.lap("generate", f"{truth['rows']:,} rows, {truth['patients']:,} patients ({args.shape} shape)")
        breach, _ = breach_create(slug="e2e", title="Fuite (banc de mesure)", aware_at=timezone.now())
        result = leak_import(path=path, breach=breach, allow_new_laboratories=True)
        batch = result.batch
        exact = (batch.rows_accepted, batch.patients_created) == (truth["accepted"], truth["patients"])
        clock.lap("import", f"{batch.rows_read:,} read, {batch.patients_created:,} patients, exact: {exact}")
        case_files = _open_case_files(breach)
        clock.lap("case files", f"{case_files} opened")
        launched_at = time.perf_counter()
        totals = _launch_all(breach, author, approver)
        clock.lap("campaigns", f"{totals}")
        delivery = _wait_for_delivery(breach, counter, timeout=args.timeout, launched_at=launched_at)
        clock.lap("delivery", f"after the last launch; {delivery}")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(120)
        sink.terminate()
    total = time.perf_counter() - clock.started
    load_after = os.getloadavg()
    letters_s, emails_s = delivery["letters_done_s"], delivery["emails_done_s"]
    figures = {
        "rows": args.rows,
        "shape": args.shape,
        "patients": batch.patients_created,
        "import_exact": exact,
        "stages_s": {name: round(seconds, 1) for name, seconds in clock.stages},
        "total_s": round(total, 1),
        "total_min": round(total / 60, 1),
        "letters": delivery["letters"],
        "letters_per_s": round(delivery["letters"] / letters_s, 1) if letters_s else None,
        "emails": delivery["emails_sent"],
        "emails_failed": delivery["emails_failed"],
        "sink_received": delivery["sink_received"],
        "emails_per_s": round(delivery["emails_sent"] / emails_s, 1) if emails_s else None,
        "letters_done_after_first_launch_s": round(letters_s, 1) if letters_s else None,
        "emails_done_after_first_launch_s": round(emails_s, 1) if emails_s else None,
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in load_after],
        "worker_concurrency": args.concurrency,
    }
    print(json.dumps(figures, indent=2))
    done = letters_s is not None and emails_s is not None
    print(f"total {total / 60:.1f} min (target ≤ 30 min for 491,839 rows): "
          + ("finished" if done else "NOT finished within --timeout"))  # fmt: skip
    return 0 if done and exact else 1


if __name__ == "__main__":
    sys.exit(main())
