"""Thin Celery tasks of the dashboards."""

from __future__ import annotations

from celery import shared_task

from .cnil import cnil_counts_cached


@shared_task
def cnil_counts_refresh_task() -> int:
    """Beat: recompute the CNIL dashboard's people counts so no liaison waits for them; idempotent."""
    return len(cnil_counts_cached(refresh=True).patients)
