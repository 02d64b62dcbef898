"""PgBouncer in transaction pooling in front of PostgreSQL (NOTIFIER_PGBOUNCER=1): the importer's COPY and a
campaign's launch (COPY, server-side-cursor-free iteration) and sending path (pipelined COMMIT of "sent"
beside the final dot) work through it, in real subprocesses whose only database address is PgBouncer's.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/notifier_multihost CELERY_BROKER_URL=redis://127.0.0.1:6379/13 \\
     .venv/bin/python -m pytest -m integration tests/test_pgbouncer.py -q -p no:cacheprovider
"""

from __future__ import annotations

import json
import subprocess

import pytest
from django.conf import settings

from notifier.models import Campaign, Notification
from patients.models import Patient
from tests.factories import BreachFactory
from tests.notifier import test_integration as proofs
from tests.notifier.test_integration import PYTHON, ROOT, campaign_with_patients, child_env, manage, wait_for
from tests.servers import pgbouncer_stats

sink, purged_broker, worker_factory = proofs.sink, proofs.purged_broker, proofs.worker_factory
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def through(pgbouncer, env: dict[str, str]) -> dict[str, str]:
    """`env` with PgBouncer as the only database address, and the settings switch for it."""
    host, port = pgbouncer
    name = settings.DATABASES["default"]["NAME"]
    return {**env, "DATABASE_URL": f"postgres://postgres@{host}:{port}/{name}", "NOTIFIER_PGBOUNCER": "1"}


def test_the_switch_turns_server_side_cursors_off(pgbouncer):
    # given the environment of a host behind PgBouncer, and one without the switch
    code = "import django; django.setup(); from django.conf import settings as s; " \
           "print(json.dumps(s.DATABASES['default']['DISABLE_SERVER_SIDE_CURSORS']))"  # fmt: skip
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings"}

    def load(extra: dict[str, str]) -> bool:
        out = subprocess.run(  # noqa: S603
            [PYTHON, "-c", f"import json; {code}"], cwd=ROOT, env={**env, **extra}, capture_output=True, text=True,
            check=True,
        ).stdout  # fmt: skip
        return json.loads(out.splitlines()[-1])

    # then only the switched one reads without server-side cursors
    assert load(through(pgbouncer, {})) is True
    assert load({"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/x"}) is False


def test_the_importer_copies_a_leak_through_pgbouncer(pgbouncer, tmp_path):
    # given a generated leak of 2,000 records (broken ones included) and a breach
    breach = BreachFactory(slug="fuite-pgbouncer")
    env = through(pgbouncer, {**child_env_minimal(), "NOTIFIER_VAR_DIR": str(tmp_path)})
    truth = json.loads(manage(env, "generate_leak", str(tmp_path / "leak.csv"), "--rows", "2000", "--labs", "3",
                              "--json"))  # fmt: skip
    before = pgbouncer_stats(*pgbouncer, settings.DATABASES["default"]["NAME"])
    # when it is imported by a process that reaches PostgreSQL through PgBouncer only
    report = json.loads(manage(env, "import_leak", str(tmp_path / "leak.csv"), "--breach", breach.slug,
                               "--allow-new-laboratories", "--json").splitlines()[-1])  # fmt: skip
    # then the patients the importer reports are in the database, and the transactions went through PgBouncer
    assert report["patients"] == Patient.objects.filter(breach=breach).count() > 0
    assert Patient.objects.filter(breach=breach).count() == truth["patients"]
    after = pgbouncer_stats(*pgbouncer, settings.DATABASES["default"]["NAME"])
    assert after["transactions"] > before["transactions"]


def child_env_minimal() -> dict[str, str]:
    import os

    return {**os.environ, "DB_CONN_MAX_AGE": "0"}


def test_a_campaign_launches_and_sends_through_pgbouncer(pgbouncer, sink, purged_broker, worker_factory):
    # given a 400-patient email campaign, and a worker and a launch that reach PostgreSQL through PgBouncer only
    total = 400
    campaign = campaign_with_patients(total)
    env = through(pgbouncer, child_env(sink, purged_broker, DB_CONN_MAX_AGE="60"))
    before = pgbouncer_stats(*pgbouncer, settings.DATABASES["default"]["NAME"])
    worker_factory(env).start()
    # when the campaign is launched (COPY of its rows) and sent (pipelined COMMIT beside each final dot)
    launched = json.loads(manage(env, "campaign", "launch", str(campaign.pk), "--by", "bob", "--json"))
    assert launched
    wait_for(lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED, timeout=240,
             what="campaign completed")  # fmt: skip
    # then every row is sent, one message each, and PgBouncer relayed at least one transaction per row
    proofs.assert_one_message_per_row(campaign, sink)
    assert Notification.objects.filter(campaign=campaign).count() == total
    after = pgbouncer_stats(*pgbouncer, settings.DATABASES["default"]["NAME"])
    assert after["transactions"] - before["transactions"] >= total
