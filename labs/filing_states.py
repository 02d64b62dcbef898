"""Where a case file stands with its Art. 33 filing, defined once: the admin, the dashboards and the CNIL table
read it here.

Pure: from the case file's own fields and `now`, no query. `filing_state_q` is the same rule as a queryset
filter (the admin's list filter); a test holds the function and the filter together.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import BreachLaboratory


class FilingState(models.TextChoices):
    ON_TIME = "on_time", _("déposée dans les délais")
    LATE = "late", _("déposée hors délai")
    MISSING = "missing", _("manquante, échéance dépassée")  # no initial filing and the deadline has passed
    PENDING = "pending", _("à déposer, dans les délais")  # no initial filing yet, deadline still ahead
    NOT_REQUIRED = "not_required", _("non requise (décision motivée)")  # decided not to notify (register)


# Most urgent first: the order the CNIL liaison sorts and sums the states in.
FILING_STATE_URGENCY = {
    FilingState.MISSING: 0,
    FilingState.LATE: 1,
    FilingState.PENDING: 2,
    FilingState.NOT_REQUIRED: 3,
    FilingState.ON_TIME: 4,
}


def initial_filing_late(case_file: BreachLaboratory, *, at: dt.datetime) -> bool:
    """Whether an initial filing made at `at` is late (Art. 33(1): it must then give the reasons for the delay).

    True whatever the decision: a laboratory that decided not to notify and files after all files late."""
    return case_file.first_filed_at is None and case_file.due_at < at


def filing_state(case_file: BreachLaboratory, *, now: dt.datetime) -> FilingState:
    """The state of the case file's initial filing at `now`."""
    if case_file.first_filed_at is not None:
        return FilingState.LATE if case_file.filed_late else FilingState.ON_TIME
    if case_file.cnil_decision == BreachLaboratory.Decision.NOT_NOTIFY:
        return FilingState.NOT_REQUIRED
    return FilingState.MISSING if initial_filing_late(case_file, at=now) else FilingState.PENDING


def filing_state_q(state: FilingState | str, *, now: dt.datetime) -> Q:
    """The case files in `state` at `now`, as a filter on BreachLaboratory: the rules of `filing_state`."""
    filed = Q(first_filed_at__isnull=False)
    unfiled = Q(first_filed_at__isnull=True)
    not_notify = Q(cnil_decision=BreachLaboratory.Decision.NOT_NOTIFY)
    return {
        FilingState.ON_TIME: filed & (Q(filed_late=False) | Q(filed_late__isnull=True)),
        FilingState.LATE: filed & Q(filed_late=True),
        FilingState.NOT_REQUIRED: unfiled & not_notify,
        FilingState.MISSING: unfiled & ~not_notify & Q(due_at__lt=now),
        FilingState.PENDING: unfiled & ~not_notify & Q(due_at__gte=now),
    }[FilingState(state)]
