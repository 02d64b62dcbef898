"""Who a launch writes to, and on which channels: shared by the launch (which writes) and the gate (which counts).

A campaign reaches the patients of its breach and laboratory, minus those already covered by another
campaign of the same breach — unless it is a follow-up (`Campaign.is_follow_up`). "Covered" means a row
in another campaign that was not cancelled: a patient of a cancelled campaign was never told, so the
next campaign writes to them. The status code is one per patient and breach (`notifier.codes`), so a
follow-up reaches people with the code they already hold.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from patients.models import Patient

from .models import Campaign, Notification

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


def campaign_patients(campaign: Campaign) -> QuerySet[Patient]:
    """Every patient of the campaign's breach and laboratory, covered elsewhere or not."""
    return Patient.objects.filter(breach_id=campaign.breach_id, laboratory_id=campaign.laboratory_id)


def launch_targets(campaign: Campaign) -> QuerySet[Patient]:
    """The patients the launch writes to: a follow-up reaches all, any other campaign the not-yet-covered."""
    patients = campaign_patients(campaign)
    return patients if campaign.is_follow_up else patients.exclude(_covered_elsewhere(campaign))


@dataclass(frozen=True)
class LaunchForecast:
    """What launching the campaign now would create (nothing is written to know it)."""

    patients: int  # patients written to
    excluded: int  # already covered by another campaign of the breach (0 for a follow-up)
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
    excluded = 0 if campaign.is_follow_up else campaign_patients(campaign).filter(_covered_elsewhere(campaign)).count()
    return LaunchForecast(
        patients=totals["patients"],
        excluded=excluded,
        post=totals[Channel.POST],
        email=totals[Channel.EMAIL],
        unreachable=totals["unreachable"],
    )
