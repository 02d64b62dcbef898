"""Scale-out: the same letters-and-emails campaign with one worker host, then two, on object storage; and one
host on local files, for the cost of the bucket. PostgreSQL + Redis + real Celery workers + moto's S3 server
+ a local SMTP sink, all on this machine.

    .venv/bin/python benchmarks/scale_out.py [--patients 20000] [--concurrency 1]

Each run creates its own laboratory of `--patients` patients (all with an address and an email), a
"post_and_email" campaign, and starts its worker hosts: `celery worker --concurrency N`, each with its own
NOTIFIER_VAR_DIR (no shared disk). The clock starts at the launch; letters/s counts the letters whose print
batch is built, emails/s the emails sent, each up to the moment the last one was. Runs:
1. one host, S3 bucket; 2. two hosts, S3 bucket; 3. one host, local files (the same code, FileSystemStorage).
Targets (issue #16): two hosts ≥ 1.7× one host for letters; bucket ≤ 10 % slower than local files.
Database `notifier_scaleout_bench` (created and rebuilt by the script), Redis db 13 (purged).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import campaign_email as common  # noqa: E402 (the population, campaign and SMTP sink of the email benchmark)

ROOT = Path(__file__).resolve().parents[1]
common.DB_NAME = "notifier_scaleout_bench"
common.DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{common.DB_NAME}"
common.BROKER_URL = "redis://127.0.0.1:6379/13"
REGION = "eu-west-3"
MOTO = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": REGION}  # moto's dummies


def _moto(folder: Path) -> tuple[subprocess.Popen, str]:
    port = common._free_port()
    binary = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
    log = open(folder / "moto.log", "wb")  # noqa: SIM115 (lives as long as the server)
    proc = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    import requests

    for _ in range(300):
        try:
            requests.get(url, timeout=1)
            return proc, url
        except requests.ConnectionError:
            time.sleep(0.1)
    raise SystemExit("moto_server did not start")


def _bucket_env(endpoint: str) -> dict[str, str]:
    import boto3

    name = f"bench-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=endpoint, **MOTO).create_bucket(
        Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    return {"NOTIFIER_S3_BUCKET": name, "NOTIFIER_S3_ENDPOINT_URL": endpoint, "NOTIFIER_S3_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}  # fmt: skip


def _run(label: str, *, hosts: int, patients: int, concurrency: int, env: dict[str, str], folder: Path) -> dict:
    from config.celery import app
    from notifier import launch
    from notifier.models import Notification

    breach, lab, author, approver = common._population(patients, f"H{label}", with_email=True)
    campaign = common._campaign(breach, lab, author, approver, "post_and_email")
    app.control.purge()
    workers = []
    for number in range(1, hosts + 1):
        var = folder / f"{label}-host-{number}"
        var.mkdir()
        workers.append(subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
             f"--concurrency={concurrency}", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-l", "warning", "-n", f"bench-{label}-{number}@%h"],
            cwd=ROOT, env={**env, "NOTIFIER_VAR_DIR": str(var)}, start_new_session=True,
        ))  # fmt: skip
    rows = Notification.objects.filter(campaign=campaign)
    letters_left = rows.filter(channel=Notification.Channel.POST, print_batch__built_at=None)
    emails_left = rows.filter(channel=Notification.Channel.EMAIL).exclude(status=Notification.Status.SENT)
    try:
        time.sleep(10)  # let the workers start before the clock runs
        started = time.perf_counter()
        launch.campaign_launch(campaign=campaign, by=approver)
        letters_s = emails_s = None
        while letters_s is None or emails_s is None:
            time.sleep(0.25)
            now = time.perf_counter() - started
            if letters_s is None and not letters_left.exists():
                letters_s = now
            if emails_s is None and not emails_left.exists():
                emails_s = now
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            worker.wait(60)
    result = {"label": label, "hosts": hosts, "letters/s": patients / letters_s, "emails/s": patients / emails_s,
              "letters_s": letters_s, "emails_s": emails_s}  # fmt: skip
    print(f"{label}: {hosts} host(s) × concurrency {concurrency}: {patients:,} letters in {letters_s:.1f} s = "
          f"{result['letters/s']:.1f} letters/s; {patients:,} emails in {emails_s:.1f} s = "
          f"{result['emails/s']:.1f} emails/s; load {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}", flush=True)
    common._setup_django()
    folder = Path(tempfile.mkdtemp(prefix="notifier-scale-out-"))
    moto, endpoint = _moto(folder)
    port = common._free_port()
    counter, ready = multiprocessing.Value("q", 0), multiprocessing.Event()
    sink = multiprocessing.Process(target=common._sink, args=(port, counter, ready), daemon=True)
    sink.start()
    ready.wait(30)
    env = {**os.environ, "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
           "EMAIL_PORT": str(port), "CAMPAIGN_EMAIL_CHUNK": "100"}  # fmt: skip
    try:
        kw = {"patients": args.patients, "concurrency": args.concurrency, "folder": folder}
        one = _run("S3-1", hosts=1, env={**env, **_bucket_env(endpoint)}, **kw)
        two = _run("S3-2", hosts=2, env={**env, **_bucket_env(endpoint)}, **kw)
        local = _run("FS-1", hosts=1, env=env, **kw)
    finally:
        sink.terminate()
        moto.terminate()
        moto.wait(20)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"two hosts / one host: letters {two['letters/s'] / one['letters/s']:.2f}×, "
          f"emails {two['emails/s'] / one['emails/s']:.2f}× (target ≥ 1.7× for letters)", flush=True)  # fmt: skip
    print(f"bucket / local files (one host): letters {one['letters_s'] / local['letters_s'] - 1:+.1%} time, "
          f"emails {one['emails_s'] / local['emails_s'] - 1:+.1%} time (target ≤ +10 %)", flush=True)  # fmt: skip
    print(f"sink received {counter.value:,} messages; load average after: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
