"""Campaign email throughput and launch time, on PostgreSQL + Redis + real Celery workers + a local SMTP sink.

    .venv/bin/python benchmarks/campaign_email.py [--emails 50000] [--reference 5000] [--launch 491839]

1. reference: a plain Django `send_messages` loop over ONE reused SMTP connection, of the same
   notice emails (rendered beforehand), to the sink — what a single process can push;
2. measured: a 50,000-patient email campaign launched with `campaign_launch`, sent by a real
   `celery -A config worker --pool=prefork --concurrency=2` through Redis, end to end (launch commit →
   campaign completed, read from the database), each message claimed in the database and submitted
   in two phases (notifier/sending.py);
3. launch: creating the notifications (and status-code digests) of a 491,839-patient campaign.
The sink is an aiosmtpd server in its own process that counts messages. Targets (issue #3): ≥ 300
emails/s end to end, ≥ 0.7× the reference; launch ≤ 60 s.
Database `notifier_campaign_bench` (created and rebuilt by the script), Redis db 6 (purged).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "notifier_campaign_bench"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
BROKER_URL = "redis://127.0.0.1:6379/6"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _sink(port: int, counter, ready) -> None:  # runs in its own process
    from aiosmtpd.controller import Controller

    class Counting:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            with counter.get_lock():
                counter.value += 1
            return "250 OK"

    controller = Controller(Counting(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    signal.sigwait([signal.SIGTERM])
    controller.stop()


def _setup_django() -> None:
    os.environ.update({"DATABASE_URL": DATABASE_URL, "CELERY_BROKER_URL": BROKER_URL, "DB_CONN_MAX_AGE": "60"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _population(n: int, code: str, *, with_email: bool):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from labs.models import Breach, Laboratory
    from patients.models import Patient

    lab = Laboratory.objects.create(code=code, name=f"Laboratoire {code}", dpo_name="DPO", dpo_email="dpo@lab.example")
    breach, _ = Breach.objects.get_or_create(slug="bench", defaults={"title": "Fuite", "aware_at": timezone.now()})
    batch = []
    for i in range(n):
        batch.append(Patient(
            breach=breach, laboratory=lab, person_key=f"{code}{i:0{64 - len(code)}x}", first_name="Prénom", last_name=f"Nom{i}",
            address_line="1 rue de la Mesure", postcode="35000", city="Rennes",
            email=f"p{i}@example.org" if with_email or i % 9 == 0 else "", record_count=1,
        ))  # fmt: skip
        if len(batch) == 10000:
            Patient.objects.bulk_create(batch)
            batch = []
    Patient.objects.bulk_create(batch)
    users = get_user_model().objects
    author = users.get_or_create(username="bench-author", defaults={"is_staff": True})[0]
    approver = users.get_or_create(username="bench-approver", defaults={"is_staff": True})[0]
    return breach, lab, author, approver


def _campaign(breach, lab, author, approver, policy: str):
    import datetime as dt

    from labs.models import BreachLaboratory, BreachMeasure
    from notifier import campaigns

    # What the launch gate asks (notifier.gate): made-up facts, as the demo does.
    breach.description = breach.description or "Copie d'un fichier de résultats chez l'éditeur (mesure)."
    breach.period_start, breach.period_end = dt.date(2015, 1, 1), dt.date(2020, 12, 31)
    breach.save()
    case_file, _ = BreachLaboratory.objects.get_or_create(
        breach=breach, laboratory=lab,
        defaults={"aware_at": breach.aware_at, "high_risk": "yes", "high_risk_justification": "mesure",
                  "consequences": ["phishing"]},
    )  # fmt: skip
    if not case_file.measures.exists():
        BreachMeasure.objects.create(case_file=case_file, text="Accès coupé (mesure).")
    campaign = campaigns.campaign_create(breach=breach, laboratory=lab, name="Mesure", by=author, channel_policy=policy)
    return campaigns.campaign_approve(campaign=campaign, by=approver)


def _reference(n: int, port: int, counter) -> float:
    """Plain send_messages over one reused SMTP connection, messages rendered before the clock starts."""
    from django.core.mail import get_connection

    from notifier import notice_email
    from notifier.models import Notification

    rows = list(Notification.objects.select_related("campaign__laboratory", "patient").order_by("pk")[:n])
    messages = [notice_email.notice_email_message(notification=row) for row in rows]
    connection = get_connection("django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=port)
    start_count = counter.value
    started = time.perf_counter()
    with connection:
        sent = connection.send_messages(messages)
    while counter.value - start_count < sent:
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    return sent / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--emails", type=int, default=50000)
    parser.add_argument("--reference", type=int, default=5000)
    parser.add_argument("--launch", type=int, default=491839, help="patients of the launch measurement (0: skip)")
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    _setup_django()
    from django.db.models import Count
    from django.utils import timezone

    from config.celery import app
    from notifier import launch
    from notifier.models import Campaign, Notification

    port = _free_port()
    counter, ready = multiprocessing.Value("q", 0), multiprocessing.Event()
    sink = multiprocessing.Process(target=_sink, args=(port, counter, ready), daemon=True)
    sink.start()
    ready.wait(30)

    # --- measured: the campaign through real workers ---------------------------------------------------
    breach, lab, author, approver = _population(args.emails, "EMAIL", with_email=True)
    campaign = _campaign(breach, lab, author, approver, "email")
    app.control.purge()
    env = {**os.environ, "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
           "EMAIL_PORT": str(port), "CAMPAIGN_EMAIL_CHUNK": "100"}  # fmt: skip
    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
         f"--concurrency={args.concurrency}", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-l", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        time.sleep(8)  # let the worker start before the clock runs
        before = counter.value
        started = time.perf_counter()
        launch.campaign_launch(campaign=campaign, by=approver)
        launched = time.perf_counter() - started
        while Campaign.objects.get(pk=campaign.pk).status != Campaign.Status.COMPLETED:
            time.sleep(0.5)
        elapsed = time.perf_counter() - started
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(60)
    delivered = counter.value - before
    statuses = dict(
        Notification.objects.filter(campaign=campaign).values_list("status").annotate(n=Count("pk")).order_by()
    )
    rate = args.emails / elapsed
    print(f"campaign: {args.emails:,} emails in {elapsed:.1f} s = {rate:.0f} emails/s end to end "
          f"(launch {launched:.1f} s); sink received {delivered:,}; rows {statuses}", flush=True)  # fmt: skip

    # --- reference: one process, one reused connection ------------------------------------------------------
    ref_rate = _reference(args.reference, port, counter)
    print(f"reference send_messages loop: {ref_rate:.0f} emails/s ({args.reference:,} messages)", flush=True)
    print(f"ratio measured / reference: {rate / ref_rate:.2f}×  (targets: ≥ 300 emails/s, ≥ 0.7×)", flush=True)

    # --- launch of a big campaign ---------------------------------------------------------------------------------
    if args.launch:
        breach, lab, author, approver = _population(args.launch, "BIG", with_email=False)
        campaign = _campaign(breach, lab, author, approver, "post_and_email")
        from unittest import mock

        # The clock covers creating every notification and digest; dispatch (enqueueing the email chunks and
        # print batches, after commit) is timed apart.
        with mock.patch.object(launch, "campaign_dispatch"):
            started = time.perf_counter()
            counts = launch.campaign_launch(campaign=campaign, by=approver)
            launch_s = time.perf_counter() - started
        print(f"launch of {counts['patients']:,} patients: {launch_s:.1f} s ({counts}) (target ≤ 60 s)", flush=True)
        Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CANCELLED, updated_at=timezone.now())
    sink.terminate()
    print(f"load average after: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
