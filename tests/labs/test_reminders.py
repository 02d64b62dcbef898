import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from labs.models import BreachLaboratory, DeadlineReminder
from labs.services import cnil_filing_record
from labs.tasks import deadline_reminders_send_task
from tests.factories import BreachFactory

from .helpers import complete_case_file

pytestmark = pytest.mark.django_db

AWARE = dt.datetime(2021, 3, 26, 9, 0, tzinfo=dt.UTC)  # due 2021-03-29 09:00 UTC, across the March change
DUE = AWARE + dt.timedelta(hours=72)


@pytest.fixture
def case_file(lab_a, dpo_lab_a):
    return BreachLaboratory.objects.create(breach=BreachFactory(aware_at=AWARE), laboratory=lab_a, aware_at=AWARE)


def _run_at(moment):
    with time_machine.travel(moment, tick=False):
        return deadline_reminders_send_task.apply().get()  # in-process, whatever the broker


def test_reminders_go_at_t_minus_24h_t_minus_6h_and_overdue_exactly_once_each(case_file):
    # given an open case file; when the beat runs before, at each step, and again at each step
    runs = [
        _run_at(DUE - dt.timedelta(hours=30)),
        _run_at(DUE - dt.timedelta(hours=23)),
        _run_at(DUE - dt.timedelta(hours=22)),
        _run_at(DUE - dt.timedelta(hours=5)),
        _run_at(DUE - dt.timedelta(hours=5)),
        _run_at(DUE + dt.timedelta(minutes=1)),
        _run_at(DUE + dt.timedelta(days=3)),
    ]
    # then one email at each step and never a second one
    assert runs == [0, 1, 0, 1, 0, 1, 0]
    assert [m.subject.startswith("[Échéance CNIL dépassée]") for m in mail.outbox] == [False, False, True]
    assert sorted(mail.outbox[0].to) == ["dpo-a@staff.example", "dpo@lab-a.example"]
    assert DeadlineReminder.objects.filter(case_file=case_file, sent_at__isnull=False).count() == 3


def test_the_reminder_names_the_deadline_in_paris_time_and_carries_no_patient_data(case_file, lab_a):
    # given a patient of the laboratory, and the T-24h reminder
    from tests.factories import PatientFactory

    patient = PatientFactory(breach=case_file.breach, laboratory=lab_a, last_name="Quelennec", sensitive_mask=1)
    _run_at(DUE - dt.timedelta(hours=23))
    # then the Paris time (summer time after the change) is quoted, and no patient detail appears
    body = mail.outbox[0].body
    assert "29/03/2021 11:00 (UTC+02:00)" in body
    assert f"/admin/labs/breachlaboratory/{case_file.pk}/change/" in body
    assert patient.last_name not in body and patient.nir_masked not in body


def test_a_beat_that_was_down_sends_only_the_most_urgent_reminder(case_file):
    # given the beat first runs 2 hours before the deadline
    sent = _run_at(DUE - dt.timedelta(hours=2))
    # then only the T-6h reminder goes; the T-24h one is recorded as skipped and never sent later
    assert sent == 1
    assert dict(DeadlineReminder.objects.values_list("kind", "skipped")) == {"t-24h": True, "t-6h": False}
    assert _run_at(DUE - dt.timedelta(hours=1)) == 0


def test_no_reminder_once_the_case_file_is_filed_or_decided_not_to_notify(lab_a, lab_b, dpo_lab_a):
    # given one case file filed, one decided "not to notify", both due in 5 hours
    with time_machine.travel(DUE - dt.timedelta(hours=10), tick=False):
        filed = complete_case_file(lab_a, breach=BreachFactory(aware_at=AWARE), aware_at=AWARE)
        cnil_filing_record(case_file=filed, submitted_at=timezone.now(), by=dpo_lab_a)
    BreachLaboratory.objects.create(
        breach=filed.breach, laboratory=lab_b, aware_at=AWARE, cnil_decision="not_notify", cnil_decision_reason="x"
    )
    # when the beat runs, then nothing is sent
    assert _run_at(DUE - dt.timedelta(hours=5)) == 0
    assert mail.outbox == []


def test_the_beat_schedule_names_registered_labs_tasks(settings):
    # given the beat schedule, when its labs entries are resolved, then each names a registered task
    from config.celery import app

    names = {entry["task"] for key, entry in settings.CELERY_BEAT_SCHEDULE.items() if key.startswith("labs-")}
    assert names == {"labs.tasks.deadline_reminders_send_task", "labs.tasks.audit_purge_task"}
    assert names <= set(app.tasks)
