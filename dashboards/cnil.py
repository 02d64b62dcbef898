"""The CNIL liaison's table: laboratories × indicators, counts only, every count under ten masked.

The people and notification counts are a snapshot (`cnil_counts_cached`, refreshed by a beat task); case
files, filing states and deadlines are read live on each view. `cnil_cells` is what the liaison sees of a
row: the page and the CSV export show the same strings.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone

from labs.deadlines import format_paris
from labs.filing_states import FILING_STATE_URGENCY, FilingState, filing_state
from labs.models import BreachLaboratory, CnilFiling
from notifier.models import Campaign, Notification

from .formatting import format_percent
from .masking import (
    MASK_BELOW,
    MASKED,
    grouped,
    masked,
    masked_cells_note,
    masked_rate,
    masked_sort_key,
    masked_total,
    total_is_safe,
)
from .stats import (
    NOT_TO_SEND,
    Status,
    deceased_patient_counts,
    patients_per_case,
    status_counts,
    unreachable_patient_counts,
)


@dataclass
class CnilRow:
    """One laboratory's line for one breach: counts only, never a person."""

    case_file: BreachLaboratory
    patients: int = 0
    filing_state: FilingState = FilingState.PENDING
    complementary_filings: int = 0
    notifications: int = 0
    to_send: int = 0
    finished: int = 0
    delivered: int = 0
    returned: int = 0
    unreachable_patients: int = 0
    deceased_patients: int = 0  # « décédés (retour courrier) », not among the unreachable
    campaigns: int = 0
    posted: int = 0  # letters that left (sent, delivered or returned): the returned rate's denominator
    campaign_patients: int = 0  # patients the campaigns wrote to: the unreachable rate's denominator
    now: dt.datetime | None = None

    @property
    def laboratory(self):
        return self.case_file.laboratory

    @property
    def hours_to_first_filing(self) -> int | None:
        """Whole hours from the laboratory's awareness to its initial filing; None while not filed."""
        cf = self.case_file
        if cf.first_filed_at is None:
            return None
        return int((cf.first_filed_at - cf.aware_at).total_seconds() // 3600)

    @property
    def hours_since_awareness(self) -> int:
        return int(((self.now or timezone.now()) - self.case_file.aware_at).total_seconds() // 3600)

    @property
    def progress_pct(self) -> float | None:
        """None while fewer than ten notices are planned: a percentage of a handful is a count in disguise."""
        if self.to_send < MASK_BELOW:
            return None
        return 100.0 * self.finished / self.to_send

    @property
    def public_communications(self) -> list[Any]:
        """The case file's Art. 34(3)(c) publications (prefetched by cnil_rows), oldest first."""
        return list(self.case_file.public_communications.all())

    @property
    def public_notice(self) -> bool:
        return bool(self.public_communications)


# A letter has left once the printer posted it: these statuses, whatever happened next.
POSTED = (Status.SENT, Status.DELIVERED, Status.RETURNED)


@dataclass
class CnilCounts:
    """The heavy part of the CNIL table: people and notification counts per (breach, laboratory).

    Plain ints keyed by ids (picklable), so a snapshot can sit in the cache for a minute."""

    computed_at: dt.datetime
    patients: dict[tuple[int, int], int] = field(default_factory=dict)
    per_case: dict[tuple[int, int], dict[str, int]] = field(default_factory=dict)

    COUNTERS = (
        "campaigns", "notifications", "to_send", "finished", "delivered", "returned", "unreachable_patients", "posted",
        "campaign_patients", "deceased_patients",
    )  # fmt: skip


def cnil_counts() -> CnilCounts:
    """Count everything the CNIL table shows about people, in five grouped queries (the live computation)."""
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
        for campaign_id, channel, status, n in status_counts(ids):
            c = case(campaign_case[campaign_id])
            c["notifications"] += n
            if status not in NOT_TO_SEND:
                c["to_send"] += n
                c["finished"] += n if status in Notification.TERMINAL else 0
            c["delivered"] += n if status == Status.DELIVERED else 0
            c["returned"] += n if status == Status.RETURNED else 0
            c["posted"] += n if channel == Notification.Channel.POST and status in POSTED else 0
        for campaign_id, n in unreachable_patient_counts(ids).items():
            case(campaign_case[campaign_id])["unreachable_patients"] += n
        for campaign_id, n in deceased_patient_counts(ids).items():
            case(campaign_case[campaign_id])["deceased_patients"] += n
        written_to = (
            Notification.objects.filter(campaign_id__in=ids)
            .values_list("campaign_id")
            .annotate(n=Count("patient_id", distinct=True))
            .order_by()
        )
        for campaign_id, n in written_to:
            case(campaign_case[campaign_id])["campaign_patients"] += n
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
        .prefetch_related("public_communications")
        .annotate(
            complementary=Count("filings", filter=Q(filings__kind=CnilFiling.Kind.COMPLEMENTARY)),
        )
        .order_by("breach__aware_at", "laboratory__code")
    )
    rows = []
    for cf in case_files:
        key = (cf.breach_id, cf.laboratory_id)
        row = CnilRow(
            case_file=cf, filing_state=filing_state(cf, now=now), complementary_filings=cf.complementary, now=now
        )
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
    with_campaign: int = 0
    public_notices: int = 0
    hours_to_filing: list[int] = field(default_factory=list)
    # Per-laboratory values, for totals that do not undo the masking (see masked_total). Campaign figures
    # only from laboratories with a campaign: the others show « aucune campagne », a known zero, not a mask.
    parts: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    @property
    def progress_pct(self) -> float | None:
        return None if self.to_send < MASK_BELOW else 100.0 * self.finished / self.to_send

    def shown(self, name: str) -> str:
        return masked_total(self.parts[name])

    def rate(self, numerator: str, denominator: str) -> str:
        """The breach-wide rate, only from exact totals (a rate of ranges would be a range of guesses)."""
        if not self.with_campaign:
            return "aucune campagne"
        if not (total_is_safe(self.parts[numerator]) and total_is_safe(self.parts[denominator])):
            return "non calculable (effectifs masqués)"
        shown = masked_rate(sum(self.parts[numerator]), sum(self.parts[denominator]))
        return shown or f"{MASKED} au total"

    @property
    def state_list(self) -> list[tuple[str, str, int]]:
        return [
            (state, FilingState(state).label, self.states.get(state, 0))
            for state in sorted(FilingState, key=FILING_STATE_URGENCY.get)
        ]


SUMMED_IF_CAMPAIGN = (
    "delivered", "returned", "unreachable_patients", "posted", "campaign_patients", "deceased_patients",
)  # fmt: skip


def breach_summaries(rows: list[CnilRow]) -> list[BreachSummary]:
    """Totals per breach over its laboratories' rows (a few dozen rows, already aggregated)."""
    summaries: dict[int, BreachSummary] = {}
    for row in rows:
        breach = row.case_file.breach
        s = summaries.setdefault(breach.pk, BreachSummary(breach=breach))
        s.laboratories += 1
        s.high_risk_yes += row.case_file.high_risk == BreachLaboratory.HighRisk.YES
        s.states[row.filing_state] += 1
        s.complementary_filings += row.complementary_filings
        s.to_send += row.to_send
        s.finished += row.finished
        s.public_notices += row.public_notice
        s.parts["patients"].append(row.patients)
        if row.hours_to_first_filing is not None:
            s.hours_to_filing.append(row.hours_to_first_filing)
        if row.campaigns:
            s.with_campaign += 1
            for name in SUMMED_IF_CAMPAIGN:
                s.parts[name].append(getattr(row, name))
    return list(summaries.values())


def _rate_sort_key(numerator: int, denominator: int, campaigns: int) -> float:
    """What the liaison sees, in order: no campaign, too few, a masked bound (one bucket), the rate, a high bound."""
    if not campaigns:
        return -2.0
    if denominator < MASK_BELOW:
        return -1.0
    if numerator < MASK_BELOW:
        return 0.0
    if denominator - numerator < MASK_BELOW:
        return 101.0
    return 100.0 * numerator / denominator


def _filing_delay_sort_key(row: CnilRow) -> tuple:
    """Filed first, quickest first; then not filed, longest waiting first; then not required."""
    if row.hours_to_first_filing is not None:
        return (0, row.hours_to_first_filing)
    if row.filing_state == FilingState.NOT_REQUIRED:
        return (2, 0)
    return (1, -row.hours_since_awareness)


CNIL_SORT_KEYS = {
    "laboratoire": lambda r: (r.laboratory.code,),
    "patients": lambda r: (masked_sort_key(r.patients),),
    "risque": lambda r: (r.case_file.high_risk,),
    "initiale": lambda r: (FILING_STATE_URGENCY[r.filing_state],),
    "delai": _filing_delay_sort_key,
    "complementaires": lambda r: (r.complementary_filings,),
    "progression": lambda r: (-2.0 if not r.campaigns else -1.0 if r.progress_pct is None else r.progress_pct,),
    "distribuees": lambda r: (masked_sort_key(r.delivered) if r.campaigns else -1,),
    "retours": lambda r: (_rate_sort_key(r.returned, r.posted, r.campaigns),),
    "injoignables": lambda r: (_rate_sort_key(r.unreachable_patients, r.campaign_patients, r.campaigns),),
    "echeance": lambda r: (r.case_file.due_at,),
    "communication": lambda r: (r.public_notice,),
}


def cnil_rows_sorted(rows: list[CnilRow], *, key: str, descending: bool) -> list[CnilRow]:
    """Sort on what the liaison sees (masked buckets), ties by breach then laboratory code."""
    sort_key = CNIL_SORT_KEYS.get(key, CNIL_SORT_KEYS["laboratoire"])
    ordered = sorted(rows, key=lambda r: (r.case_file.breach.aware_at, r.laboratory.code))
    return sorted(ordered, key=sort_key, reverse=descending)


# --- what the liaison sees ----------------------------------------------------------------------------------

CNIL_COLUMNS = [  # (sort key, header, is a number)
    ("laboratoire", "Laboratoire", False),
    ("patients", "Patients concernés", True),
    ("risque", "Risque élevé", False),
    ("initiale", "Notification initiale", False),
    ("echeance", "Échéance (72 h)", False),
    ("delai", "Délai de 1re notification", True),
    ("complementaires", "Notif. compl.", True),
    ("progression", "Progression campagne", True),
    ("distribuees", "Distribuées", True),
    ("retours", "Retours NPAI (sur lettres postées)", True),
    ("injoignables", "Injoignables (sur patients ciblés)", True),
    ("communication", "Comm. publique", False),
]
HIGH_RISK_SHORT = {"yes": "oui", "no": "non", "undecided": "non décidé"}
NO_CAMPAIGN = "aucune campagne"
NOT_APPLICABLE = "—"


def hours_to_filing_text(row: CnilRow) -> str:
    """« 40 h », « pas encore déposée (52 h écoulées) » or « non requise »."""
    if row.hours_to_first_filing is not None:
        return f"{row.hours_to_first_filing} h"
    if row.filing_state == FilingState.NOT_REQUIRED:
        return "non requise"
    elapsed = row.hours_since_awareness
    return f"pas encore déposée ({grouped(elapsed)} h écoulée{'s' if elapsed > 1 else ''})"


def _rate_cell(row: CnilRow, numerator: int, denominator: int, too_few: str) -> str:
    if not row.campaigns:
        return NO_CAMPAIGN
    return masked_rate(numerator, denominator) or f"{MASKED} {too_few}"


def cnil_cells(row: CnilRow) -> dict[str, str]:
    """What the liaison sees of one row (the page and the CSV show the same strings)."""
    cf = row.case_file
    campaign = bool(row.campaigns)
    if not campaign:
        progress = NO_CAMPAIGN
    else:
        progress = format_percent(row.progress_pct) if row.progress_pct is not None else f"{MASKED} envois"
    return {
        "breach": cf.breach.title,
        "laboratory_code": row.laboratory.code,
        "laboratory_name": row.laboratory.name,
        "patients": masked(row.patients),
        "high_risk": HIGH_RISK_SHORT.get(cf.high_risk, cf.high_risk),
        "filing": str(FilingState(row.filing_state).label),
        "due_at": format_paris(cf.due_at),
        "hours_to_filing": hours_to_filing_text(row),
        "complementary": str(row.complementary_filings),
        "progress": progress,
        "delivered": masked(row.delivered) if campaign else NOT_APPLICABLE,
        "returned": masked(row.returned) if campaign else NOT_APPLICABLE,
        "unreachable": masked(row.unreachable_patients) if campaign else NOT_APPLICABLE,
        "returned_rate": _rate_cell(row, row.returned, row.posted, "lettres postées"),
        "unreachable_rate": _rate_cell(row, row.unreachable_patients, row.campaign_patients, "patients ciblés"),
        "deceased": masked(row.deceased_patients) if campaign else NOT_APPLICABLE,
        "public_notice": public_notice_text(row),
    }


def public_notice_text(row: CnilRow) -> str:
    """« non », or the last publication: « oui, le 12/03/2027 (presse) » (and how many when several)."""
    publications = row.public_communications
    if not publications:
        return "non"
    last = publications[-1]
    more = f", {len(publications)} publications" if len(publications) > 1 else ""
    return f"oui, le {format_paris(last.published_at)[:10]} ({last.get_medium_display()}){more}"


def public_communication_rows(rows: list[CnilRow]) -> list[dict[str, Any]]:
    """Each publication with the figures frozen when it was recorded, as the liaison sees them: counts under
    ten masked, like every count of the page (aggregates per laboratory, never a person)."""
    shown = []
    for row in rows:
        for publication in row.public_communications:
            figures = publication.figures or {}
            shown.append({
                "breach": row.case_file.breach.title,
                "laboratory_code": row.laboratory.code,
                "published_at": format_paris(publication.published_at),
                "medium": publication.get_medium_display(),
                "where": publication.where,
                "url": publication.url,
                "patients": masked(figures["patients"]) if figures else NOT_APPLICABLE,
                # a rate with its bounds, as in the table: an exact count next to the total would give the few
                # patients reached away by subtraction
                "unreachable": (masked_rate(figures["unreachable"], figures["patients"])
                                or f"{MASKED} patients ciblés") if figures else NOT_APPLICABLE,
                "reasons": [(reason["label"], masked(reason["patients"])) for reason in figures.get("reasons", [])],
                "computed_at": (figures.get("computed_at") or "")[:10],
            })  # fmt: skip
    return shown


def _median(values: list[int]) -> int:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) // 2


def summary_cells(s: BreachSummary) -> dict[str, Any]:
    filed = len(s.hours_to_filing)
    if filed:
        low, high = min(s.hours_to_filing), max(s.hours_to_filing)
        spread = f"{low} h" if low == high else f"médiane {_median(s.hours_to_filing)} h, de {low} à {high} h"
        who = f"{filed} laboratoire a notifié" if filed == 1 else f"{filed} laboratoires ont notifié"
        delay = f"{spread} ({who} sur {s.laboratories})"
    else:
        delay = "aucune notification initiale déposée"
    if not s.with_campaign:
        progress = NO_CAMPAIGN
    else:
        progress = format_percent(s.progress_pct) if s.progress_pct is not None else f"{MASKED} envois"
    campaign_total = (lambda name: s.shown(name)) if s.with_campaign else (lambda name: NOT_APPLICABLE)
    return {
        "breach": s.breach,
        "laboratories": s.laboratories,
        "with_campaign": s.with_campaign,
        "patients": s.shown("patients"),
        "high_risk_yes": s.high_risk_yes,
        "states": s.state_list,
        "hours_to_filing": delay,
        "complementary": s.complementary_filings,
        "progress": progress,
        "delivered": campaign_total("delivered"),
        "returned": campaign_total("returned"),
        "unreachable": campaign_total("unreachable_patients"),
        "returned_rate": s.rate("returned", "posted"),
        "unreachable_rate": s.rate("unreachable_patients", "campaign_patients"),
        "deceased": campaign_total("deceased_patients"),
        "masked_note": {
            name: masked_cells_note(s.parts[name])
            for name in ("patients", "delivered", "returned", "unreachable_patients", "deceased_patients")
        },
        "public_notices": s.public_notices,
    }
