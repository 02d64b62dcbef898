"""Aggregate reads behind the DPO and CNIL dashboards: counted in the database, never row by row in Python.

Each function runs a fixed number of grouped queries (one per table shape: notifications by campaign ×
channel × status, patients by breach × laboratory, case files with their filings, events by campaign),
whatever the number of patients. Python only folds the few grouped rows into dictionaries.

Indexes these GROUP BYs rely on (declared by the models' owners):
- `notifier_notification (campaign, channel, status)` — status counts per campaign (index-only scan);
- `notifier_notification UNIQUE (campaign, patient, channel)` — the "not reached on any channel" probe;
- `patients_patient UNIQUE (breach, laboratory, person_key)` — patients per case file.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet
from django.db.models.functions import Trunc
from django.utils import timezone

from labs.deadlines import PARIS
from labs.models import BreachLaboratory, CnilFiling
from patients.models import Patient

from .models import Campaign, DeliveryEvent, Notification

Status = Notification.Status

# The status page records "I have read this" as a DeliveryEvent of this type from the status-page source.
ACK_EVENT_TYPE = "acknowledged"
# Small-cell suppression for the CNIL liaison: any count under this is shown as "< 10".
MASK_BELOW = 10
MASKED = "< 10"
# Rows that will never be sent: they do not count in "90 % of notices" nor in "campaign progress".
NOT_TO_SEND = (Status.CANCELLED,)


def masked(count: int | None) -> str:
    """A people/notification count as the CNIL liaison sees it: "< 10" under ten, grouped digits above."""
    if count is None or count < MASK_BELOW:
        return MASKED
    return f"{count:,}".replace(",", "\u202f")


def masked_total(counts: list[int]) -> str:
    """A total over rows some of which are masked, without giving the masked ones away by subtraction.

    The exact sum minus the visible cells would reveal a lone masked cell (91 − 60 − 25 = 6); instead the
    total is the range the visible cells already imply: sum of the visible ones, plus 0 to 9 per masked one."""
    visible = sum(n for n in counts if n >= MASK_BELOW)
    hidden = sum(1 for n in counts if n < MASK_BELOW)
    if not hidden:
        return masked(visible)
    upper = visible + (MASK_BELOW - 1) * hidden
    if upper < MASK_BELOW:
        return MASKED
    return f"{masked(visible) if visible else 0} à {masked(upper)}"


def masked_sort_key(count: int | None) -> int:
    """Sorting on masked cells must not reveal their order: every count under ten sorts as one value."""
    return 0 if count is None or count < MASK_BELOW else count


# --- DPO: per campaign ------------------------------------------------------------------------------------


@dataclass
class CampaignStats:
    campaign: Campaign
    by_channel: dict[str, dict[str, int]] = field(default_factory=dict)
    notifications: int = 0
    to_send: int = 0
    finished: int = 0
    sent: int = 0
    delivered: int = 0
    bounced: int = 0
    returned: int = 0
    failed: int = 0
    unreachable_rows: int = 0
    fallbacks: int = 0
    patients: int = 0
    unreachable_patients: int = 0
    acknowledged_patients: int = 0
    first_sent_at: dt.datetime | None = None
    last_sent_at: dt.datetime | None = None
    ninety_sent_at: dt.datetime | None = None
    progress: list[tuple[dt.datetime, int]] = field(default_factory=list)  # (bucket, cumulative sent notices)
    progress_unit: str = "hour"

    @property
    def progress_pct(self) -> float:
        return 100.0 * self.finished / self.to_send if self.to_send else 0.0

    @property
    def reached_patients(self) -> int:
        return self.patients - self.unreachable_patients


def _status_counts(campaign_ids: list[int]) -> QuerySet:
    return (
        Notification.objects.filter(campaign_id__in=campaign_ids)
        .values_list("campaign_id", "channel", "status")
        .annotate(n=Count("*"))
        .order_by()
    )


def _unreachable_patient_counts(campaign_ids: list[int]) -> dict[int, int]:
    """Patients of each campaign whose every row failed (the call-centre list), counted in one query.

    Starts from the failed rows only (a small share) and probes the unique (campaign, patient, channel)
    index for a sibling row that is not a failure: cheaper than a distinct count over every row."""
    siblings_not_failed = Notification.objects.filter(
        campaign_id=OuterRef("campaign_id"), patient_id=OuterRef("patient_id")
    ).exclude(status__in=Notification.UNREACHED)
    rows = (
        Notification.objects.filter(campaign_id__in=campaign_ids, status__in=Notification.UNREACHED)
        .exclude(Exists(siblings_not_failed))
        .values_list("campaign_id")
        .annotate(n=Count("patient_id", distinct=True))
        .order_by()
    )
    return dict(rows)


def campaign_stats(*, campaigns: list[Campaign], with_timeline: bool = True) -> dict[int, CampaignStats]:
    """Counts for each campaign: channel × status, outcomes, fallbacks, acknowledgements, send times."""
    stats = {c.pk: CampaignStats(campaign=c) for c in campaigns}
    ids = list(stats)
    if not ids:
        return stats
    for campaign_id, channel, status, n in _status_counts(ids):
        s = stats[campaign_id]
        s.by_channel.setdefault(channel, {})[status] = n
        s.notifications += n
        if status not in NOT_TO_SEND:
            s.to_send += n
            if status in Notification.TERMINAL:
                s.finished += n
        s.sent += n if status == Status.SENT else 0
        s.delivered += n if status == Status.DELIVERED else 0
        s.bounced += n if status == Status.BOUNCED else 0
        s.returned += n if status == Status.RETURNED else 0
        s.failed += n if status == Status.FAILED else 0
        s.unreachable_rows += n if status == Status.UNREACHABLE else 0
    per_campaign = (
        Notification.objects.filter(campaign_id__in=ids)
        .values_list("campaign_id")
        .annotate(
            patients=Count("patient_id", distinct=True),
            fallbacks=Count("pk", filter=Q(is_fallback=True)),
            first=Min("sent_at"),
            last=Max("sent_at"),
        )
        .order_by()
    )
    for campaign_id, patients, fallbacks, first, last in per_campaign:
        s = stats[campaign_id]
        s.patients, s.fallbacks, s.first_sent_at, s.last_sent_at = patients, fallbacks, first, last
    for campaign_id, n in _unreachable_patient_counts(ids).items():
        stats[campaign_id].unreachable_patients = n
    acks = (
        DeliveryEvent.objects.filter(
            notification__campaign_id__in=ids, source=DeliveryEvent.Source.STATUS_PAGE, event_type=ACK_EVENT_TYPE
        )
        .values_list("notification__campaign_id")
        .annotate(n=Count("notification__patient_id", distinct=True))
        .order_by()
    )
    for campaign_id, n in acks:
        stats[campaign_id].acknowledged_patients = n
    if with_timeline:
        for s in stats.values():
            _timeline(s)
    return stats


def _timeline(s: CampaignStats) -> None:
    """The 90 % mark (the k-th send time, found by the database with OFFSET) and sends per hour or day."""
    if s.first_sent_at is None:
        return
    k = math.ceil(0.9 * s.to_send) if s.to_send else 0
    sent = Notification.objects.filter(campaign_id=s.campaign.pk, sent_at__isnull=False)
    if k:
        s.ninety_sent_at = sent.order_by("sent_at").values_list("sent_at", flat=True)[k - 1 : k].first()
    span = (s.last_sent_at or s.first_sent_at) - s.first_sent_at
    s.progress_unit = "hour" if span <= dt.timedelta(days=3) else "day"
    buckets = (
        sent.annotate(bucket=Trunc("sent_at", s.progress_unit, tzinfo=PARIS))
        .values_list("bucket")
        .annotate(n=Count("pk"))
        .order_by("bucket")
    )
    total = 0
    for bucket, n in buckets:
        total += n
        s.progress.append((bucket, total))


def patients_per_case(*, breach_ids: list[int] | None = None, laboratory_ids: Any = None) -> dict[tuple[int, int], int]:
    """Patients per (breach, laboratory), one grouped query (the unique index starts with these columns)."""
    qs = Patient.objects.all()
    if breach_ids is not None:
        qs = qs.filter(breach_id__in=breach_ids)
    if laboratory_ids is not None:
        qs = qs.filter(laboratory_id__in=laboratory_ids)
    rows = qs.values_list("breach_id", "laboratory_id").annotate(n=Count("*")).order_by()
    return {(breach_id, lab_id): n for breach_id, lab_id, n in rows}


# --- CNIL liaison: laboratories × indicators --------------------------------------------------------------


class FilingState:
    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"  # no initial filing and the deadline has passed
    PENDING = "pending"  # no initial filing yet, deadline still ahead
    NOT_REQUIRED = "not_required"  # the controller decided not to notify (register entry)

    LABELS = {
        ON_TIME: "déposée dans les délais",
        LATE: "déposée hors délai",
        MISSING: "manquante, échéance dépassée",
        PENDING: "à déposer, dans les délais",
        NOT_REQUIRED: "non requise (décision motivée)",
    }
    ORDER = {MISSING: 0, LATE: 1, PENDING: 2, NOT_REQUIRED: 3, ON_TIME: 4}


def filing_state(case_file: BreachLaboratory, *, now: dt.datetime) -> str:
    if case_file.first_filed_at is not None:
        return FilingState.LATE if case_file.filed_late else FilingState.ON_TIME
    if case_file.cnil_decision == BreachLaboratory.Decision.NOT_NOTIFY:
        return FilingState.NOT_REQUIRED
    return FilingState.MISSING if case_file.due_at < now else FilingState.PENDING


@dataclass
class CnilRow:
    """One laboratory's line for one breach: counts only, never a person."""

    case_file: BreachLaboratory
    patients: int = 0
    filing_state: str = FilingState.PENDING
    complementary_filings: int = 0
    notifications: int = 0
    to_send: int = 0
    finished: int = 0
    delivered: int = 0
    returned: int = 0
    unreachable_patients: int = 0
    campaigns: int = 0

    @property
    def laboratory(self):
        return self.case_file.laboratory

    @property
    def progress_pct(self) -> float | None:
        """None while fewer than ten notices are planned: a percentage of a handful is a count in disguise."""
        if self.to_send < MASK_BELOW:
            return None
        return 100.0 * self.finished / self.to_send

    @property
    def public_notice(self) -> bool:
        return bool(self.case_file.public_notice_at or self.case_file.public_notice_url)


@dataclass
class CnilCounts:
    """The heavy part of the CNIL table: people and notification counts per (breach, laboratory).

    Plain ints keyed by ids (picklable), so a snapshot can sit in the cache for a minute."""

    computed_at: dt.datetime
    patients: dict[tuple[int, int], int] = field(default_factory=dict)
    per_case: dict[tuple[int, int], dict[str, int]] = field(default_factory=dict)

    COUNTERS = ("campaigns", "notifications", "to_send", "finished", "delivered", "returned", "unreachable_patients")


def cnil_counts() -> CnilCounts:
    """Count everything the CNIL table shows about people, in four grouped queries (the live computation)."""
    counts = CnilCounts(computed_at=timezone.now(), patients=patients_per_case())
    # Campaigns are few (one or two per case file): map them to their case file, then fold the counts.
    campaign_case = {
        pk: (breach_id, lab_id)
        for pk, breach_id, lab_id in Campaign.objects.exclude(status=Campaign.Status.CANCELLED).values_list(
            "pk", "breach_id", "laboratory_id"
        )
    }

    def case(key: tuple[int, int]) -> dict[str, int]:
        return counts.per_case.setdefault(key, dict.fromkeys(CnilCounts.COUNTERS, 0))

    for key in campaign_case.values():
        case(key)["campaigns"] += 1
    ids = list(campaign_case)
    if ids:
        for campaign_id, _channel, status, n in _status_counts(ids):
            c = case(campaign_case[campaign_id])
            c["notifications"] += n
            if status not in NOT_TO_SEND:
                c["to_send"] += n
                c["finished"] += n if status in Notification.TERMINAL else 0
            c["delivered"] += n if status == Status.DELIVERED else 0
            c["returned"] += n if status == Status.RETURNED else 0
        for campaign_id, n in _unreachable_patient_counts(ids).items():
            case(campaign_case[campaign_id])["unreachable_patients"] += n
    return counts


# The counts are a snapshot refreshed at most every minute: at 500,000 patients they take about a second of
# database time on a loaded 2-core machine, too long for each page view (see benchmarks/README.md). Filing
# states and deadlines are read live on every view: they are what changes the liaison's next action.
CNIL_COUNTS_CACHE_KEY = "dashboards:cnil-counts:v1"
CNIL_COUNTS_MAX_AGE = 60


def cnil_counts_cached(*, refresh: bool = False) -> CnilCounts:
    """The counts snapshot from the cache, recomputed when older than CNIL_COUNTS_MAX_AGE or on `refresh`.

    `cnil_counts_cached(refresh=True)` is safe to call from a periodic task to keep the page warm."""
    counts = None if refresh else cache.get(CNIL_COUNTS_CACHE_KEY)
    if counts is None:
        counts = cnil_counts()
        cache.set(CNIL_COUNTS_CACHE_KEY, counts, CNIL_COUNTS_MAX_AGE)
    return counts


def cnil_rows(*, now: dt.datetime | None = None, counts: CnilCounts | None = None) -> list[CnilRow]:
    """Every case file (read live) with its counts (`counts`, or computed now), in a fixed number of queries."""
    now = now or timezone.now()
    counts = counts or cnil_counts()
    case_files = list(
        BreachLaboratory.objects.select_related("breach", "laboratory")
        .annotate(
            complementary=Count("filings", filter=Q(filings__kind=CnilFiling.Kind.COMPLEMENTARY)),
        )
        .order_by("breach__aware_at", "laboratory__code")
    )
    rows = []
    for cf in case_files:
        key = (cf.breach_id, cf.laboratory_id)
        row = CnilRow(case_file=cf, filing_state=filing_state(cf, now=now), complementary_filings=cf.complementary)
        row.patients = counts.patients.get(key, 0)
        for name, value in counts.per_case.get(key, {}).items():
            setattr(row, name, value)
        rows.append(row)
    return rows


@dataclass
class BreachSummary:
    breach: Any
    laboratories: int = 0
    patients: int = 0
    high_risk_yes: int = 0
    states: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    complementary_filings: int = 0
    to_send: int = 0
    finished: int = 0
    delivered: int = 0
    returned: int = 0
    unreachable_patients: int = 0
    public_notices: int = 0
    # Per-laboratory values, for totals that do not undo the masking (see masked_total).
    parts: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    @property
    def progress_pct(self) -> float | None:
        return None if self.to_send < MASK_BELOW else 100.0 * self.finished / self.to_send

    def shown(self, name: str) -> str:
        return masked_total(self.parts[name])

    @property
    def state_list(self) -> list[tuple[str, str, int]]:
        return [
            (state, FilingState.LABELS[state], self.states.get(state, 0))
            for state in sorted(FilingState.LABELS, key=FilingState.ORDER.get)
        ]


def breach_summaries(rows: list[CnilRow]) -> list[BreachSummary]:
    """Totals per breach over its laboratories' rows (a few dozen rows, already aggregated)."""
    summaries: dict[int, BreachSummary] = {}
    for row in rows:
        breach = row.case_file.breach
        s = summaries.setdefault(breach.pk, BreachSummary(breach=breach))
        s.laboratories += 1
        s.patients += row.patients
        s.high_risk_yes += row.case_file.high_risk == BreachLaboratory.HighRisk.YES
        s.states[row.filing_state] += 1
        s.complementary_filings += row.complementary_filings
        s.to_send += row.to_send
        s.finished += row.finished
        s.delivered += row.delivered
        s.returned += row.returned
        s.unreachable_patients += row.unreachable_patients
        s.public_notices += row.public_notice
        for name in ("patients", "delivered", "returned", "unreachable_patients"):
            s.parts[name].append(getattr(row, name))
    return list(summaries.values())


CNIL_SORT_KEYS = {
    "laboratoire": lambda r: (r.laboratory.code,),
    "patients": lambda r: (masked_sort_key(r.patients),),
    "risque": lambda r: (r.case_file.high_risk,),
    "initiale": lambda r: (FilingState.ORDER[r.filing_state],),
    "complementaires": lambda r: (r.complementary_filings,),
    "progression": lambda r: (-1.0 if r.progress_pct is None else r.progress_pct,),
    "distribuees": lambda r: (masked_sort_key(r.delivered),),
    "retours": lambda r: (masked_sort_key(r.returned),),
    "injoignables": lambda r: (masked_sort_key(r.unreachable_patients),),
    "echeance": lambda r: (r.case_file.due_at,),
    "communication": lambda r: (r.public_notice,),
}


def cnil_rows_sorted(rows: list[CnilRow], *, key: str, descending: bool) -> list[CnilRow]:
    """Sort on what the liaison sees (masked buckets), ties by breach then laboratory code."""
    sort_key = CNIL_SORT_KEYS.get(key, CNIL_SORT_KEYS["laboratoire"])
    ordered = sorted(rows, key=lambda r: (r.case_file.breach.aware_at, r.laboratory.code))
    return sorted(ordered, key=sort_key, reverse=descending)
