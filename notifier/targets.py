"""Who a launch writes to, and on which channels: shared by the launch (which writes) and the gate (which counts).

A campaign reaches the patients of its breach and laboratory, minus those already covered by another
campaign of the same breach — unless it is a follow-up (`Campaign.is_follow_up`). "Covered" means a row
in another campaign that was not cancelled: a patient of a cancelled campaign was never told, so the
next campaign writes to them. The status code is one per patient and breach (`notifier.codes`), so a
follow-up reaches people with the code they already hold.

A follow-up writes to the patients its `follow_up_target` names: not reached (every earlier row bounced,
came back, failed or found no channel), reached but not read (a notice sent at least
FOLLOW_UP_NOT_READ_DAYS ago and no acknowledgement from the status page), both, or all. A patient whose
letter came back « décédé » (`Patient.deceased_reported_at`) is never a target again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Exists, Min, OuterRef, Q, QuerySet
from django.utils import timezone

from patients.models import Patient

from .models import Campaign, DeliveryEvent, Notification

Channel = Notification.Channel
ChannelPolicy = Campaign.ChannelPolicy


def channels_for(policy: str, *, has_address: bool, has_email: bool) -> list[str]:
    """The channels a patient gets at launch (fallbacks come later); [] means unreachable."""
    if policy == ChannelPolicy.POST:
        return [Channel.POST] if has_address else []
    if policy == ChannelPolicy.EMAIL:
        return [Channel.EMAIL] if has_email else []
    if policy == ChannelPolicy.POST_AND_EMAIL:
        return [c for c, ok in ((Channel.POST, has_address), (Channel.EMAIL, has_email)) if ok]
    if policy == ChannelPolicy.POST_THEN_EMAIL:
        return [Channel.POST] if has_address else [Channel.EMAIL] if has_email else []
    return [Channel.EMAIL] if has_email else [Channel.POST] if has_address else []  # email_then_post


def _covered_elsewhere(campaign: Campaign) -> Exists:
    # Patients are per breach and laboratory, so a row of the same patient is a row of the same breach.
    return Exists(
        Notification.objects.filter(patient_id=OuterRef("pk"))
        .exclude(campaign_id=campaign.pk)
        .exclude(status=Notification.Status.CANCELLED)
    )


def not_reached() -> Q:
    """Patients written to before whose every (not cancelled) row failed: bounced, returned, failed, unreachable."""
    rows = Notification.objects.filter(patient_id=OuterRef("pk")).exclude(status=Notification.Status.CANCELLED)
    return Q(Exists(rows)) & ~Q(Exists(rows.exclude(status__in=Notification.UNREACHED)))


def not_read(*, now: dt.datetime | None = None) -> Q:
    """Patients reached (their latest sent or delivered row at least FOLLOW_UP_NOT_READ_DAYS old) who never
    acknowledged a notice on the status page."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.FOLLOW_UP_NOT_READ_DAYS)
    reached = Notification.objects.filter(
        patient_id=OuterRef("pk"), status__in=(Notification.Status.SENT, Notification.Status.DELIVERED)
    )
    acknowledged = DeliveryEvent.objects.filter(
        notification__patient_id=OuterRef("pk"), event_type=DeliveryEvent.EventType.ACKNOWLEDGED
    )
    # The latest notice counts: a patient written to again lately (an earlier follow-up) has not had time yet.
    return (
        Q(Exists(reached.filter(sent_at__lte=cutoff)))
        & ~Q(Exists(reached.filter(sent_at__gt=cutoff)))
        & ~Q(Exists(acknowledged))
    )


def first_notice_dates(*, campaign: Campaign, patient_ids: list[int] | None = None) -> dict[int, dt.date]:
    """For a follow-up: the day each of its patients was first sent a notice by another campaign (local date),
    in one grouped query; {} for a campaign that is not a follow-up."""
    if not campaign.is_follow_up:
        return {}
    rows = (
        Notification.objects.filter(
            patient__breach_id=campaign.breach_id,
            patient__laboratory_id=campaign.laboratory_id,
            sent_at__isnull=False,
        )
        .exclude(campaign_id=campaign.pk)
        .exclude(status=Notification.Status.CANCELLED)
    )
    if patient_ids is not None:
        rows = rows.filter(patient_id__in=patient_ids)
    firsts = rows.values_list("patient_id").annotate(first=Min("sent_at")).order_by()
    return {patient_id: timezone.localdate(first) for patient_id, first in firsts}


def campaign_patients(campaign: Campaign) -> QuerySet[Patient]:
    """Every living patient of the campaign's breach and laboratory, covered elsewhere or not.

    A patient reported deceased by a returned letter is left out of every later campaign."""
    return Patient.objects.filter(
        breach_id=campaign.breach_id, laboratory_id=campaign.laboratory_id, deceased_reported_at__isnull=True
    )


def follow_up_condition(target: str) -> Q:
    """The patients a follow-up with this `follow_up_target` writes to (Q() = all)."""
    Target = Campaign.FollowUpTarget
    if target == Target.NOT_REACHED:
        return not_reached()
    if target == Target.NOT_READ:
        return not_read()
    if target == Target.BOTH:
        return not_reached() | not_read()
    return Q()


def launch_targets(campaign: Campaign) -> QuerySet[Patient]:
    """The patients the launch writes to: a follow-up those its target names, any other campaign the
    not-yet-covered."""
    patients = campaign_patients(campaign)
    if campaign.is_follow_up:
        return patients.filter(follow_up_condition(campaign.follow_up_target))
    return patients.exclude(_covered_elsewhere(campaign))


@dataclass(frozen=True)
class LaunchForecast:
    """What launching the campaign now would create (nothing is written to know it)."""

    patients: int  # patients written to
    excluded: int  # covered by another campaign of the breach; for a follow-up, outside its target
    post: int  # letters
    email: int  # emails
    unreachable: int  # patients with no usable channel (the call-centre list)


def launch_forecast(campaign: Campaign) -> LaunchForecast:
    """Counts per channel as the launch computes them (channels_for on the same address/email test), in SQL."""
    has_address = ~Q(address_line="") & ~Q(postcode="") & ~Q(city="")
    has_email = ~Q(email="")
    combos = {
        (address, email): Q(has_address if address else ~has_address) & Q(has_email if email else ~has_email)
        for address in (True, False)
        for email in (True, False)
    }
    counted = launch_targets(campaign).aggregate(
        **{f"a{int(a)}e{int(e)}": Count("pk", filter=condition) for (a, e), condition in combos.items()}
    )
    totals = {"patients": 0, Channel.POST: 0, Channel.EMAIL: 0, "unreachable": 0}
    for address, email in combos:
        patients = counted[f"a{int(address)}e{int(email)}"]
        channels = channels_for(campaign.channel_policy, has_address=address, has_email=email)
        totals["patients"] += patients
        for channel in channels:
            totals[channel] += patients
        if not channels:
            totals["unreachable"] += patients
    if campaign.is_follow_up:
        excluded = campaign_patients(campaign).count() - totals["patients"]
    else:
        excluded = campaign_patients(campaign).filter(_covered_elsewhere(campaign)).count()
    return LaunchForecast(
        patients=totals["patients"],
        excluded=excluded,
        post=totals[Channel.POST],
        email=totals[Channel.EMAIL],
        unreachable=totals["unreachable"],
    )
