"""The Art. 33 filing states, defined once in labs/filing_states.py: the function, its filter, their readers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from labs.filing_states import FilingState, filing_state, filing_state_q, initial_filing_late
from labs.models import BreachLaboratory
from tests.factories import BreachFactory, LaboratoryFactory

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
NOTIFY, NOT_NOTIFY = BreachLaboratory.Decision.NOTIFY, BreachLaboratory.Decision.NOT_NOTIFY

# (hours from NOW to the deadline, hours from the deadline to the first filing or None, filed late,
#  decision) → state
CASES = [
    (-10, -2, False, NOTIFY, FilingState.ON_TIME),
    (-10, None, None, NOTIFY, FilingState.MISSING),
    (-10, None, None, NOT_NOTIFY, FilingState.NOT_REQUIRED),
    (-10, 3, True, NOT_NOTIFY, FilingState.LATE),  # decided not to, filed after all, late: the filing wins
    (5, None, None, BreachLaboratory.Decision.UNDECIDED, FilingState.PENDING),
    (0, None, None, NOTIFY, FilingState.PENDING),  # the deadline minute itself is still in time
    (5, -1, None, NOTIFY, FilingState.ON_TIME),  # filed, lateness never recorded: not called late
]


def _case_file(due_in_hours, filed_after_due_hours, filed_late, decision, **fields) -> BreachLaboratory:
    due_at = NOW + dt.timedelta(hours=due_in_hours)
    filed_at = due_at + dt.timedelta(hours=filed_after_due_hours) if filed_after_due_hours is not None else None
    return BreachLaboratory(
        aware_at=due_at - dt.timedelta(hours=72), due_at=due_at, first_filed_at=filed_at, filed_late=filed_late,
        cnil_decision=decision, **fields,
    )  # fmt: skip


@pytest.mark.parametrize(("due_in", "filed_after", "late", "decision", "state"), CASES)
def test_the_filing_state_is_read_from_the_case_files_own_fields(due_in, filed_after, late, decision, state):
    # given an unsaved case file (no query: the function is pure) / when / then
    assert filing_state(_case_file(due_in, filed_after, late, decision), now=NOW) == state


def test_every_state_has_a_french_label():
    assert FilingState.MISSING.label == "manquante, échéance dépassée"
    assert all(str(state.label) for state in FilingState)


def test_a_filing_now_is_late_past_the_deadline_even_after_deciding_not_to_notify():
    # given a case file decided "not to notify", past its deadline
    case_file = _case_file(-1, None, None, NOT_NOTIFY)
    # then it is not "missing", yet filing now needs the reasons for the delay (the filing form warns)
    assert filing_state(case_file, now=NOW) == FilingState.NOT_REQUIRED
    assert initial_filing_late(case_file, at=NOW)
    assert not initial_filing_late(_case_file(1, None, None, NOTIFY), at=NOW)


@pytest.mark.django_db
def test_the_queryset_filter_puts_every_case_file_in_the_state_the_function_gives():
    # given one saved case file per case above
    breach = BreachFactory()
    for n, (due_in, filed_after, late, decision, _state) in enumerate(CASES):
        case_file = _case_file(due_in, filed_after, late, decision, breach=breach,
                               laboratory=LaboratoryFactory(code=f"LAB-S{n}"))  # fmt: skip
        case_file.save()
        # save() derives due_at from aware_at: keep the deadline the case asks for
        BreachLaboratory.objects.filter(pk=case_file.pk).update(due_at=NOW + dt.timedelta(hours=due_in))
    # when each state is asked of the database
    by_filter = {
        pk: state
        for state in FilingState
        for pk in BreachLaboratory.objects.filter(filing_state_q(state, now=NOW)).values_list("pk", flat=True)
    }
    # then every case file is in exactly the state the function gives it
    case_files = list(BreachLaboratory.objects.all())
    assert len(by_filter) == len(case_files) == len(CASES)
    assert {cf.pk: filing_state(cf, now=NOW) for cf in case_files} == by_filter


@pytest.mark.django_db
def test_the_admins_overdue_filter_lists_exactly_the_missing_filings(client, login_verified, dpo_lab_a, lab_a):
    # given at laboratory A: one missing filing, one past its deadline but decided "not to notify", one pending
    now = timezone.now()
    missing, not_required, pending = (
        BreachLaboratory.objects.create(breach=BreachFactory(), laboratory=lab_a, aware_at=now - dt.timedelta(hours=h))
        for h in (100, 100, 10)
    )
    BreachLaboratory.objects.filter(pk=not_required.pk).update(cnil_decision=NOT_NOTIFY)
    login_verified(client, dpo_lab_a)
    # when the DPO filters the case files on "overdue"
    response = client.get(reverse("admin:labs_breachlaboratory_changelist") + "?deadline=overdue")
    # then the list is the one the dashboards call "missing"
    listed = {cf.pk for cf in response.context["cl"].result_list}
    assert listed == {missing.pk}
    assert {cf.pk for cf in BreachLaboratory.objects.all() if filing_state(cf, now=now) == FilingState.MISSING} == {
        missing.pk
    }
    assert pending.pk not in listed
