"""Where an obligation stands, defined once: its clocks (one per step of its regime) and its state.

Pure: from the obligation, its case file, its linked filings and `now`, no query of its own (the callers
select or prefetch `case_file` and `filings`). The regime says what files each step (`evidence`):
- "cnil_filing": the case file's initial CNIL filing (labs/filing_states.py's own fields, due_at included,
  so the CNIL obligation and the CNIL clock can never disagree);
- "people_informed": the Art. 34 communication, followed through the campaigns (case_file.people_informed);
- "authority_notification": the AuthorityNotification rows recorded for the step.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from .deadlines import deadline_for, format_elapsed, format_paris, format_time_left, step_deadline, time_left
from .filings import BreachLaboratory
from .obligations import Obligation, step_label


class ObligationState(models.TextChoices):
    TO_ASSESS = "to_assess", _("à évaluer")
    PENDING_APPROVAL = "pending_approval", _("« non requise » en attente d'approbation")
    NOT_REQUIRED = "not_required", _("non requise (motivée, approuvée)")
    REQUIRED = "required", _("requise, à déposer")
    IN_PROGRESS = "in_progress", _("en cours")
    LATE = "late", _("en retard : échéance dépassée")
    FILED = "filed", _("déposée dans les délais")
    FILED_LATE = "filed_late", _("déposée hors délai")


# Most urgent first: the DPO dashboard's order.
OBLIGATION_STATE_URGENCY = {
    ObligationState.LATE: 0,
    ObligationState.TO_ASSESS: 1,
    ObligationState.PENDING_APPROVAL: 2,
    ObligationState.REQUIRED: 3,
    ObligationState.IN_PROGRESS: 4,
    ObligationState.FILED_LATE: 5,
    ObligationState.FILED: 6,
    ObligationState.NOT_REQUIRED: 7,
}


@dataclass(frozen=True)
class StepClock:
    step: str
    label: str
    started_at: dt.datetime | None  # what the step counts from: the awareness, or an earlier step's filing
    due_at: dt.datetime | None  # None: « sans délai », no target
    is_target: bool  # an internal target (« sans délai » in the law), not a legal deadline
    filed_at: dt.datetime | None
    late: bool | None  # frozen at filing; None while unfiled
    in_progress: bool = False

    def overdue(self, now: dt.datetime) -> bool:
        return self.filed_at is None and self.due_at is not None and self.due_at < now


def _cnil_step(case_file: BreachLaboratory, step: dict) -> StepClock:
    return StepClock(
        step=step["step"], label=step_label(step["step"]), started_at=case_file.aware_at, due_at=case_file.due_at,
        is_target=False,
        filed_at=case_file.first_filed_at, late=case_file.filed_late,
    )  # fmt: skip


def _people_informed_step(
    case_file: BreachLaboratory, step: dict, start: dt.datetime | None, due_at: dt.datetime | None
) -> StepClock:
    informed = BreachLaboratory.Informed
    done = case_file.people_informed == informed.DONE
    filed_at = (case_file.people_informed_last_at or case_file.people_informed_synced_at) if done else None
    late = (filed_at > due_at) if filed_at and due_at else (False if filed_at else None)
    return StepClock(
        step=step["step"], label=step_label(step["step"]), started_at=start, due_at=due_at,
        is_target=step.get("target_hours") is not None,
        filed_at=filed_at, late=late, in_progress=case_file.people_informed == informed.IN_PROGRESS,
    )  # fmt: skip


def obligation_clocks(obligation: Obligation) -> list[StepClock]:
    """One clock per step of the obligation's regime, in order; a step counted "from" an earlier one starts at
    that step's filing (its due time while it is unfiled)."""
    case_file = obligation.case_file
    config = obligation.regime_config
    filings = sorted(obligation.filings.all(), key=lambda f: (f.notified_at, f.pk)) if obligation.pk else []
    clocks: dict[str, StepClock] = {}
    for step in config["steps"]:
        start_from = step.get("from", "aware_at")
        if start_from == "aware_at":
            start = case_file.aware_at
        else:
            previous = clocks[start_from]
            start = previous.filed_at or previous.due_at
        if step.get("hours") is not None or step.get("months") is not None:
            due_at = step_deadline(start, hours=step.get("hours"), months=step.get("months")) if start else None
        elif step.get("target_hours") is not None:
            due_at = deadline_for(start, hours=step["target_hours"]) if start else None
        else:
            due_at = None
        if config["evidence"] == "cnil_filing":
            clock = _cnil_step(case_file, step)
        elif config["evidence"] == "people_informed":
            clock = _people_informed_step(case_file, step, start, due_at)
        else:
            first = next((f for f in filings if f.step == step["step"]), None)
            clock = StepClock(
                step=step["step"], label=step_label(step["step"]), started_at=start, due_at=due_at,
                is_target=step.get("hours") is None and step.get("months") is None and due_at is not None,
                filed_at=first.notified_at if first else None, late=first.late if first else None,
            )  # fmt: skip
        clocks[step["step"]] = clock
    return list(clocks.values())


def obligation_state(
    obligation: Obligation, *, now: dt.datetime, clocks: list[StepClock] | None = None
) -> ObligationState:
    """The obligation's state at `now`: filed (on time or late) once every step is; late while a step is past its
    due time unfiled (a "not required" not yet approved does not stop the clock); else its assessment."""
    clocks = obligation_clocks(obligation) if clocks is None else clocks
    assessment = Obligation.Assessment
    if clocks and all(c.filed_at is not None for c in clocks):
        return ObligationState.FILED_LATE if any(c.late for c in clocks) else ObligationState.FILED
    if obligation.assessment == assessment.NOT_REQUIRED:
        return ObligationState.NOT_REQUIRED
    if any(c.overdue(now) for c in clocks):
        return ObligationState.LATE
    if obligation.assessment == assessment.TO_ASSESS:
        return ObligationState.TO_ASSESS
    if obligation.assessment == assessment.PENDING_APPROVAL:
        return ObligationState.PENDING_APPROVAL
    if any(c.filed_at is not None or c.in_progress for c in clocks):
        return ObligationState.IN_PROGRESS
    return ObligationState.REQUIRED


def next_clock(clocks: list[StepClock]) -> StepClock | None:
    """The first step still to file (what the dashboard's clock shows), or None when all are filed."""
    return next((c for c in clocks if c.filed_at is None), None)


def clock_text(clock: StepClock | None, *, now=None) -> str:
    """The clock of a step as a DPO reads it: due time and time left, or « sans délai » and time elapsed."""
    if clock is None:
        return str(_("toutes les étapes sont déposées"))
    kind = _("cible interne") if clock.is_target else _("échéance")
    due = f"{kind} {format_paris(clock.due_at)}" if clock.due_at else "« sans délai »"
    if clock.filed_at is not None:  # the clock has stopped: when, and whether late, instead of a time left
        late = _(" (hors délai)") if clock.late else ""
        return f"{clock.label} : {due} — {_('déposée le')} {format_paris(clock.filed_at)}{late}"
    if clock.due_at is None:
        since = format_elapsed(clock.started_at, now=now) if clock.started_at else ""
        return f"{clock.label} : {due} — {since}"
    return f"{clock.label} : {due} — {format_time_left(time_left(clock.due_at, now=now))}"
