"""Proofs on PostgreSQL + Redis or RabbitMQ + real `celery worker` subprocesses + a local aiosmtpd sink.

The exactly-once proofs (three SIGKILLs, a broker restart) run on both brokers: Redis (CELERY_BROKER_URL) and
RabbitMQ with quorum queues and publisher confirms (the machine's server on 127.0.0.1:5672, a vhost per test;
a private server on other ports for the restart).

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/notifier_campaign CELERY_BROKER_URL=redis://127.0.0.1:6379/6 \
     .venv/bin/python -m pytest -m integration tests/notifier -q -p no:cacheprovider
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from django.conf import settings
from django.contrib.auth import get_user_model

from config.celery import app as celery_app
from labs import access
from notifier import campaigns, launch, notice_email, queue, sending
from notifier.models import Campaign, Notification
from patients.models import Patient
from tests.factories import BreachFactory, LaboratoryFactory, PatientFactory, case_file_complete

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
S = Notification.Status


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    """aiosmtpd handler keeping (Message-ID, recipient) of every accepted message."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message_id = ""
        for line in envelope.content.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                message_id = line.split(b":", 1)[1].strip().decode()
                break
        with self.lock:
            self.messages.extend((message_id, rcpt) for rcpt in envelope.rcpt_tos)
        return "250 OK"

    def ids(self) -> list[str]:
        with self.lock:
            return [message_id for message_id, _ in self.messages]


@pytest.fixture
def sink():
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


def database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def child_env(sink: Sink, broker_url: str, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker_url,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(sink.port),
        "EMAIL_TIMEOUT": "5",
        "CAMPAIGN_STUCK_SECONDS": "6",
        "CAMPAIGN_LEASE_SECONDS": "6",
        "CAMPAIGN_TICK_SECONDS": "2",
        "CAMPAIGN_EMAIL_CHUNK": "25",
        "DB_CONN_MAX_AGE": "0",
        **extra,
    }
    return env


class Worker:
    """A real `celery -A config worker --pool=prefork --concurrency=2` (with embedded beat) in its own group.

    Another host's worker: its own folder (`tmp_path`), `concurrency`, `beat=False` (one beat per deployment)."""

    def __init__(self, env: dict[str, str], tmp_path: Path, *, concurrency: int = 2, beat: bool = True) -> None:
        self.env = env
        self.tmp_path = tmp_path
        self.concurrency = concurrency
        self.beat = beat
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.tmp_path / f"worker-{self.starts}.log", "wb")  # noqa: SIM115 (closed with the process)
        self.proc = subprocess.Popen(  # noqa: S603
            [PYTHON, "-m", "celery", "-A", "config", "worker", "--pool=prefork", f"--concurrency={self.concurrency}",
             *(["-B", "-s", str(self.tmp_path / f"beat-{self.starts}")] if self.beat else []),
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info",
             "-n", f"campaign-test-{os.getpid()}-{id(self)}-{self.starts}@%h"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once (a crashed machine, not a polite shutdown)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.proc = None


@pytest.fixture
def worker_factory(tmp_path):
    workers: list[Worker] = []

    def make(env: dict[str, str], folder: Path | None = None, **options) -> Worker:
        worker = Worker(env, folder or tmp_path, **options)
        workers.append(worker)
        return worker

    yield make
    for worker in workers:  # always, whatever the test did
        with contextlib.suppress(ProcessLookupError):
            worker.kill()


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True
    )
    return result.stdout


def campaign_with_patients(n: int, policy: str = "email") -> Campaign:
    user_model = get_user_model()
    author = user_model.objects.create_user("alice", password="x" * 16, is_staff=True)
    approver = user_model.objects.create_user("bob", password="x" * 16, is_staff=True)
    breach, lab = BreachFactory(slug="fuite-int"), LaboratoryFactory(code="LABI")
    for user in (author, approver):  # `campaign ... --by` checks the role × action table (labs.access)
        user.groups.add(access.roles_ensure()[access.OPERATOR])
        access.memberships_set(user=user, laboratories=[lab])
    Patient.objects.bulk_create(PatientFactory.build_batch(n, breach=breach, laboratory=lab), batch_size=1000)
    case_file_complete(breach=breach, laboratory=lab)  # the launch gate's Art. 34(2) facts
    campaign = campaigns.campaign_create(breach=breach, laboratory=lab, name="Preuve", by=author, channel_policy=policy)
    return campaigns.campaign_approve(campaign=campaign, by=approver)


def wait_for(predicate, *, timeout: float, what: str, step: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def sent_count(campaign: Campaign) -> int:
    return Notification.objects.filter(campaign=campaign, status=S.SENT).count()


def assert_one_message_per_row(campaign: Campaign, sink: Sink, *, may_lose: int = 0) -> list[str]:
    """Every row terminal, no message twice; returns the ids of rows the sink lacks (at most `may_lose`)."""
    rows = list(Notification.objects.filter(campaign=campaign).select_related("campaign"))
    assert Counter(row.status for row in rows) == {S.SENT: len(rows)}
    received = Counter(sink.ids())
    doubled = {message_id: n for message_id, n in received.items() if n > 1}
    assert not doubled, f"{len(doubled)} messages received more than once"
    expected = {notice_email.message_id_for(row): row for row in rows}
    assert set(received) <= set(expected)  # nothing but our notices
    missing = sorted(set(expected) - set(received))
    # A row can only lack its message if its worker died between writing the COMMIT of "sent" and the
    # final dot (microseconds apart), so its server confirmation (provider id) was never written.
    assert all(expected[message_id].provider_message_id == "" for message_id in missing)
    assert len(missing) <= may_lose, f"{len(missing)} messages lost"
    return missing


@pytest.fixture
def purged_broker():
    celery_app.control.purge()
    yield settings.CELERY_BROKER_URL
    celery_app.control.purge()


def _rabbitmqctl(*args: str, node: str | None = None) -> None:
    binary = shutil.which("rabbitmqctl")
    if binary is None:
        pytest.fail("rabbitmqctl is needed for the RabbitMQ proofs (Debian package rabbitmq-server)")
    subprocess.run([binary, *(["-n", node] if node else []), *args], check=True, capture_output=True, timeout=60)  # noqa: S603


@pytest.fixture
def rabbitmq_vhost():
    """An empty vhost of the machine's RabbitMQ for one test (runs never see each other's queues)."""
    vhost = f"notifier-test-{os.getpid()}-{time.monotonic_ns()}"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture(params=["redis", "rabbitmq"])
def broker_url(request):
    """The proofs' broker: the run's Redis (purged), or RabbitMQ with quorum queues (a fresh vhost)."""
    fixture = "purged_broker" if request.param == "redis" else "rabbitmq_vhost"
    return request.getfixturevalue(fixture)


# --- proof 3: the send service called twice, concurrently, for one notification: one message --------------


def test_two_concurrent_sends_of_one_notification_deliver_one_message(sink, settings, monkeypatch):
    # given 20 queued email notifications (not enqueued: the test calls the service itself)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    campaign = campaign_with_patients(20)
    monkeypatch.setattr(queue, "emails_send_enqueue", lambda **kwargs: 0)
    launch.campaign_launch(campaign=campaign, by=campaign.approved_by)
    ids = list(Notification.objects.filter(campaign=campaign).values_list("pk", flat=True))
    results: list[bool] = []

    def send(notification_id: int, barrier: threading.Barrier) -> None:
        from django.db import connection

        barrier.wait()
        try:
            results.append(sending.notification_send(notification_id=notification_id))
        finally:
            connection.close()

    # when two threads race on each notification
    for notification_id in ids:
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=send, args=(notification_id, barrier)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    # then one of each pair sent, and the sink got exactly one message per notification
    assert results.count(True) == 20 and results.count(False) == 20
    assert_one_message_per_row(campaign, sink)


# --- the "sent" mark's COMMIT travels with the final dot (PostgreSQL) --------------------------------------------


@pytest.fixture
def smtp_to(sink, settings, monkeypatch):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    monkeypatch.setattr(queue, "emails_send_enqueue", lambda **kwargs: 0)
    return sink


def launched_ids(n: int) -> tuple[Campaign, list[int]]:
    campaign = campaign_with_patients(n)
    launch.campaign_launch(campaign=campaign, by=campaign.approved_by)
    return campaign, list(Notification.objects.filter(campaign=campaign).order_by("pk").values_list("pk", flat=True))


def test_sent_marks_committed_beside_the_dot_leave_the_connection_clean(smtp_to):
    from django.db import connection
    from psycopg import pq

    campaign, ids = launched_ids(30)
    # when a chunk is sent, each mark's COMMIT written just before its dot and read just after
    assert sending.notifications_send(notification_ids=ids) == 30
    # then the connection is idle and usable, every row sent and confirmed, one message each
    assert connection.connection.pgconn.transaction_status == pq.TransactionStatus.IDLE
    assert assert_one_message_per_row(campaign, smtp_to) == []
    # (each mark confirmed the message before it, in SQL: the same Message-ID the message carried)
    for row in Notification.objects.filter(campaign=campaign):
        assert row.provider_message_id == notice_email.message_id_for(row)


def test_a_worker_dying_before_the_commit_left_sends_nothing_and_keeps_the_row(smtp_to, monkeypatch):
    campaign, ids = launched_ids(1)
    original = sending.SentMark.commit

    def dies_after_the_update(mark):
        assert sending._mark_sent(mark.notification_id, "", from_statuses=[S.SENDING])  # the UPDATE ran...
        raise KeyboardInterrupt  # ...and the process stops before the COMMIT is written

    monkeypatch.setattr(sending.SentMark, "commit", dies_after_the_update)
    with pytest.raises(KeyboardInterrupt):
        sending.notifications_send(notification_ids=ids)
    time.sleep(0.3)
    # then the server dropped the unfinished message and the database rolled the mark back (the chunk's
    # clean-up then re-queued the row; a SIGKILL would leave it in sending, for the tick to re-queue)
    assert sink_is_empty(smtp_to)
    assert Notification.objects.get(pk=ids[0]).status == S.QUEUED
    # and the next try sends it once
    monkeypatch.setattr(sending.SentMark, "commit", original)
    assert sending.notifications_send(notification_ids=ids) == 1
    assert assert_one_message_per_row(campaign, smtp_to) == []


def test_a_lost_answer_to_the_commit_marks_the_row_again_and_never_resends(smtp_to, monkeypatch):
    campaign, ids = launched_ids(1)
    original = sending.SentMark.wait_for_commit

    def answer_lost(mark):
        original(mark)  # the database did commit; its answer "got lost" on the way back
        raise sending.SentMarkLost("connection reset")

    monkeypatch.setattr(sending.SentMark, "wait_for_commit", answer_lost)
    with pytest.raises(sending.TransientSendError):
        sending.notifications_send(notification_ids=ids)
    monkeypatch.setattr(sending.SentMark, "wait_for_commit", original)
    # then the row is sent, and the task's retry sends nothing more
    assert Notification.objects.get(pk=ids[0]).status == S.SENT
    assert sending.notifications_send(notification_ids=ids) == 0
    smtp_to_wait = time.monotonic() + 5
    while not smtp_to.ids() and time.monotonic() < smtp_to_wait:
        time.sleep(0.05)
    assert len(smtp_to.ids()) == 1


def sink_is_empty(sink: Sink) -> bool:
    return sink.ids() == []


# --- proof 6: no task message carries personal data ----------------------------------------------------------


def test_no_task_message_carries_personal_data(purged_broker, settings):
    # given a launched campaign whose tasks sit in the broker (no worker running)
    campaign = campaign_with_patients(30, policy="email")
    launch.campaign_launch(campaign=campaign, by=campaign.approved_by)
    client = redis.Redis.from_url(purged_broker)
    raw_messages = client.lrange("celery", 0, -1)
    # then every message is a task taking lists of ids, and no personal value appears anywhere in it
    assert raw_messages
    personal = set()
    for notification in Notification.objects.select_related("patient"):
        patient = notification.patient
        personal |= {patient.email, patient.last_name, patient.first_name, patient.address_line, notification.reference}
        personal.add(notice_email.status_code_for_ids(breach_id=patient.breach_id, patient_id=patient.pk))
    for raw in raw_messages:
        envelope = json.loads(raw)
        body = json.loads(base64.b64decode(envelope["body"]))
        args, kwargs = body[0], body[1]
        assert envelope["headers"]["task"] == "notifier.tasks.notifications_send_task"
        assert kwargs == {} and len(args) == 1 and all(isinstance(i, int) for i in args[0])
        decoded = raw + base64.b64decode(envelope["body"])
        assert not [value for value in personal if value and value.encode() in decoded]


# --- proof 1: SIGKILL three times while sending ----------------------------------------------------------------


def test_a_campaign_survives_three_sigkills_of_its_worker_with_one_message_per_row(
    sink, broker_url, worker_factory, settings
):
    # given a 2,000-patient email campaign and a real prefork worker (on Redis, or RabbitMQ's quorum queues)
    total = 2000
    campaign = campaign_with_patients(total)
    env = child_env(sink, broker_url)
    worker = worker_factory(env)
    worker.start()
    manage(env, "campaign", "launch", str(campaign.pk), "--by", "bob", "--json")
    # when the worker is killed with SIGKILL three times while sending, and restarted each time
    for round_number, threshold in enumerate((250, 700, 1150), start=1):
        wait_for(lambda t=threshold: sent_count(campaign) >= t, timeout=120, what=f"{threshold} sent")
        worker.kill()
        assert sent_count(campaign) < total, f"kill {round_number} came after the end"
        worker.start()
    # then every row ends sent and the sink holds exactly one message per notification
    wait_for(lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED, timeout=180,
             what="campaign completed")  # fmt: skip
    lost = assert_one_message_per_row(campaign, sink, may_lose=3 * 2)  # kills × pool processes
    # and only the message each killed process had in flight lacks its server confirmation
    unconfirmed = Notification.objects.filter(campaign=campaign, provider_message_id="").count()
    assert unconfirmed <= 3 * 2
    print(f"\n3 SIGKILLs: {len(sink.ids())} messages for {total} rows, {len(lost)} lost in the commit-dot gap, "
          f"{unconfirmed} unconfirmed")  # fmt: skip


# --- proof 2: Redis restarted mid-campaign -----------------------------------------------------------------------


@pytest.fixture
def own_redis(tmp_path):
    """A test-owned redis-server on a port in 16400–16499, restartable, stopped by PID."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is needed for the Redis-restart proof")
    port = next(p for p in range(16400 + os.getpid() % 50, 16500) if _port_free(p))
    state: dict = {"proc": None}

    def start() -> None:
        state["proc"] = subprocess.Popen(  # noqa: S603
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(lambda: _redis_up(port), timeout=20, what="redis up", step=0.1)

    def stop() -> None:
        if state["proc"] is not None and state["proc"].poll() is None:
            state["proc"].kill()
            state["proc"].wait(timeout=20)

    start()
    yield {"url": f"redis://127.0.0.1:{port}/0", "start": start, "stop": stop}
    stop()


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _redis_up(port: int) -> bool:
    try:
        return redis.Redis(port=port, socket_timeout=0.5).ping()
    except redis.exceptions.RedisError:
        return False


def test_a_redis_restart_mid_campaign_loses_nothing_and_doubles_nothing(sink, own_redis, worker_factory):
    # given a 600-patient email campaign on a test-owned Redis
    total = 600
    campaign = campaign_with_patients(total)
    env = child_env(sink, own_redis["url"])
    worker = worker_factory(env)
    worker.start()
    manage(env, "campaign", "launch", str(campaign.pk), "--by", "bob")
    # when Redis is killed mid-campaign (its queued messages vanish: no persistence) and started again
    wait_for(lambda: sent_count(campaign) >= 100, timeout=120, what="100 sent")
    own_redis["stop"]()
    assert sent_count(campaign) < total
    time.sleep(2)
    own_redis["start"]()

    # then the tick re-queues what the broker lost: every row sent once. kombu's Redis transport may
    # crash the worker on the lost connection ("Unrecoverable error: AttributeError ... 'hostname'",
    # seen in CI); production runs workers under a supervisor (compose `restart: unless-stopped`), and
    # so does this test: a worker that exited is started again, the database tells it what is left.
    def completed() -> bool:
        if worker.proc is not None and worker.proc.poll() is not None:
            worker.start()
        return Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED

    wait_for(completed, timeout=150, what="campaign completed")
    assert_one_message_per_row(campaign, sink)


# --- proof 2 on RabbitMQ: the broker restarted mid-campaign ---------------------------------------------------


@pytest.fixture
def own_rabbitmq():
    """A test-owned rabbitmq-server (its own node name, ports and data folder), restartable, stopped by PID.

    Like the machine's server it runs as the `rabbitmq` user (the start script switches to it), so its
    folder (outside pytest's, which only root may enter) is given to that user; its data survives a restart,
    as a production broker's disk does."""
    binary = shutil.which("rabbitmq-server")
    if binary is None:
        pytest.fail("rabbitmq-server is needed for the RabbitMQ-restart proof")
    port = next(p for p in range(16600 + os.getpid() % 50, 16700) if _port_free(p) and _port_free(p + 10000))
    base = Path(tempfile.mkdtemp(prefix="notifier-rabbitmq-"))
    (base / "rabbitmq.conf").write_text(f"listeners.tcp.default = 127.0.0.1:{port}\n")
    (base / "enabled_plugins").write_text("[].\n")
    for path in (base, base / "rabbitmq.conf", base / "enabled_plugins"):
        shutil.chown(path, "rabbitmq", "rabbitmq")
    node = f"notifier-test-{os.getpid()}@localhost"
    env = {
        **os.environ, "RABBITMQ_NODENAME": node, "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
        "RABBITMQ_DIST_PORT": str(port + 10000), "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"), "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
        "RABBITMQ_PID_FILE": str(base / "pid"),
    }  # fmt: skip
    state = {"proc": None}

    def start() -> None:
        (base / "pid").unlink(missing_ok=True)
        log = open(base / "server.log", "ab")  # noqa: SIM115 (closed with the process)
        state["proc"] = subprocess.Popen([binary], env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        wait_for(lambda: not _port_free(port), timeout=120, what="rabbitmq up", step=0.5)
        wait_for(lambda: (base / "pid").exists(), timeout=30, what="rabbitmq pid file", step=0.2)

    def stop() -> None:
        """SIGKILL the broker's Erlang VM (a crash, not a shutdown); the start script then exits."""
        if state["proc"] is not None and state["proc"].poll() is None:
            with contextlib.suppress(ProcessLookupError, ValueError, FileNotFoundError):
                os.kill(int((base / "pid").read_text().strip()), signal.SIGKILL)
            state["proc"].wait(timeout=60)
        wait_for(lambda: _port_free(port), timeout=30, what="rabbitmq down", step=0.2)

    try:
        start()
        yield {"url": f"amqp://guest:guest@127.0.0.1:{port}//", "start": start, "stop": stop, "node": node}
    finally:
        stop()
        shutil.rmtree(base, ignore_errors=True)


def test_a_rabbitmq_restart_mid_campaign_loses_nothing_and_doubles_nothing(sink, own_rabbitmq, worker_factory):
    # given a 600-patient email campaign on a test-owned RabbitMQ (quorum queues, publisher confirms)
    total = 600
    campaign = campaign_with_patients(total)
    env = child_env(sink, own_rabbitmq["url"])
    worker = worker_factory(env)
    worker.start()
    manage(env, "campaign", "launch", str(campaign.pk), "--by", "bob")
    # when the broker's VM is killed mid-campaign and started again on the same data
    wait_for(lambda: sent_count(campaign) >= 100, timeout=120, what="100 sent")
    own_rabbitmq["stop"]()
    assert sent_count(campaign) < total
    own_rabbitmq["start"]()

    # then every row is sent once (a worker that exited on the lost connection is started again, as the
    # compose file's `restart: unless-stopped` would; the database tells it what is left)
    def completed() -> bool:
        if worker.proc is not None and worker.proc.poll() is not None:
            worker.start()
        return Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED

    wait_for(completed, timeout=240, what="campaign completed")
    assert_one_message_per_row(campaign, sink)


def test_on_rabbitmq_the_default_queue_is_a_quorum_queue_with_publisher_confirms(rabbitmq_vhost, tmp_path):
    # given the settings a process gets with an amqp:// broker URL
    code = (
        "import django, json; django.setup(); from config.celery import app; c = app.conf; "
        "print(json.dumps([c.task_default_queue_type, c.broker_transport_options, c.task_acks_late, "
        "c.worker_prefetch_multiplier, c.worker_detect_quorum_queues]))"
    )
    env = {**os.environ, "CELERY_BROKER_URL": rabbitmq_vhost, "DJANGO_SETTINGS_MODULE": "config.settings"}
    out = subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)  # noqa: S603
    # then quorum queues, publisher confirms, late acknowledgement, one message at a time
    queue_type, transport, acks_late, prefetch, detect = json.loads(out.stdout.splitlines()[-1])
    assert queue_type == "quorum" and transport == {"confirm_publish": True}
    assert acks_late is True and prefetch == 1 and detect is True
    # and the queue a worker declares on that vhost is a quorum queue
    from kombu import Connection

    declare = (
        "import django; django.setup(); from config.celery import app\n"
        "with app.connection_for_write() as conn:\n"
        "    for queue in app.amqp.queues.values(): queue(conn.default_channel).declare()\n"
    )
    subprocess.run([PYTHON, "-c", declare], cwd=ROOT, env=env, check=True, timeout=60)  # noqa: S603
    with Connection(rabbitmq_vhost) as conn:
        channel = conn.default_channel
        from kombu import Queue

        # redeclaring with another type is refused by RabbitMQ: proof of the type the worker declared, for
        # both queues (print batches have their own)
        for name in ("celery", "letters"):
            with pytest.raises(Exception, match="x-queue-type"):
                Queue(name, queue_arguments={"x-queue-type": "classic"}, channel=channel).declare()
            channel = conn.channel()  # the refusal closes the channel
