"""The patient status page's rules: two factors, rate limits, uniform failures, audit.

A patient proves who they are with the personal code printed on their letter (80 bits) and their birth
date. Every failure — unknown code, wrong birth date, cancelled or expired campaign, rate limit —
gives the caller the same answer (`None`) after the same work (one indexed lookup), so the page never
tells whether a person, a patient or a laboratory exists.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from labs import ratelimit
from labs.alerts import security_alert_raise
from labs.audit import audit_record
from letters.render import render_letter_pdf
from notifier.codes import status_code_digest
from notifier.events import delivery_event_record
from notifier.models import Campaign, DeliveryEvent, Notification
from notifier.postal import letter_data_for_notification
from patients.models import Patient

# Campaigns whose notices a patient may consult.
OPEN_CAMPAIGN_STATES = (Campaign.Status.RUNNING, Campaign.Status.PAUSED, Campaign.Status.COMPLETED)
_NO_BIRTH_DATE = dt.date(1, 1, 1)


@dataclass(frozen=True)
class Notice:
    """What a verified patient may see: ids only, kept in their (short-lived) session."""

    campaign_id: int
    patient_id: int


def _failure_budget_spent() -> None:
    """Count one failure against the global hourly budget; alert staff once an hour while it is exceeded."""
    limit = settings.STATUS_PAGE_GLOBAL_FAILURES_PER_HOUR
    if ratelimit.hit("status:global-failures", limit=limit, window_seconds=3600):
        return
    # Mailed to ALERT_EMAILS and shown on the DPO and CNIL dashboards for an hour (labs/alerts.py).
    security_alert_raise(
        kind="status-page-failures",
        subject="Page de vérification : budget d'échecs dépassé",
        message=f"Plus de {limit} vérifications échouées en une heure sur la page de statut : "
        "tentative d'énumération possible. Les limites par adresse et par code restent actives.",
    )


def notice_verify(*, code: str, birth_date: dt.date | None, client_ip: str) -> Notice | None:
    """The patient's notice when `code` and `birth_date` match an open campaign; None on any failure.

    Side effects only on counters: per client address (every try), per code and globally (failures).
    """
    digest = status_code_digest(code)
    ip_allowed = ratelimit.hit(
        f"status:ip:{client_ip}", limit=settings.STATUS_PAGE_TRIES_PER_IP_PER_MINUTE, window_seconds=60
    )
    code_allowed = (
        ratelimit.count(f"status:code:{digest}", window_seconds=3600) < settings.STATUS_PAGE_FAILURES_PER_CODE_PER_HOUR
    )
    # The same lookup whatever the counters say, so a limited client cannot time its way around them.
    # A code is one per patient and breach (notifier.codes), so its rows may span a first campaign and
    # follow-ups: the latest open one is shown, picked here from the handful of rows a code has (one per
    # channel and campaign). No ORDER BY: one reaching into Campaign (Meta.ordering) turned the index probe
    # on the digest (0.1 ms at 500,000 rows) into a 16 ms bitmap scan.
    rows = list(
        Notification.objects.filter(code_digest=digest, campaign__status__in=OPEN_CAMPAIGN_STATES)
        .order_by()
        .values("campaign_id", "patient_id", "patient__birth_date")
    )
    row = max(rows, key=lambda candidate: candidate["campaign_id"], default=None)
    expected = (row or {}).get("patient__birth_date") or _NO_BIRTH_DATE
    given = birth_date or dt.date(1, 1, 2)
    birth_date_matches = hmac.compare_digest(expected.isoformat(), given.isoformat())
    if row is not None and birth_date_matches and ip_allowed and code_allowed:
        return Notice(campaign_id=row["campaign_id"], patient_id=row["patient_id"])
    ratelimit.hit(f"status:code:{digest}", limit=0, window_seconds=3600)
    _failure_budget_spent()
    return None


@dataclass(frozen=True)
class NoticeView:
    campaign: Campaign
    patient: Patient
    notifications: list[Notification]
    acknowledged: bool


def notice_load(*, notice: Notice, request=None) -> NoticeView:
    """Everything the notice page shows; the read is audited (a patient viewing their own data)."""
    patient = Patient.objects.select_related("laboratory", "breach").get(pk=notice.patient_id)
    campaign = Campaign.objects.select_related("laboratory", "breach").get(pk=notice.campaign_id)
    notifications = list(
        Notification.objects.filter(campaign_id=notice.campaign_id, patient_id=notice.patient_id).order_by("channel")
    )
    acknowledged = DeliveryEvent.objects.filter(
        notification__in=notifications, source=DeliveryEvent.Source.STATUS_PAGE, event_type="acknowledged"
    ).exists()
    audit_record(actor=None, action="view", obj=patient, request=request, via="status_page", campaign=campaign.pk)
    return NoticeView(campaign=campaign, patient=patient, notifications=notifications, acknowledged=acknowledged)


def notice_letter_pdf(*, notice: Notice, language: str, request=None) -> bytes:
    """The patient's own letter, on demand: the same content as the printed one, audited."""
    campaign = Campaign.objects.get(pk=notice.campaign_id)
    notification = (
        Notification.objects.filter(campaign=campaign, patient_id=notice.patient_id)
        .select_related("patient__laboratory", "patient__breach")
        .order_by("-channel")  # the postal row's reference when there is one ("post" > "email")
        .first()
    )
    letter = letter_data_for_notification(notification=notification, campaign=campaign, language=language)
    audit_record(
        actor=None, action="export", obj=notification.patient, request=request, via="status_page", document="letter_pdf"
    )
    return render_letter_pdf(letter)


def notice_acknowledge(*, notice: Notice) -> bool:
    """Record "I have read this" once per patient and campaign; True when this call recorded it."""
    notification = (
        Notification.objects.filter(campaign_id=notice.campaign_id, patient_id=notice.patient_id)
        .order_by("-channel")
        .first()
    )
    if notification is None:
        return False
    with transaction.atomic():
        event = delivery_event_record(
            notification=notification,
            event_type="acknowledged",
            at=timezone.now(),
            source=DeliveryEvent.Source.STATUS_PAGE,
            event_id=f"ack:{notice.campaign_id}:{notice.patient_id}",
        )
    return event is not None
