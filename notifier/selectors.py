"""Reads of the campaign engine: progress counts, the call-centre list, look-ups by status code."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, QuerySet

from patients.models import Patient

from .codes import status_code_digest
from .models import Campaign, Notification


def campaign_counts(*, campaign: Campaign) -> dict[str, dict[str, int]]:
    """Counts by channel × status, straight from the database (progress and completion use nothing else)."""
    counts: dict[str, dict[str, int]] = {}
    rows = (
        Notification.objects.filter(campaign=campaign)
        .values_list("channel", "status")
        .annotate(n=Count("pk"))
        .order_by("channel", "status")
    )
    for channel, status, n in rows:
        counts.setdefault(channel, {})[status] = n
    return counts


def campaign_summary(*, campaign: Campaign) -> dict[str, object]:
    """A JSON-able picture of one campaign (the `campaign status --json` answer)."""
    counts = campaign_counts(campaign=campaign)
    total = sum(sum(by_status.values()) for by_status in counts.values())
    open_rows = sum(
        by_status.get(s, 0)
        for by_status in counts.values()
        for s in (Notification.Status.PENDING, Notification.Status.QUEUED, Notification.Status.SENDING)
    )
    return {
        "id": campaign.pk,
        "name": campaign.name,
        "status": campaign.status,
        "channel_policy": campaign.channel_policy,
        "laboratory": campaign.laboratory.code,
        "breach": campaign.breach.slug,
        "notifications": total,
        "open": open_rows,
        "unreachable_patients": unreachable_patients(campaign=campaign).count(),
        # Committed as sent beside the SMTP final dot, but the server's reply never recorded: the one
        # message a worker had in flight when it died (at most one per worker). Almost surely
        # delivered; lost only if the worker died between writing the COMMIT and the dot (notifier/sending.py).
        "sent_unconfirmed": Notification.objects.filter(
            campaign=campaign,
            channel=Notification.Channel.EMAIL,
            status=Notification.Status.SENT,
            provider_message_id="",
        ).count(),  # fmt: skip
        "counts": counts,
    }


def unreachable_patients(*, campaign: Campaign) -> QuerySet[Patient]:
    """Patients of the campaign not reached on any channel and with nothing still in progress.

    The call-centre list, and the evidence for an Art. 34(3)(c) public communication.
    """
    rows = Notification.objects.filter(campaign=campaign, patient=OuterRef("pk"))
    deceased = Notification.objects.filter(patient=OuterRef("pk"), return_reason=Notification.ReturnReason.DECEASED)
    return (
        Patient.objects.filter(Exists(rows))
        .exclude(Exists(rows.exclude(status__in=Notification.UNREACHED)))
        .exclude(Exists(deceased))  # a letter came back « décédé » (any campaign): nobody is to phone them
        .order_by("last_name", "first_name", "pk")
    )


def notifications_for_code(code: str) -> QuerySet[Notification]:
    """The rows of the patient who holds `code` (any case, spacing, look-alikes); none for a wrong code."""
    return Notification.objects.filter(code_digest=status_code_digest(code)).select_related(
        "campaign__laboratory", "patient"
    )
