"""Thin Celery tasks of the evidence packs (enqueued by name from evidence/services.py)."""

from __future__ import annotations

from celery import shared_task

from .services import evidence_pack_build, evidence_packs_interrupted_fail


@shared_task(acks_late=True)
def evidence_pack_build_task(pack_id: int) -> bool:
    """Build one pending evidence pack; a pack already claimed is left as it is, so a second run writes nothing."""
    return evidence_pack_build(pack_id=int(pack_id))


@shared_task
def evidence_packs_interrupted_fail_task() -> int:
    """Beat: a pack left pending or building past EVIDENCE_STUCK_SECONDS (its worker died) is marked failed; idempotent."""
    return evidence_packs_interrupted_fail()
