"""`run_periodic`: celery beat for the embedded shape (no broker), as `make demo` runs it."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from celery import shared_task
from django.core import mail
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from dashboards import cnil
from labs import access
from labs.management.commands.run_periodic import PeriodicRunner
from labs.models import BreachLaboratory, DeadlineReminder
from tests.access_fixtures import make_staff
from tests.factories import BreachFactory

CALLS: list[str] = []


@shared_task(name="tests.periodic.record")
def record_task(label: str = "") -> str:
    CALLS.append(label)
    return label


@shared_task(name="tests.periodic.broken")
def broken_task() -> None:
    raise RuntimeError("panne simulée")


@pytest.fixture(autouse=True)
def _clean():
    CALLS.clear()
    cache.delete(cnil.CNIL_COUNTS_CACHE_KEY)
    yield
    cache.delete(cnil.CNIL_COUNTS_CACHE_KEY)


@pytest.fixture
def overdue_case_file(lab_a):
    # a DPO with an email, and a case file past its 72 hours, not filed
    make_staff("dpo-rappel", role=access.DPO, laboratories=[lab_a])
    breach = BreachFactory(slug="rappel", aware_at=timezone.now() - dt.timedelta(hours=80))
    return BreachLaboratory.objects.create(breach=breach, laboratory=lab_a, aware_at=breach.aware_at)


def test_one_pass_runs_every_task_of_the_beat_schedule_and_a_reminder_arrives(settings, overdue_case_file):
    # given the project's own schedule
    names = set(settings.CELERY_BEAT_SCHEDULE)
    assert {"labs-deadline-reminders", "campaigns-tick", "cnil-counts-refresh"} <= names
    out = StringIO()
    # when one pass runs
    call_command("run_periodic", "--once", "--json", stdout=out)
    # then every entry ran, successfully
    summary = json.loads(out.getvalue())
    assert set(summary) == names
    assert all(entry["ok"] for entry in summary.values()), summary
    assert {entry["task"] for entry in summary.values()} == {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    # and the DPO's overdue reminder went out, the CNIL counts were refreshed
    assert summary["labs-deadline-reminders"]["result"] == 1
    assert len(mail.outbox) == 1 and "dpo-rappel@staff.example" in mail.outbox[0].to
    assert DeadlineReminder.objects.filter(case_file=overdue_case_file, kind="overdue", skipped=False).count() == 1
    assert cache.get(cnil.CNIL_COUNTS_CACHE_KEY) is not None


def test_a_second_pass_sends_no_second_reminder(overdue_case_file):
    call_command("run_periodic", "--once", stdout=StringIO())
    call_command("run_periodic", "--once", stdout=StringIO())
    assert len(mail.outbox) == 1


def test_each_task_runs_again_at_its_own_interval():
    # given two entries every 50 s and every 300 s
    runner = PeriodicRunner(
        {
            "fast": {"task": "tests.periodic.record", "schedule": 50.0, "args": ("fast",)},
            "slow": {"task": "tests.periodic.record", "schedule": dt.timedelta(minutes=5), "kwargs": {"label": "slow"}},
        }
    )
    # when the clock runs: at start both, then only what is due
    assert [o.name for o in runner.run_due(0.0)] == ["fast", "slow"]
    assert runner.run_due(30.0) == []
    assert 19.0 <= runner.seconds_until_next(30.0) <= 20.0
    assert [o.name for o in runner.run_due(50.5)] == ["fast"]
    assert [o.name for o in runner.run_due(301.0)] == ["fast", "slow"]
    # then each ran with its arguments, as often as its interval allows
    assert CALLS == ["fast", "slow", "fast", "fast", "slow"]


def test_a_failing_task_is_reported_and_the_others_still_run():
    runner = PeriodicRunner(
        {
            "broken": {"task": "tests.periodic.broken", "schedule": 60.0},
            "after": {"task": "tests.periodic.record", "schedule": 60.0, "args": ("après",)},
        }
    )
    outcomes = {o.name: o for o in runner.run_due(0.0)}
    assert not outcomes["broken"].ok and "panne simulée" in outcomes["broken"].result
    assert outcomes["after"].ok and CALLS == ["après"]
    # and the broken one is retried at its next interval, not in a tight loop
    assert runner.run_due(1.0) == []


def test_a_failing_pass_exits_non_zero_with_a_french_message(settings):
    settings.CELERY_BEAT_SCHEDULE = {"broken": {"task": "tests.periodic.broken", "schedule": 60.0}}
    err = StringIO()
    with pytest.raises(CommandError, match="Au moins une tâche périodique a échoué"):
        call_command("run_periodic", "--once", stdout=StringIO(), stderr=err)
    assert "ÉCHEC" in err.getvalue() and "panne simulée" in err.getvalue()


def test_an_unknown_task_name_in_the_schedule_is_refused_at_start_in_french(settings):
    settings.CELERY_BEAT_SCHEDULE = {"typo": {"task": "labs.tasks.n_existe_pas", "schedule": 60.0}}
    with pytest.raises(CommandError, match="Tâche inconnue dans CELERY_BEAT_SCHEDULE : labs.tasks.n_existe_pas"):
        call_command("run_periodic", "--once", stdout=StringIO())
