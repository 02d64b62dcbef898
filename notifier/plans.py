"""A campaign's hand-over plan: which print batch goes to La Poste on which day, and the calls that follow.

The arithmetic is `notifier.planner`; this module reads the campaign (declared capacity, first day), its
print batches (those already handed over count where they went; the others are planned from today) and
the settings (call rate and curve, postal delay). Recomputed on each read, so a day without hand-over
moves the rest of the plan forward rather than piling two days' letters onto one. Before launch, the
letters the launch would create are planned in batches of CAMPAIGN_PRINT_CHUNK (a projection).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from . import planner
from .campaigns import CampaignError, campaign_trail
from .models import Campaign, PrintBatch
from .targets import launch_forecast

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


class CapacityError(CampaignError):
    """A capacity or start date the plan cannot use; the message is French and names the field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def capacity_check(
    *, agents: int | None, calls_per_agent: int | None, start: dt.date | None, today: dt.date | None = None
) -> None:
    """CapacityError unless the declaration is usable: both numbers or neither, each at least 1, no past start."""
    today = today or timezone.localdate()
    if (agents is None) != (calls_per_agent is None):
        missing = "call_centre_agents" if agents is None else "calls_per_agent_per_day"
        raise CapacityError(
            missing, "Déclarez les deux : le nombre d'agents et les appels par agent et par jour (ou aucun des deux)."
        )
    for name, value, label in (
        ("call_centre_agents", agents, "Le nombre d'agents"),
        ("calls_per_agent_per_day", calls_per_agent, "Le nombre d'appels par agent et par jour"),
    ):
        if value is not None and value < 1:
            raise CapacityError(name, f"{label} doit être au moins 1 (reçu : {value}).")
    if start is not None and start < today:
        raise CapacityError(
            "hand_over_start",
            f"La première remise ne peut pas être dans le passé ({start:%d/%m/%Y}, nous sommes le {today:%d/%m/%Y}).",
        )


def campaign_capacity_set(
    *, campaign: Campaign, agents: int | None, calls_per_agent: int | None, start: dt.date | None,
    by: AbstractBaseUser | None,
) -> Campaign:  # fmt: skip
    """Declare (or clear, with None) the call centre's capacity and the first hand-over day; idempotent.

    Allowed in any state but completed or cancelled: the call centre's staffing changes while letters go out."""
    if campaign.status in (Campaign.Status.COMPLETED, Campaign.Status.CANCELLED):
        raise CampaignError(f"La campagne est « {campaign.get_status_display()} » : il n'y a plus rien à planifier.")
    unchanged_start = start is not None and start == campaign.hand_over_start
    capacity_check(agents=agents, calls_per_agent=calls_per_agent, start=None if unchanged_start else start)
    plan_check(campaign=campaign, agents=agents, calls_per_agent=calls_per_agent)
    with transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(
            call_centre_agents=agents, calls_per_agent_per_day=calls_per_agent, hand_over_start=start,
            updated_at=timezone.now(),
        )  # fmt: skip
        campaign_trail(campaign, "capacity", by, agents=agents, calls_per_agent=calls_per_agent,
                       start=start.isoformat() if start else None)  # fmt: skip
    campaign.refresh_from_db()
    return campaign


def plan_check(*, campaign: Campaign, agents: int | None, calls_per_agent: int | None) -> None:
    """CampaignError when no plan can keep the calls under this capacity (a batch alone exceeds it)."""
    if agents is None or calls_per_agent is None:
        return
    peak = max(_curve(), default=0)
    sizes = list(
        PrintBatch.objects.filter(campaign=campaign, handed_over_at=None).values_list("letter_count", flat=True)
    )
    biggest = max([*sizes, 0]) if sizes or campaign.launched_at else min(launch_forecast(campaign).post,
                                                                        settings.CAMPAIGN_PRINT_CHUNK)  # fmt: skip
    if biggest * peak > agents * calls_per_agent:
        raise CapacityError(
            "call_centre_agents",
            f"Capacité trop faible : un lot de {biggest} lettres attend à lui seul {float(biggest * peak):.1f} appels "
            f"le jour de pointe, plus que {agents * calls_per_agent} par jour. Augmentez le nombre d'agents ou "
            "d'appels par agent.",
        )


@dataclass(frozen=True)
class PlanDay:
    date: dt.date
    letters: int  # handed over that day (done, or planned)
    batches: list[int]  # their sequence numbers (empty for a projection)
    expected_calls: float  # rounded to a tenth
    capacity: int
    done: bool  # a day whose hand-overs already happened

    @property
    def over_capacity(self) -> bool:
        return self.expected_calls > self.capacity


@dataclass(frozen=True)
class CampaignPlan:
    campaign_id: int
    agents: int
    calls_per_agent: int
    capacity: int
    start: dt.date
    postal_delay_days: int
    call_rate: float
    call_curve: list[float]
    letters: int
    projected: bool  # before launch: the forecast's letters, in batches of CAMPAIGN_PRINT_CHUNK
    days: list[PlanDay]
    batch_days: dict[int, dt.date] = field(default_factory=dict)  # pending batch id → its planned day

    @property
    def last_hand_over(self) -> dt.date | None:
        return max((day.date for day in self.days if day.letters), default=None)

    @property
    def call_rate_percent(self) -> str:
        return f"{round(self.call_rate * 100, 1):g}".replace(".", ",")

    @property
    def peak_calls(self) -> float:
        return max((day.expected_calls for day in self.days), default=0.0)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["batch_days"] = {str(pk): day.isoformat() for pk, day in self.batch_days.items()}
        data["start"] = self.start.isoformat()
        data["days"] = [{**day, "date": day["date"].isoformat()} for day in data["days"]]
        return data


def _curve() -> list[Any]:
    try:
        return planner.call_curve(rate=settings.CAMPAIGN_CALL_RATE, shares=settings.CAMPAIGN_CALL_CURVE)
    except planner.PlanError as error:
        raise CampaignError(f"Réglages CAMPAIGN_CALL_RATE / CAMPAIGN_CALL_CURVE : {error}") from error


def campaign_plan(*, campaign: Campaign, today: dt.date | None = None) -> CampaignPlan | None:
    """The campaign's plan, day by day; None without a declared capacity (one hand-over, as built)."""
    capacity = campaign.call_capacity
    if capacity is None:
        return None
    today = today or timezone.localdate()
    curve, delay = _curve(), settings.POSTAL_DELAY_DAYS
    launched = timezone.localdate(campaign.launched_at) if campaign.launched_at else None
    start = campaign.hand_over_start or launched or today
    batches = list(PrintBatch.objects.filter(campaign=campaign).order_by("sequence"))
    projected = not batches and campaign.launched_at is None
    done = [(timezone.localdate(b.handed_over_at), b) for b in batches if b.handed_over_at is not None]
    pending = [b for b in batches if b.handed_over_at is None]
    if projected:
        letters = launch_forecast(campaign).post
        chunk = settings.CAMPAIGN_PRINT_CHUNK
        units = [min(chunk, letters - i) for i in range(0, letters, chunk)]
    else:
        units = [b.letter_count for b in pending]
    origin = min([start, *(day for day, _ in done)])
    handed_over = [0] * (max([(day - origin).days + 1 for day, _ in done], default=0))
    done_batches: dict[int, list[int]] = {}
    for day, batch in done:
        handed_over[(day - origin).days] += batch.letter_count
        done_batches.setdefault((day - origin).days, []).append(batch.sequence)
    first_day = max((start - origin).days, (today - origin).days)
    try:
        planned = planner.plan_units(units, capacity=capacity, curve=curve, delay=delay, handed_over=handed_over,
                                     first_day=first_day)  # fmt: skip
    except planner.PlanError as error:
        raise CampaignError(str(error)) from error
    letters_by_day = planner.letters_per_day(units, planned, handed_over=handed_over)
    calls = planner.expected_calls(letters_by_day, curve=curve, delay=delay)
    planned_batches: dict[int, list[int]] = {}
    if not projected:
        for batch, index in zip(pending, planned, strict=True):
            planned_batches.setdefault(index, []).append(batch.sequence)
    days = [
        PlanDay(
            date=origin + dt.timedelta(days=index),
            letters=letters_by_day[index] if index < len(letters_by_day) else 0,
            batches=[*done_batches.get(index, []), *planned_batches.get(index, [])],
            expected_calls=round(float(expected), 1),
            capacity=capacity,
            done=index in done_batches and index not in planned_batches,
        )
        for index, expected in enumerate(calls)
    ]
    return CampaignPlan(
        campaign_id=campaign.pk,
        agents=campaign.call_centre_agents or 0,
        calls_per_agent=campaign.calls_per_agent_per_day or 0,
        capacity=capacity,
        start=start,
        postal_delay_days=delay,
        call_rate=float(settings.CAMPAIGN_CALL_RATE),
        call_curve=[round(float(share), 4) for share in curve],
        letters=sum(units) + sum(handed_over),
        projected=projected,
        days=days,
        batch_days={batch.pk: origin + dt.timedelta(days=index) for batch, index in zip(pending, planned, strict=True)}
        if not projected
        else {},
    )


def print_batch_planned_day_check(*, batch: PrintBatch, today: dt.date | None = None) -> None:
    """CampaignError when the campaign's plan puts this batch on a later day (no plan: always allowed)."""
    today = today or timezone.localdate()
    plan = campaign_plan(campaign=batch.campaign, today=today)
    if plan is None or batch.pk not in plan.batch_days:
        return
    planned = plan.batch_days[batch.pk]
    if planned > today:
        raise CampaignError(
            f"Lot {batch.sequence} prévu pour le {planned:%d/%m/%Y} par le plan de remise : le remettre aujourd'hui "
            f"ferait dépasser au centre d'appels sa capacité déclarée ({plan.capacity} appels par jour). "
            "Attendez ce jour, ou augmentez la capacité déclarée sur la campagne."
        )
