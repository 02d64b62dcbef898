"""Scale-out on one machine: a web host and two worker hosts sharing no disk, only PostgreSQL, the broker
and an S3-compatible bucket (moto's server): a 5,000-patient campaign of letters and emails.

Each host is its own process group with its own NOTIFIER_VAR_DIR; the web host is gunicorn (the production
server), the workers are `celery worker --concurrency 1`, beat runs on the first only. Every letter lands in
exactly one print batch, every batch downloads from the web host by HTTP (a DPO's session, audited), and
every email reaches the SMTP sink once. Runs on both brokers (Redis, RabbitMQ's quorum queues).

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/notifier_multihost CELERY_BROKER_URL=redis://127.0.0.1:6379/13 \
     .venv/bin/python -m pytest -m integration tests/test_multihost.py -q -p no:cacheprovider
"""

from __future__ import annotations

import csv
import hashlib
import io
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path

import boto3
import pytest
import requests
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from labs import access
from labs.audit import AuditEvent
from notifier import notice_email
from notifier.models import Campaign, Notification, PrintBatch
from tests.access_fixtures import login_verified, make_staff
from tests.notifier import test_integration as proofs
from tests.notifier.test_integration import PYTHON, ROOT, campaign_with_patients, child_env, manage, wait_for
from tests.servers import _wait_listening, free_port

# The proofs' fixtures: the SMTP sink, the broker (Redis purged, or a RabbitMQ vhost), the celery workers.
sink, broker_url, purged_broker, rabbitmq_vhost = (
    proofs.sink,
    proofs.broker_url,
    proofs.purged_broker,
    proofs.rabbitmq_vhost,
)
worker_factory = proofs.worker_factory
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
PATIENTS = 5000
REGION = "eu-west-3"
S = Notification.Status


@pytest.fixture
def bucket_env(s3_endpoint):
    """A fresh private bucket, and the NOTIFIER_S3_* environment every host reads it with."""
    name = f"notifier-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3", endpoint_url=s3_endpoint, aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
    )
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    env = {"NOTIFIER_S3_BUCKET": name, "NOTIFIER_S3_ENDPOINT_URL": s3_endpoint, "NOTIFIER_S3_REGION": REGION,
           "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "NOTIFIER_S3_SERVER_SIDE_ENCRYPTION": "AES256",
           # sessions in the database: a DPO logged in on one web host is logged in on every one
           "SESSION_ENGINE": "django.contrib.sessions.backends.db"}  # fmt: skip
    client.name = name
    return client, env


def host_folder(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """(host folder for its logs, its NOTIFIER_VAR_DIR): nothing shared with any other host."""
    folder = tmp_path / name
    var = folder / "var"
    var.mkdir(parents=True)
    return folder, var


@pytest.fixture
def web_host(tmp_path):
    """gunicorn serving config.wsgi on a free port, in its own folder; stopped by PID."""
    state: dict = {}

    def start(env: dict[str, str]) -> str:
        folder, var = host_folder(tmp_path, "web")
        port = free_port()
        log = open(folder / "gunicorn.log", "wb")  # noqa: SIM115 (closed below)
        proc = subprocess.Popen(  # noqa: S603
            [PYTHON, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1", "--timeout", "120"],
            cwd=ROOT, env={**env, "NOTIFIER_VAR_DIR": str(var)}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        state.update(proc=proc, log=log, var=var)
        _wait_listening(port, proc, "gunicorn", timeout=60)
        return f"http://127.0.0.1:{port}"

    state["start"] = start
    yield state
    if "proc" in state:
        state["proc"].terminate()
        state["proc"].wait(timeout=30)
        state["log"].close()


def _files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def test_a_campaign_spread_over_two_worker_hosts_and_a_web_host_sharing_no_disk(
    sink, broker_url, worker_factory, web_host, bucket_env, tmp_path, settings
):
    # given a 5,000-patient campaign of letters and emails, a bucket, and three hosts with their own folders
    bucket, s3_env = bucket_env
    campaign = campaign_with_patients(PATIENTS, policy=Campaign.ChannelPolicy.POST_AND_EMAIL)
    env = child_env(sink, broker_url, CAMPAIGN_PRINT_CHUNK="250", CAMPAIGN_EMAIL_CHUNK="100", **s3_env)
    workers = []
    for number in (1, 2):
        folder, var = host_folder(tmp_path, f"worker-{number}")
        workers.append(worker_factory({**env, "NOTIFIER_VAR_DIR": str(var)}, folder, concurrency=1, beat=number == 1))
    started = time.monotonic()
    web_url = web_host["start"](env)
    for worker in workers:
        worker.start()
    # when an operator launches it from the web host's environment
    manage({**env, "NOTIFIER_VAR_DIR": str(web_host["var"])}, "campaign", "launch", str(campaign.pk), "--by", "bob")
    wait_for(lambda: _all_done(campaign), timeout=600, what="every letter batched and every email sent", step=2)
    took = time.monotonic() - started

    # then every letter is in exactly one built print batch
    letters = Notification.objects.filter(campaign=campaign, channel=Notification.Channel.POST)
    emails = Notification.objects.filter(campaign=campaign, channel=Notification.Channel.EMAIL)
    assert letters.count() == PATIENTS and emails.count() == PATIENTS
    assert not letters.filter(print_batch=None).exists()
    batches = list(PrintBatch.objects.filter(campaign=campaign).order_by("sequence"))
    assert len(batches) == PATIENTS // 250 and all(batch.built_at and not batch.error for batch in batches)
    assert sum(batch.letter_count for batch in batches) == PATIENTS
    # and every batch downloads from the web host, by HTTP, in a DPO's session: the bucket's bytes, whose
    # manifests hold each letter's reference exactly once
    settings.SESSION_ENGINE = s3_env["SESSION_ENGINE"]
    dpo = make_staff("dpo-multihost", role=access.DPO, laboratories=[campaign.laboratory])
    session = requests.Session()
    session.cookies.set(django_settings.SESSION_COOKIE_NAME, login_verified(Client(), dpo).session.session_key)
    references: Counter[str] = Counter()
    for batch in batches:
        pdf = session.get(web_url + reverse("admin:notifier_printbatch_pdf", args=[batch.pk]), timeout=60)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), (batch.sequence, pdf.status_code)
        assert hashlib.sha256(pdf.content).hexdigest() == batch.pdf_sha256
        assert pdf.content == bucket.get_object(Bucket=bucket.name, Key=batch.pdf_path)["Body"].read()
        manifest = session.get(web_url + reverse("admin:notifier_printbatch_manifest", args=[batch.pk]), timeout=60)
        assert manifest.status_code == 200
        references.update(row["reference"] for row in csv.DictReader(io.StringIO(manifest.content.decode("utf-8-sig"))))
    assert references == Counter(letters.values_list("reference", flat=True))
    assert max(references.values()) == 1
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, actor=dpo).count() == 2 * len(batches)
    # and every email reached the sink exactly once
    assert_one_message_per_row_of(emails, sink)
    # and both worker hosts did part of the work, and no host wrote a file in its own folder: all is in the bucket
    done = [_tasks_succeeded(worker) for worker in workers]
    assert all(count > 0 for count in done), done
    for host in ("web", "worker-1", "worker-2"):
        assert _files_under(tmp_path / host / "var") == [], host
    print(
        f"\nmulti-host: {took:.0f} s from start-up to the last email, {len(batches)} batches, tasks per worker host {done}, {len(sink.ids())} emails"
    )


def _all_done(campaign: Campaign) -> bool:
    rows = Notification.objects.filter(campaign=campaign)
    letters_left = rows.filter(channel=Notification.Channel.POST, print_batch__built_at=None).exists()
    emails_left = rows.filter(channel=Notification.Channel.EMAIL).exclude(status=S.SENT).exists()
    return not letters_left and not emails_left


def assert_one_message_per_row_of(emails, received_by) -> None:
    rows = list(emails.select_related("campaign"))
    assert Counter(row.status for row in rows) == {S.SENT: len(rows)}
    received = Counter(received_by.ids())
    assert set(received) == {notice_email.message_id_for(row) for row in rows}
    assert max(received.values()) == 1


def _tasks_succeeded(worker) -> int:
    return sum(
        path.read_text(errors="replace").count(" succeeded in ") for path in worker.tmp_path.glob("worker-*.log")
    )
