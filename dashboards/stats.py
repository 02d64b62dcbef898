"""Aggregate reads behind the DPO dashboard, and the grouped counts the CNIL table folds too.

Counted in the database, never row by row in Python: each function runs a fixed number of grouped queries
(one per table shape: notifications by campaign × channel × status, patients by breach × laboratory,
events by campaign), whatever the number of patients. Python only folds the few grouped rows into
dictionaries.

Indexes these GROUP BYs rely on (declared by the models' owners):
- `notifier_notification (campaign, channel, status)` — status counts per campaign (index-only scan);
- `notifier_notification UNIQUE (campaign, patient, channel)` — the "not reached on any channel" probe;
- `patients_patient UNIQUE (breach, laboratory, person_key)` — patients per case file.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet
from django.db.models.functions import Trunc

from labs.deadlines import PARIS
from notifier.models import Campaign, DeliveryEvent, Notification
from patients.models import Patient

Status = Notification.Status

# The status page records "I have read this" as a DeliveryEvent of this type from the status-page source.
ACK_EVENT_TYPE = "acknowledged"
# Rows that will never be sent: they do not count in "90 % of notices" nor in "campaign progress".
NOT_TO_SEND = (Status.CANCELLED,)


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
    unreachable_patients: int = 0  # the living ones: the deceased are counted apart
    deceased_patients: int = 0  # « décédés (retour courrier) »: a letter came back « décédé »
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
        return self.patients - self.unreachable_patients - self.deceased_patients


def status_counts(campaign_ids: list[int]) -> QuerySet:
    return (
        Notification.objects.filter(campaign_id__in=campaign_ids)
        .values_list("campaign_id", "channel", "status")
        .annotate(n=Count("*"))
        .order_by()
    )


def unreachable_patient_counts(campaign_ids: list[int]) -> dict[int, int]:
    """Patients of each campaign whose every row failed (the call-centre list), counted in one query.

    Starts from the failed rows only (a small share) and probes the unique (campaign, patient, channel)
    index for a sibling row that is not a failure: cheaper than a distinct count over every row."""
    siblings_not_failed = Notification.objects.filter(
        campaign_id=OuterRef("campaign_id"), patient_id=OuterRef("patient_id")
    ).exclude(status__in=Notification.UNREACHED)
    rows = (
        Notification.objects.filter(campaign_id__in=campaign_ids, status__in=Notification.UNREACHED)
        .exclude(Exists(siblings_not_failed))
        .filter(patient__deceased_reported_at__isnull=True)  # the deceased are counted apart
        .values_list("campaign_id")
        .annotate(n=Count("patient_id", distinct=True))
        .order_by()
    )
    return dict(rows)


def deceased_patient_counts(campaign_ids: list[int]) -> dict[int, int]:
    """Patients of each campaign reported deceased by a returned letter (« décédés (retour courrier) »)."""
    rows = (
        Notification.objects.filter(campaign_id__in=campaign_ids, patient__deceased_reported_at__isnull=False)
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
    for campaign_id, channel, status, n in status_counts(ids):
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
    for campaign_id, n in unreachable_patient_counts(ids).items():
        stats[campaign_id].unreachable_patients = n
    for campaign_id, n in deceased_patient_counts(ids).items():
        stats[campaign_id].deceased_patients = n
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
