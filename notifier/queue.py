"""What the campaign engine hands to the Celery workers: ids only, never personal data.

The engine's modules enqueue through these functions and not by importing `notifier.tasks`: the tasks
call the engine, and the engine's flows loop back to them (a bounce starts a fallback that sends an
email), so a direct import would make a cycle. Tasks are looked up by name in the Celery app's
registry (`NotifierConfig.ready` imports `notifier.tasks`); an unknown name raises KeyError at once
rather than silently bypassing the eager mode of the embedded shape.
"""

from __future__ import annotations

from collections.abc import Sequence

from celery import current_app
from django.conf import settings

SEND_EMAILS = "notifier.tasks.notifications_send_task"
DISPATCH_CAMPAIGN = "notifier.tasks.campaign_dispatch_task"
BUILD_PRINT_BATCH = "notifier.tasks.print_batch_build_task"
APPLY_DELIVERY_EVENT = "notifier.tasks.delivery_event_apply_task"
TASK_NAMES = (SEND_EMAILS, DISPATCH_CAMPAIGN, BUILD_PRINT_BATCH, APPLY_DELIVERY_EVENT)


def _delay(name: str, *args: object) -> None:
    current_app.tasks[name].delay(*args)


def emails_send_enqueue(*, notification_ids: Sequence[int]) -> int:
    """Hand email rows to the workers in chunks of CAMPAIGN_EMAIL_CHUNK ids; returns the number of chunks.

    Call after commit: a worker must find the rows queued.
    """
    ids = list(notification_ids)
    size = settings.CAMPAIGN_EMAIL_CHUNK
    for start in range(0, len(ids), size):
        _delay(SEND_EMAILS, ids[start : start + size])
    return -(-len(ids) // size)


def campaign_dispatch_enqueue(*, campaign_id: int) -> None:
    _delay(DISPATCH_CAMPAIGN, campaign_id)


def print_batch_build_enqueue(*, batch_id: int) -> None:
    _delay(BUILD_PRINT_BATCH, batch_id)


def delivery_event_apply_enqueue(*, event_id: int) -> None:
    _delay(APPLY_DELIVERY_EVENT, event_id)
