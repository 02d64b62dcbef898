"""Postal channel: print batches of letters, hand-over to the printer or post, returned mail.

A letter row goes pending → queued (assigned to a print batch) → sent (batch handed over) →
returned (NPAI import) — the same monotonic ranks as email. Batch files hold names and addresses:
written 0600 under settings.PRINT_BATCH_DIR, their sha256 kept on the batch.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from labs.access import laboratories_for
from letters.content import LetterData, letter_data_for
from letters.printing import build_print_batch

from . import queue
from .campaigns import CampaignError, campaign_close_if_finished, campaign_trail
from .codes import status_code_for_ids, verification_phrase_for_ids
from .events import delivery_event_apply, delivery_event_record
from .models import Campaign, DeliveryEvent, Notification, PrintBatch

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Status = Notification.Status


def print_batches_enqueue(*, campaign: Campaign) -> int:
    """Put a running campaign's pending letters into new print batches and enqueue their rendering.

    Re-runnable: only letters without a batch are taken (rows locked, SKIP LOCKED), so two callers never
    put one letter in two batches. Returns the number of batches created.
    """
    created = 0
    while True:
        with transaction.atomic():
            locked = Campaign.objects.select_for_update().filter(pk=campaign.pk, status=Campaign.Status.RUNNING).first()
            if locked is None:
                return created
            ids = list(
                Notification.objects.select_for_update(skip_locked=True)
                .filter(campaign=campaign, channel=Notification.Channel.POST, status=Status.PENDING, print_batch=None)
                .order_by("pk")
                .values_list("pk", flat=True)[: settings.CAMPAIGN_PRINT_CHUNK]
            )
            if not ids:
                return created
            sequence = (PrintBatch.objects.filter(campaign=campaign).aggregate(m=Max("sequence"))["m"] or 0) + 1
            batch = PrintBatch.objects.create(campaign=campaign, sequence=sequence, letter_count=len(ids))
            now = timezone.now()
            Notification.objects.filter(pk__in=ids).update(
                print_batch=batch, status=Status.QUEUED, queued_at=now, updated_at=now
            )
            batch_id = batch.pk
            transaction.on_commit(lambda batch_id=batch_id: queue.print_batch_build_enqueue(batch_id=batch_id))
            created += 1


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def letter_data_for_notification(
    *, notification: Notification, campaign: Campaign, language: str | None = None
) -> LetterData:
    """The letter of one notification: the same content in its print batch, on the status page and in any
    reprint (code and phrase derived, template version pinned by the campaign, dated the day of launch)."""
    ids = {"breach_id": notification.patient.breach_id, "patient_id": notification.patient_id}
    return letter_data_for(
        patient=notification.patient,
        reference=notification.reference,
        status_code=status_code_for_ids(**ids),
        verification_phrase=verification_phrase_for_ids(**ids),
        language=language or notification.language,
        template_version=campaign.letter_template or None,
        sent_on=timezone.localdate(campaign.launched_at) if campaign.launched_at else None,
    )


def print_batch_build(*, batch_id: int) -> bool:
    """Render one print batch (merged PDF + manifest) once; a built batch is left as it is."""
    batch = PrintBatch.objects.select_related("campaign").get(pk=batch_id)
    if batch.built_at is not None:
        return False
    rows = (
        Notification.objects.filter(print_batch=batch)
        .select_related("patient__laboratory", "patient__breach")
        .order_by("pk")
    )
    letters = [letter_data_for_notification(notification=row, campaign=batch.campaign) for row in rows]
    if not letters:
        PrintBatch.objects.filter(pk=batch.pk).update(error="lot vide / empty batch")
        return False
    try:
        files = build_print_batch(letters)
    except Exception as error:  # recorded on the batch for the operator; the tick tries again later
        PrintBatch.objects.filter(pk=batch.pk).update(error=f"{type(error).__name__}: {error}"[:1000])
        raise
    folder = Path(settings.PRINT_BATCH_DIR) / f"campaign-{batch.campaign_id}"
    pdf_path = folder / f"batch-{batch.sequence:04d}.pdf"
    manifest_path = folder / f"batch-{batch.sequence:04d}.csv"
    _write_private(pdf_path, files.pdf)
    _write_private(manifest_path, files.manifest_csv.encode())
    return bool(
        PrintBatch.objects.filter(pk=batch.pk, built_at=None).update(
            built_at=timezone.now(),
            letter_count=len(letters),
            pdf_path=str(pdf_path),
            pdf_sha256=files.pdf_sha256,
            manifest_path=str(manifest_path),
            manifest_sha256=files.manifest_sha256,
            error="",
            updated_at=timezone.now(),
        )  # fmt: skip
    )


def print_batches_rebuild_stuck(*, campaign: Campaign, older_than: dt.datetime) -> int:
    """Re-enqueue batches whose rendering never finished (a lost task or a killed worker)."""
    stuck = list(
        PrintBatch.objects.filter(campaign=campaign, built_at=None, created_at__lt=older_than).values_list(
            "pk", flat=True
        )
    )
    for batch_id in stuck:
        queue.print_batch_build_enqueue(batch_id=batch_id)
    return len(stuck)


def print_batch_hand_over(*, batch: PrintBatch, by: AbstractBaseUser | None) -> int:
    """Mark a built batch handed over once: its letters become `sent`. Returns how many rows moved."""
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
        ids = list(
            Notification.objects.filter(print_batch=batch, status__in=[Status.QUEUED, Status.SENDING]).values_list(
                "pk", flat=True
            )
        )
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
        sent = Notification.objects.filter(pk__in=ids).update(status=Status.SENT, sent_at=now, updated_at=now)
        campaign_trail(batch.campaign, "handover", by, batch=batch.pk, letters=sent)
        campaign_close_if_finished(campaign_id=batch.campaign_id)
    return sent


# Reason codes La Poste prints on returned mail (PND), as they come in returned-mail CSVs.
RETURN_REASONS = {
    "npai": "n'habite pas à l'adresse indiquée",
    "incomplete": "adresse incomplète",
    "refused": "refusé",
    "deceased": "décédé",
    "unknown": "destinataire inconnu",
}


def returned_mail_record(*, reference: str, returned_on: dt.date, reason: str, by: Any = None) -> str:
    """Apply one returned letter: 'applied', 'unknown' (no such letter), or 'duplicate' (already returned).

    The event id is the reference: the same letter returned twice (or a re-imported file) applies once.
    With `by`, only letters of that person's laboratories are found (another lab's reference is 'unknown').
    """
    letters = Notification.objects.filter(reference=reference.strip(), channel=Notification.Channel.POST)
    if by is not None:
        letters = letters.filter(campaign__laboratory__in=laboratories_for(by))
    notification = letters.first()
    if notification is None:
        return "unknown"
    at = timezone.make_aware(dt.datetime.combine(returned_on, dt.time(12, 0)))
    label = RETURN_REASONS.get(reason.strip().lower(), reason.strip())
    with transaction.atomic():
        event = delivery_event_record(
            notification=notification, event_type="returned", at=at, source=DeliveryEvent.Source.POSTAL_RETURN,
            reason=label, event_id=f"return:{notification.reference}",
        )  # fmt: skip
        if event is None:
            return "duplicate"
        delivery_event_apply(event=event)
    return "applied"
