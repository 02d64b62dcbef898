"""How urgent a case file is for its DPO: the order of the DPO dashboard and the colour of each row.

Built on the one filing state (`labs.filing_states`) and the first reminder's offset (`labs.services`): a
case file turns "due soon" when its DPO receives the T−24 h reminder, so the page and the email agree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from labs.filing_states import FilingState, filing_state
from labs.models import BreachLaboratory
from labs.selectors import case_file_missing
from labs.services import REMINDER_OFFSETS

DUE_SOON = REMINDER_OFFSETS[0][1]  # T−24 h

# Most urgent first. "soon" is a pending case file inside the last 24 hours; filed and decided case files
# have no deadline left to meet; a campaign without a case file (not opened yet) comes last.
URGENCY_RANK = {"missing": 0, "soon": 1, "pending": 2, "filed": 3, "not_required": 4, "none": 5}
URGENCY_LABELS = {
    "missing": "échéance dépassée, notification à déposer",
    "soon": "échéance dans moins de 24 h",
    "pending": "à déposer, dans les délais",
    "not_required": "non requise (décision motivée)",
    "none": "dossier art. 33 pas encore ouvert",
}


def case_file_urgency(case_file: BreachLaboratory | None, *, now: dt.datetime) -> str:
    """One of URGENCY_RANK's keys."""
    if case_file is None:
        return "none"
    state = filing_state(case_file, now=now)
    if state == FilingState.MISSING:
        return "missing"
    if state == FilingState.PENDING:
        return "soon" if case_file.due_at - now <= DUE_SOON else "pending"
    if state == FilingState.NOT_REQUIRED:
        return "not_required"
    return "filed"


def urgency_sort_key(case_file: BreachLaboratory | None, laboratory_code: str, *, now: dt.datetime) -> tuple:
    """Overdue first (the longest overdue on top), then the soonest due, then what is filed; ties by code."""
    urgency = case_file_urgency(case_file, now=now)
    due = case_file.due_at if case_file is not None else dt.datetime.max.replace(tzinfo=dt.UTC)
    return (URGENCY_RANK[urgency], due, laboratory_code)


def case_file_to_complete(case_file: BreachLaboratory | None) -> list[str]:
    """The Art. 33(3) items still missing (« à compléter »): the labs selector, called from here only.

    The case file should come with `laboratory` selected and `measures` prefetched (one query for all)."""
    return [] if case_file is None else case_file_missing(case_file)


def urgency_view(case_file: BreachLaboratory | None, *, now: dt.datetime) -> dict[str, Any]:
    urgency = case_file_urgency(case_file, now=now)
    return {"urgency": urgency, "urgency_label": URGENCY_LABELS.get(urgency, "")}
