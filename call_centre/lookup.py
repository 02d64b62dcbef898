"""An agent opens ONE notice: the letter reference and the birth date the caller reads out.

Never a list, never a search by name: the reference is exact (printed on the letter), the birth date must
match, the notice must be of one of the agent's laboratories and of an open campaign. Every failure —
unknown reference, wrong date, another laboratory, too many tries — reads the same to the agent
(`None`), every try is counted (per agent, per hour) and every try is in the audit trail.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from labs import ratelimit
from labs.access import laboratories_for
from labs.audit import AuditEvent, audit_record
from letters.wording import exposure_labels
from notifier.models import Campaign, DeliveryEvent, Notification
from patients.models import minor_on

# An agent answers a call in a few minutes: 30 look-ups an hour is a busy shift, not an enumeration.
LOOKUPS_PER_AGENT_PER_HOUR = 30
OPEN_CAMPAIGN_STATES = (Campaign.Status.RUNNING, Campaign.Status.PAUSED, Campaign.Status.COMPLETED)
FAILURE = (
    "Aucun avis ne correspond à cette référence et à cette date de naissance, ou trop d'essais en une heure. "
    "Faites relire la référence imprimée sur la lettre (par exemple N12-3456-C) et la date de naissance."
)


def _try_counted(agent_id: int) -> bool:
    """Count one try of the agent in the current hour; True while within the limit."""
    return ratelimit.hit(f"callcentre:agent:{agent_id}", limit=LOOKUPS_PER_AGENT_PER_HOUR, window_seconds=3600)


@dataclass(frozen=True)
class NoticeSummary:
    """What an agent may read out: nothing medical (the health remark goes to the DPO, Art. 15)."""

    reference: str
    recipient: str
    is_minor: bool
    laboratory: str
    campaign_sent_on: dt.date | None
    channels: tuple[tuple[str, str], ...]  # (channel, state) in French
    data: tuple[str, ...]
    acknowledged: bool
    language: str


def _summary(notification: Notification) -> NoticeSummary:
    patient, campaign = notification.patient, notification.campaign
    sent_on = campaign.launched_at.date() if getattr(campaign, "launched_at", None) else None
    minor = minor_on(birth_date=patient.birth_date, civility=patient.civility, on=sent_on or dt.date.today())
    rows = list(Notification.objects.filter(campaign=campaign, patient=patient).order_by("channel"))
    acknowledged = DeliveryEvent.objects.filter(
        notification__in=rows, source=DeliveryEvent.Source.STATUS_PAGE, event_type="acknowledged"
    ).exists()
    return NoticeSummary(
        reference=notification.reference,
        recipient=" ".join(p for p in (patient.civility, patient.first_name, patient.last_name) if p),
        is_minor=minor,
        laboratory=campaign.laboratory.name,
        campaign_sent_on=sent_on,
        channels=tuple((row.get_channel_display(), row.get_status_display()) for row in rows),
        # The letters' own rule: a minor's notice never tells whether a health remark was in the file.
        data=tuple(exposure_labels(int(patient.exposure_mask), "fr", minor=minor)),
        acknowledged=acknowledged,
        language=notification.language,
    )


def notice_open_by_reference(
    *, reference: str, birth_date: dt.date | None, agent: Any, request: HttpRequest | None = None
) -> NoticeSummary | None:
    """The notice of `reference` when `birth_date` matches and it is one of the agent's laboratories; None on
    any failure (one answer for all). Counts one try per call and records it in the audit trail."""
    reference = " ".join(str(reference or "").split()).upper()
    allowed = _try_counted(agent.pk)
    notification = (
        Notification.objects.filter(
            reference=reference,
            campaign__status__in=OPEN_CAMPAIGN_STATES,
            campaign__laboratory__in=laboratories_for(agent),
        )
        .select_related("patient", "campaign__laboratory")
        .first()
    )
    expected = getattr(getattr(notification, "patient", None), "birth_date", None) or dt.date(1, 1, 1)
    given = birth_date or dt.date(1, 1, 2)
    matches = hmac.compare_digest(expected.isoformat(), given.isoformat())
    found = notification is not None and matches and allowed
    audit_record(
        actor=agent,
        action=AuditEvent.Action.LOOKUP,
        obj=notification.patient if found else None,
        laboratory=notification.campaign.laboratory if found else None,
        request=request,
        via="call_centre",
        reference=reference[:40],
        found=found,
        rate_limited=not allowed,
    )
    return _summary(notification) if found else None
