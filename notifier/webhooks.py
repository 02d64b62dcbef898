"""ESP tracking webhooks → delivery events, through anymail's `tracking` signal.

anymail's tracking views (`/anymail/<esp>/tracking/`) check the basic-auth WEBHOOK_SECRET (bad auth →
400) and parse each provider's payload into `AnymailTrackingEvent`s. The receiver below only records
the event (one indexed look-up, one insert, deduplicated on the provider's event id) and defers
applying it to a task, so the provider gets its answer fast.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from anymail.signals import tracking
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from . import queue
from .events import delivery_event_record
from .models import DeliveryEvent, Notification

logger = logging.getLogger(__name__)


def _notification_for(event: Any) -> Notification | None:
    metadata = getattr(event, "metadata", None) or {}
    notification_id = str(metadata.get("notification_id", "")).strip()
    if notification_id.isdigit():
        found = Notification.objects.filter(pk=int(notification_id)).first()
        if found is not None:
            return found
    if event.message_id:
        return Notification.objects.filter(provider_message_id=str(event.message_id)).first()
    return None


def _event_key(esp_name: str, event: Any) -> str:
    if event.event_id:
        return f"{esp_name}:{event.event_id}"[:200]
    # Some providers send no event id: the same (message, type, time) is the same event.
    raw = f"{esp_name}:{event.message_id}:{event.event_type}:{event.timestamp}"
    return f"{esp_name}:h:{hashlib.sha256(raw.encode()).hexdigest()}"


@receiver(tracking, dispatch_uid="notifier.webhooks.tracking_received")
def tracking_received(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    """Record one provider event (once) and apply it in a task after commit."""
    notification = _notification_for(event)
    if notification is None:
        logger.info("tracking event %s for an unknown message ignored", event.event_type)
        return
    recorded = delivery_event_record(
        notification=notification,
        event_type=str(event.event_type),
        at=event.timestamp or timezone.now(),
        source=DeliveryEvent.Source.ESP,
        reason=" — ".join(str(x) for x in (event.reject_reason, event.mta_response, event.description) if x)[:300],
        event_id=_event_key(esp_name, event),
    )
    if recorded is not None:
        event_pk = recorded.pk
        transaction.on_commit(lambda: queue.delivery_event_apply_enqueue(event_id=event_pk))
