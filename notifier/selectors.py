"""Reads of the campaign engine: progress counts, the call-centre list, look-ups by status code."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Exists, Max, Min, OuterRef, QuerySet
from django.utils import timezone

from patients.models import Patient

from .codes import status_code_digest
from .models import Campaign, Notification, claim_expired
from .notice_email import message_id_for


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


def campaign_claims(*, campaign: Campaign, now: dt.datetime | None = None) -> list[dict[str, object]]:
    """The claims holding email rows in `sending`: by whom, how many rows, until when, and whether stalled.

    A stalled claim's worker stopped renewing it (killed, or hung): the tick puts its rows back in the
    queue, and the worker's late "sent" mark would be refused (notifier/sending.py).
    """
    now = now or timezone.now()
    claims = (
        Notification.objects.filter(campaign=campaign, channel=Notification.Channel.EMAIL,
                                    status=Notification.Status.SENDING)
        .values("claimed_by")
        .annotate(rows=Count("pk"), lease=Max("lease_until"), since=Min("sending_at"),
                  stalled_rows=Count("pk", filter=claim_expired(now=now)))
        .order_by("claimed_by")
    )  # fmt: skip
    return [
        {"worker": claim["claimed_by"], "rows": claim["rows"], "lease_until": claim["lease"] or claim["since"],
         "stalled": claim["stalled_rows"] == claim["rows"]}
        for claim in claims
    ]  # fmt: skip


def _unconfirmed(campaign: Campaign) -> QuerySet[Notification]:
    # Committed as sent beside the SMTP final dot, but the server's reply never recorded: the one
    # message a worker had in flight when it died (at most one per worker). Almost surely delivered;
    # lost only if the worker died between writing the COMMIT and the dot (notifier/sending.py).
    return Notification.objects.filter(
        campaign=campaign, channel=Notification.Channel.EMAIL, status=Notification.Status.SENT, provider_message_id=""
    )


def unconfirmed_notifications(*, campaign: Campaign) -> list[dict[str, object]]:
    """The sent emails without the server's confirmation, with the Message-ID to look for in the mail server's log."""
    rows = _unconfirmed(campaign).order_by("sent_at", "pk").only("pk", "reference", "sent_at", "claimed_by")
    return [
        {"reference": row.reference, "message_id": message_id_for(row), "sent_at": row.sent_at,
         "worker": row.claimed_by}
        for row in rows
    ]  # fmt: skip


def campaign_summary(*, campaign: Campaign) -> dict[str, object]:
    """A JSON-able picture of one campaign (the `campaign status --json` answer)."""
    counts = campaign_counts(campaign=campaign)
    claims = campaign_claims(campaign=campaign)
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
        "claims": [
            {**claim, "lease_until": claim["lease_until"] and claim["lease_until"].isoformat()} for claim in claims
        ],  # fmt: skip
        "stalled": sum(claim["rows"] for claim in claims if claim["stalled"]),
        "sent_unconfirmed": _unconfirmed(campaign).count(),
        "counts": counts,
    }


def unreachable_patients(*, campaign: Campaign) -> QuerySet[Patient]:
    """Patients of the campaign not reached on any channel and with nothing still in progress.

    The call-centre list, and the evidence for an Art. 34(3)(c) public communication.
    """
    rows = Notification.objects.filter(campaign=campaign, patient=OuterRef("pk"))
    return (
        Patient.objects.filter(Exists(rows), deceased_reported_at__isnull=True)  # a « décédé » return (any campaign)
        .exclude(Exists(rows.exclude(status__in=Notification.UNREACHED)))
        .order_by("last_name", "first_name", "pk")
    )


def notifications_for_code(code: str) -> QuerySet[Notification]:
    """The rows of the patient who holds `code` (any case, spacing, look-alikes); none for a wrong code."""
    return Notification.objects.filter(code_digest=status_code_digest(code)).select_related(
        "campaign__laboratory", "patient"
    )


# Reasons a patient was not reached, in the order a reader expects them (returned letters by La Poste's
# reason, then emails, then patients with nothing to write to). A patient may have two (letter and email).
def _reason_labels() -> list[tuple[str, str]]:
    returned = [
        (f"returned:{code}", f"courrier revenu : {label}")
        for code, label in Notification.ReturnReason.choices
        if code != Notification.ReturnReason.DECEASED
    ]
    return [
        *returned,
        ("bounced", "courriel rejeté par le serveur du destinataire"),
        ("failed", "envoi en échec après plusieurs tentatives"),
        ("no_contact", "ni adresse postale ni courriel utilisables"),
    ]


def unreachable_by_reason(*, breach_id: int, laboratory_id: int) -> dict[str, object]:
    """The figures behind an Art. 34(3)(c) public communication, for one case file: patients written to,
    patients reached on no channel (and nothing still in progress) across its campaigns, and why — counts only.

    The deceased (a letter came back « décédé ») are counted apart, as on the call-centre list."""
    rows = Notification.objects.filter(campaign__breach_id=breach_id, campaign__laboratory_id=laboratory_id).exclude(
        campaign__status=Campaign.Status.CANCELLED
    )
    mine = rows.filter(patient=OuterRef("pk"))
    deceased = Notification.objects.filter(patient=OuterRef("pk"), return_reason=Notification.ReturnReason.DECEASED)
    written_to = Patient.objects.filter(Exists(mine))
    unreachable = written_to.exclude(Exists(mine.exclude(status__in=Notification.UNREACHED))).exclude(Exists(deceased))
    per_reason: dict[str, int] = {}
    grouped = (
        rows.filter(patient__in=unreachable.values("pk"))
        .values_list("status", "return_reason")
        .annotate(n=Count("patient_id", distinct=True))
        .order_by()
    )
    for status, return_reason, n in grouped:
        code = {
            Notification.Status.RETURNED: f"returned:{return_reason or Notification.ReturnReason.OTHER}",
            Notification.Status.BOUNCED: "bounced",
            Notification.Status.FAILED: "failed",
            Notification.Status.UNREACHABLE: "no_contact",
        }[status]
        per_reason[code] = per_reason.get(code, 0) + n
    return {
        "computed_at": timezone.now().isoformat(timespec="seconds"),
        "patients": written_to.count(),
        "unreachable": unreachable.count(),
        "deceased": written_to.filter(Exists(deceased)).count(),
        "reasons": [
            {"code": code, "label": label, "patients": per_reason[code]}
            for code, label in _reason_labels()
            if per_reason.get(code)
        ],
    }
