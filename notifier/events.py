"""Delivery events and fallbacks: what happened to a notice after it left, told by its source.

Events come from the SMTP conversation (a refused recipient), the ESP's tracking webhooks, the printer's
hand-over, returned mail and the status page. Each is appended once (`event_id` is unique: a replayed
webhook records nothing) and applied once (`applied`), monotonically: a notification only moves to a
higher `RANK`, so a late "delivered" never overrides "bounced". A bounced email or a returned letter
tries the campaign's other channel once (`notification_fallback`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from patients.models import Patient

from . import queue
from .campaigns import CampaignStatus, ChannelPolicy, campaign_reopen
from .models import Campaign, DeliveryEvent, Notification

Status = Notification.Status
Channel = Notification.Channel


# Monotonic delivery state: a notification only moves to a higher rank (a late "delivered" never
# overrides "bounced"; a replayed "sent" never rewinds "delivered").
RANK = {
    Status.PENDING: 0, Status.QUEUED: 1, Status.SENDING: 2, Status.SENT: 3, Status.DELIVERED: 4,
    Status.BOUNCED: 5, Status.RETURNED: 5, Status.FAILED: 5, Status.UNREACHABLE: 5, Status.CANCELLED: 6,
}  # fmt: skip

# Provider (anymail) event types → the notification status they lead to; others are recorded only.
EVENT_STATUS = {
    "delivered": Status.DELIVERED,
    "bounced": Status.BOUNCED,
    "rejected": Status.BOUNCED,
    "failed": Status.FAILED,
    "returned": Status.RETURNED,
    "sent": Status.SENT,
    # The ESP has the message: a row its worker left in `sending` (killed between the API call and
    # the mark) moves on here, before the tick would re-queue it and send it twice.
    "queued": Status.SENT,
    "handed_over": Status.SENT,
}


def event_record_and_apply(notification: Notification, target: str, *, source: str, event_type: str, reason: str,
                 at: dt.datetime, event_id: str | None = None) -> bool:  # fmt: skip
    """Record an event and move the row forward if the target ranks higher; fallbacks on bounce/return."""
    with transaction.atomic():
        event = DeliveryEvent.objects.create(
            notification=notification, event_type=event_type, at=at, source=source, reason=reason[:300],
            event_id=event_id,
        )  # fmt: skip
        return delivery_event_apply(event=event, target=target)


def delivery_event_apply(*, event: DeliveryEvent, target: str | None = None) -> bool:
    """Apply a recorded event once, monotonically; returns True if the notification changed state."""
    target = target or EVENT_STATUS.get(event.event_type)
    with transaction.atomic():
        locked = DeliveryEvent.objects.select_for_update().get(pk=event.pk)
        if locked.applied:
            return False
        DeliveryEvent.objects.filter(pk=event.pk).update(applied=True)
        if target is None:
            return False
        notification = Notification.objects.select_for_update().get(pk=event.notification_id)
        if RANK[target] <= RANK[notification.status] or notification.status == Status.CANCELLED:
            return False
        now = timezone.now()
        fields: dict[str, Any] = {"status": target, "updated_at": now}
        if target in Notification.TERMINAL and target != Status.SENT:
            fields["final_at"] = event.at
        if target == Status.SENT:
            fields["sent_at"] = event.at
        if event.reason and target in Notification.UNREACHED:
            fields["last_error"] = event.reason[:300]
        Notification.objects.filter(pk=notification.pk).update(**fields)
        notification.status = target
        if target in (Status.BOUNCED, Status.RETURNED):
            notification_fallback(notification=notification)
    return True


def delivery_event_record(*, notification: Notification, event_type: str, at: dt.datetime, source: str,
                          reason: str = "", event_id: str | None = None) -> DeliveryEvent | None:  # fmt: skip
    """Append an event once per event_id (a replayed webhook returns None); applying it is separate."""
    try:
        with transaction.atomic():
            return DeliveryEvent.objects.create(
                notification=notification, event_type=event_type, at=at, source=source, reason=reason[:300],
                event_id=event_id,
            )  # fmt: skip
    except IntegrityError:
        return None


def notification_fallback(*, notification: Notification) -> Notification | None:
    """After a bounce (email) or a returned letter, try the campaign's other channel once, if usable."""
    campaign = Campaign.objects.select_related(None).get(pk=notification.campaign_id)
    wanted = {
        (ChannelPolicy.EMAIL_THEN_POST, Channel.EMAIL): Channel.POST,
        (ChannelPolicy.POST_THEN_EMAIL, Channel.POST): Channel.EMAIL,
    }.get((campaign.channel_policy, notification.channel))
    if notification.return_reason == Notification.ReturnReason.DECEASED:
        return None  # La Poste says the patient died: nothing more is sent to them
    if wanted is None or campaign.status not in (
        CampaignStatus.RUNNING,
        CampaignStatus.PAUSED,
        CampaignStatus.COMPLETED,
    ):
        return None
    patient = Patient.objects.get(pk=notification.patient_id)
    if (wanted == Channel.POST and not patient.has_postal_address) or (wanted == Channel.EMAIL and not patient.email):
        return None  # the patient now has no reached row: the call-centre list picks them up
    if campaign.status == CampaignStatus.COMPLETED:
        # Bounces and returns arrive after the last send: the fallback reopens the campaign until done.
        campaign = campaign_reopen(campaign=campaign, reason="fallback", notification=notification.pk)
    now = timezone.now()
    status = Status.QUEUED if wanted == Channel.EMAIL else Status.PENDING
    row = Notification(
        campaign_id=campaign.pk, patient_id=patient.pk, channel=wanted, status=status, is_fallback=True,
        code_digest=notification.code_digest, language=campaign.language, queued_at=now if status == Status.QUEUED else None,
        reference=Notification.reference_for(campaign_id=campaign.pk, patient_id=patient.pk, channel=wanted),
    )  # fmt: skip
    created = Notification.objects.bulk_create([row], ignore_conflicts=True)
    fallback = Notification.objects.filter(campaign=campaign, patient=patient, channel=wanted).first()
    if fallback is not None and created and fallback.status == Status.QUEUED:
        fallback_id = fallback.pk
        transaction.on_commit(lambda: queue.emails_send_enqueue(notification_ids=[fallback_id]))
    if fallback is not None and fallback.channel == Channel.POST and campaign.status == CampaignStatus.RUNNING:
        # The letter joins the next print batch.
        campaign_id = campaign.pk
        transaction.on_commit(lambda: queue.campaign_dispatch_enqueue(campaign_id=campaign_id))
    return fallback
