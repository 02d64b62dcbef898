"""Launch and dispatch: one row per (campaign, patient, channel), then the work handed to the workers.

Launch writes every notification of an approved campaign in the transaction that moves it to
running (COPY on PostgreSQL; the unique constraint backs up "launched once"); dispatch then hands the
queued email ids to the workers and the pending letters to print batches. `campaigns_tick`, run by
beat, repairs what a lost task or a killed worker left behind and closes finished campaigns.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import postal, queue
from .campaigns import (
    CampaignStatus,
    ChannelPolicy,
    campaign_close_if_finished,
    campaign_trail,
    campaign_transition,
    launch_gate_check,
)
from .codes import status_code_digests_for
from .models import Campaign, Notification, claim_expired
from .targets import campaign_patients, channels_for, launch_targets

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Status = Notification.Status
Channel = Notification.Channel


# Columns written by the launch's bulk insert (COPY on PostgreSQL), in order.
_LAUNCH_COLUMNS = (
    "created_at", "updated_at", "campaign_id", "patient_id", "channel", "status", "reference", "code_digest",
    "language", "is_fallback", "attempts", "last_error", "provider_message_id", "queued_at", "final_at",
)  # fmt: skip


def _insert_notifications(rows: list[tuple]) -> None:
    """Insert launch rows (tuples in `_LAUNCH_COLUMNS` order): COPY on PostgreSQL, bulk_create elsewhere.

    No conflict handling is needed: only the one caller that moved the campaign approved→running
    inserts, inside that same transaction; a duplicate would violate the unique constraint and roll
    the whole launch back.
    """
    if not rows:
        return
    if db_connection.vendor == "postgresql":
        sql = f"COPY {Notification._meta.db_table} ({', '.join(_LAUNCH_COLUMNS)}) FROM STDIN"
        with db_connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)
        return
    Notification.objects.bulk_create([Notification(**dict(zip(_LAUNCH_COLUMNS, row, strict=True))) for row in rows])


def campaign_launch(*, campaign: Campaign, by: AbstractBaseUser | None, batch_size: int = 20000) -> dict[str, int]:
    """Create every notification of an approved campaign in bulk, then enqueue the work after commit.

    Only the caller that moves the campaign approved→running creates rows (a second launch is refused),
    and the unique constraint (campaign, patient, channel) backs that up. Refused while the gate
    (`notifier.gate`) lists a missing element; patients already covered by another campaign of the
    breach are left out unless the campaign is a follow-up (`notifier.targets`).
    """
    counts = {"patients": 0, "post": 0, "email": 0, "unreachable": 0, "excluded": 0}
    with transaction.atomic():
        campaign = campaign_transition(campaign, CampaignStatus.RUNNING, by, extra={"launched_at": timezone.now()})
        launch_gate_check(campaign, "Lancement")  # after the move: a wrong state is said first; rolled back
        now = timezone.now()
        policy, language, campaign_id = campaign.channel_policy, campaign.language, campaign.pk
        primary_if_none = str(
            Channel.EMAIL if policy in (ChannelPolicy.EMAIL, ChannelPolicy.EMAIL_THEN_POST) else Channel.POST
        )
        queued_status, pending_status, unreachable_status = (
            str(Status.QUEUED),
            str(Status.PENDING),
            str(Status.UNREACHABLE),
        )
        targets = launch_targets(campaign)
        if not campaign.is_follow_up:
            counts["excluded"] = campaign_patients(campaign).count() - targets.count()
        patients = (
            targets.order_by("pk")
            .values_list("pk", "email", "address_line", "postcode", "city")
            .iterator(chunk_size=batch_size)
        )
        while chunk := list(itertools.islice(patients, batch_size)):
            digests = status_code_digests_for(breach_id=campaign.breach_id, patient_ids=[p[0] for p in chunk])
            rows: list[tuple] = []
            for (patient_id, email, address_line, postcode, city), digest in zip(chunk, digests, strict=True):
                channels = channels_for(policy, has_address=bool(address_line and postcode and city),
                                         has_email=bool(email))  # fmt: skip
                for channel in channels:
                    queued = channel == Channel.EMAIL
                    rows.append((now, now, campaign_id, patient_id, str(channel), queued_status if queued else pending_status,
                                 Notification.reference_for(campaign_id=campaign_id, patient_id=patient_id, channel=channel), digest, language, False, 0,
                                 "", "", now if queued else None, None))  # fmt: skip
                    counts[channel] += 1
                if not channels:
                    # One row says "tried, no usable channel": the patient goes on the call-centre list.
                    rows.append((now, now, campaign_id, patient_id, primary_if_none, unreachable_status,
                                 Notification.reference_for(campaign_id=campaign_id, patient_id=patient_id,
                                                        channel=primary_if_none),
                                 digest, language, False, 0, "ni adresse postale ni courriel utilisables", "", None,
                                 now))  # fmt: skip
                    counts["unreachable"] += 1
            counts["patients"] += len(chunk)
            _insert_notifications(rows)
        campaign_trail(campaign, "launch", by, **counts)
        transaction.on_commit(lambda: campaign_dispatch(campaign_id=campaign_id))
    return counts


def campaign_dispatch(*, campaign_id: int) -> dict[str, int]:
    """Enqueue every queued email row and start print batches for pending letters; re-runnable."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status != CampaignStatus.RUNNING:
        return {"email_chunks": 0, "print_batches": 0}
    ids = list(
        Notification.objects.filter(campaign_id=campaign_id, channel=Channel.EMAIL, status=Status.QUEUED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    result = {
        "email_chunks": queue.emails_send_enqueue(notification_ids=ids),
        "print_batches": postal.print_batches_enqueue(campaign=campaign),
    }
    campaign_close_if_finished(campaign_id=campaign_id)
    return result


def campaigns_tick(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Periodic repair: take back expired claims, re-queue rows stuck in queued; close finished campaigns.

    A row in `sending` whose claim's lease ran out (its worker was killed or hangs) goes back to the
    queue at once: the worker's late "sent" mark would be refused (notifier/sending.py), so it cannot
    also send it. Rows claimed before leases existed are taken back after CAMPAIGN_STUCK_SECONDS.
    """
    now = now or timezone.now()
    stale = now - dt.timedelta(seconds=settings.CAMPAIGN_STUCK_SECONDS)
    result = {"requeued": 0, "released": 0, "failed": 0, "completed": 0}
    expired = claim_expired(now=now)
    running = list(Campaign.objects.filter(status=CampaignStatus.RUNNING).values_list("pk", flat=True))
    for campaign_id in running:
        rows = Notification.objects.filter(campaign_id=campaign_id, channel=Channel.EMAIL)
        # A row left in `sending` by a dead worker: retry it, unless it has used up its attempts.
        result["failed"] += rows.filter(expired, status=Status.SENDING, attempts__gte=settings.CAMPAIGN_MAX_ATTEMPTS).update(
            status=Status.FAILED, final_at=now, last_error="interrompu trop de fois / interrupted too often",
            updated_at=now, lease_until=None,
        )  # fmt: skip
        result["released"] += rows.filter(expired, status=Status.SENDING).update(
            status=Status.QUEUED, queued_at=None, updated_at=now, claimed_by="", lease_until=None
        )
        stuck_filter = Q(queued_at__isnull=True) | Q(queued_at__lt=stale)
        stuck = list(rows.filter(stuck_filter, status=Status.QUEUED).order_by("pk").values_list("pk", flat=True))
        if stuck:
            Notification.objects.filter(pk__in=stuck, status=Status.QUEUED).update(queued_at=now)
            queue.emails_send_enqueue(notification_ids=stuck)
            result["requeued"] += len(stuck)
        campaign = Campaign.objects.get(pk=campaign_id)
        postal.print_batches_enqueue(campaign=campaign)
        postal.print_batches_rebuild_stuck(campaign=campaign, older_than=stale)
        result["completed"] += int(campaign_close_if_finished(campaign_id=campaign_id))
    return result
