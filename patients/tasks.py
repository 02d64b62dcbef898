"""Celery tasks of patients: thin wrappers over services, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from .services import import_rejects_purge


@shared_task
def import_rejects_purge_task() -> int:
    """Delete import rejects files past their retention; a second run deletes nothing more."""
    return import_rejects_purge()
