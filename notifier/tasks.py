"""Thin Celery tasks: ids in (JSON, no personal data), one engine call, safe to run twice.

The engine enqueues them by name through notifier/queue.py.
"""

from __future__ import annotations

from celery import shared_task

from . import events, launch, postal, sending
from .models import DeliveryEvent


@shared_task(
    acks_late=True,
    autoretry_for=(sending.TransientSendError,),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=8,
)
def notifications_send_task(notification_ids: list[int]) -> int:
    """Send a chunk of email notifications; rows already claimed or sent are skipped, so re-runs send nothing twice."""
    return sending.notifications_send(notification_ids=[int(i) for i in notification_ids])


@shared_task(acks_late=True)
def campaign_dispatch_task(campaign_id: int) -> dict[str, int]:
    """Enqueue a running campaign's queued rows; re-runnable (the send claims rows one by one)."""
    return launch.campaign_dispatch(campaign_id=int(campaign_id))


@shared_task(acks_late=True)
def campaigns_tick_task() -> dict[str, int]:
    """Beat: re-queue rows stuck in queued/sending, start pending print batches, close finished campaigns."""
    return launch.campaigns_tick()


@shared_task(acks_late=True)
def delivery_event_apply_task(event_id: int) -> bool:
    """Apply one recorded delivery event; applying twice changes nothing (the event is marked applied)."""
    event = DeliveryEvent.objects.filter(pk=int(event_id)).first()
    return events.delivery_event_apply(event=event) if event is not None else False


@shared_task(acks_late=True)
def print_batch_build_task(batch_id: int) -> bool:
    """Render one print batch (merged PDF + manifest); a batch already built is left as it is."""
    return postal.print_batch_build(batch_id=int(batch_id))
