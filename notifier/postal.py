"""Postal channel: print batches of letters, hand-over to the printer or post, returned mail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from .models import DeliveryEvent, Notification, PrintBatch

if TYPE_CHECKING:
    from .models import Campaign


def print_batches_enqueue(*, campaign: Campaign) -> int:
    """Group pending letters into print batches and enqueue their rendering (not wired yet: 0)."""
    return 0


def print_batch_build(*, batch_id: int) -> bool:
    """Render one print batch (not wired yet)."""
    return False


def print_batch_hand_over(*, batch: PrintBatch, by: Any) -> int:
    """Mark a built batch handed over once: its letters become `sent`. Returns how many rows moved."""
    from .services import CampaignError, _record, campaign_close_if_finished

    now = timezone.now()
    with transaction.atomic():
        moved = PrintBatch.objects.filter(pk=batch.pk, handed_over_at__isnull=True, built_at__isnull=False).update(
            handed_over_at=now, handed_over_by=by, updated_at=now
        )
        if not moved:
            current = PrintBatch.objects.get(pk=batch.pk)
            if current.handed_over_at is not None:
                return 0  # already handed over: nothing to do twice
            raise CampaignError("Lot pas encore construit / print batch not built yet")
        rows = Notification.objects.filter(
            print_batch=batch, status__in=[Notification.Status.QUEUED, Notification.Status.SENDING]
        )
        ids = list(rows.values_list("pk", flat=True))
        DeliveryEvent.objects.bulk_create(
            [
                DeliveryEvent(
                    notification_id=pk,
                    event_type="handed_over",
                    at=now,
                    source=DeliveryEvent.Source.PRINTER,
                    event_id=f"handover:{batch.pk}:{pk}",
                    applied=True,
                )
                for pk in ids
            ],  # fmt: skip
            ignore_conflicts=True,
        )
        sent = Notification.objects.filter(pk__in=ids).update(
            status=Notification.Status.SENT, sent_at=now, updated_at=now
        )
        _record(batch.campaign, "handover", by, batch=batch.pk, letters=sent)
        campaign_id = batch.campaign_id
        transaction.on_commit(lambda: campaign_close_if_finished(campaign_id=campaign_id))
    batch.refresh_from_db()
    return sent
