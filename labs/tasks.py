"""Celery tasks of labs: thin wrappers over services, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from .audit import audit_purge
from .services import deadline_reminders_send


@shared_task
def audit_purge_task() -> int:
    """Purge audit events past the retention period; a second run deletes nothing more."""
    return audit_purge()


@shared_task
def deadline_reminders_send_task() -> int:
    """Send the due deadline reminders; re-running sends nothing already sent (unique reminder rows)."""
    return deadline_reminders_send()
