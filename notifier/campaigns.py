"""The campaign state machine and its trail.

A campaign moves draft → approved (by a second person) → running ⇄ paused → completed, or cancelled
from any state but the last two; `TRANSITIONS` is the whole machine. Every move is a conditional
UPDATE, so two concurrent clicks cannot both win. Each operator action lands once, in the audit trail
(`campaign_trail`), which the campaign's admin page shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import timezone

from labs.audit import AuditEvent, audit_record
from letters.versions import template_version

from . import queue
from .gate import Missing, launch_checklist, missing_text
from .models import Campaign, Notification

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.db.models import QuerySet

Status = Notification.Status
CampaignStatus = Campaign.Status
ChannelPolicy = Campaign.ChannelPolicy


class CampaignError(Exception):
    """A refused campaign operation, with a message fit for the operator (French / English)."""


class LaunchGateRefused(CampaignError):
    """Approval or launch refused while Art. 34(2) elements are missing (`notifier.gate`); one line each."""

    def __init__(self, verb: str, missing: list[Missing]) -> None:
        self.missing = missing
        super().__init__(
            f"{verb} refusée : il manque ce que la lettre doit dire (art. 34(2)) :\n{missing_text(missing)}"
        )


def launch_gate_check(campaign: Campaign, verb: str) -> None:
    """LaunchGateRefused unless the campaign's letters can say everything Art. 34(2) asks."""
    missing = launch_checklist(campaign)
    if missing:
        raise LaunchGateRefused(verb, missing)


# Campaign state machine: from → allowed targets.
TRANSITIONS: dict[str, set[str]] = {
    CampaignStatus.DRAFT: {CampaignStatus.APPROVED, CampaignStatus.CANCELLED},
    CampaignStatus.APPROVED: {CampaignStatus.RUNNING, CampaignStatus.CANCELLED},
    CampaignStatus.RUNNING: {CampaignStatus.PAUSED, CampaignStatus.COMPLETED, CampaignStatus.CANCELLED},
    CampaignStatus.PAUSED: {CampaignStatus.RUNNING, CampaignStatus.CANCELLED},
    CampaignStatus.COMPLETED: set(),  # reopened only by a fallback (campaign_reopen), never by hand
    CampaignStatus.CANCELLED: set(),
}


# What each trail entry says to a reader of the campaign's page.
TRAIL_LABELS = {
    "create": "création",
    "approve": "approbation (quatre yeux)",
    "launch": "lancement",
    "pause": "mise en pause",
    "resume": "reprise",
    "cancel": "annulation",
    "complete": "fin des envois",
    "reopen": "réouverture pour un envoi de repli",
    "handover": "lot remis à l'imprimeur / La Poste",
    "capacity": "capacité du centre d'appels déclarée (plan de remise)",
    "export_call_centre": "export de la liste du centre d'appels",
}


def campaign_trail(campaign: Campaign, action: str, by: AbstractBaseUser | None, **detail: Any) -> None:
    """Record one action on the campaign (a move, an export, a hand-over) in the audit trail."""
    audit_record(actor=by, action=AuditEvent.Action.CAMPAIGN, obj=campaign, campaign_action=action, **detail)


def campaign_trail_events(campaign: Campaign) -> QuerySet[AuditEvent]:
    """The campaign's trail, oldest first."""
    return AuditEvent.objects.filter(
        action=AuditEvent.Action.CAMPAIGN, object_type=Campaign._meta.label_lower, object_id=str(campaign.pk)
    ).order_by("at", "pk")


def campaign_create(
    *,
    breach: Any,
    laboratory: Any,
    name: str,
    by: AbstractBaseUser,
    channel_policy: str = ChannelPolicy.POST_AND_EMAIL,
    language: str = "fr",
    letter_template: str = "",
    email_template: str = "breach_notice",
    is_follow_up: bool = False,
    follow_up_target: str = Campaign.FollowUpTarget.ALL,
) -> Campaign:
    """Create a draft campaign; it needs another staff member's approval before launch.

    A follow-up also writes to patients another campaign of the breach already told (`notifier.targets`).

    The letter template version is pinned now (blank: the current one), so what the approver reads is
    what gets printed, whatever wording ships later.
    """
    if channel_policy not in ChannelPolicy.values:
        raise CampaignError(f"Politique de canaux inconnue / unknown channel policy: {channel_policy!r}")
    if language not in dict(settings.LANGUAGES):
        raise CampaignError(f"Langue inconnue / unknown language: {language!r}")
    if follow_up_target not in Campaign.FollowUpTarget.values:
        raise CampaignError(f"Destinataires de suivi inconnus / unknown follow-up target: {follow_up_target!r}")
    letter_template = letter_template_check(letter_template)
    email_template_check(email_template)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            breach=breach, laboratory=laboratory, name=name, created_by=by, channel_policy=channel_policy,
            language=language, letter_template=letter_template, email_template=email_template,
            is_follow_up=is_follow_up, follow_up_target=follow_up_target,
        )  # fmt: skip
        campaign_trail(campaign, "create", by, channel_policy=channel_policy, letter_template=letter_template,
                email_template=email_template, is_follow_up=is_follow_up,
                follow_up_target=follow_up_target)  # fmt: skip
    return campaign


def letter_template_check(code: str) -> str:
    """The letter template version to pin for `code` (blank: the current one); CampaignError if unknown."""
    try:
        return template_version(code.strip() or None).code
    except ValueError as error:
        raise CampaignError(str(error)) from None


def email_template_check(name: str) -> None:
    """CampaignError unless the notice email `name` has its subject, text and HTML templates."""
    try:
        if not name or "/" in name or "." in name:
            raise TemplateDoesNotExist(name)
        for suffix in ("subject.txt", "txt", "html"):
            get_template(f"emails/{name}.{suffix}")
    except TemplateDoesNotExist:
        raise CampaignError(f"Modèle de courriel inconnu / unknown email template: {name!r}") from None


def campaign_transition(
    campaign: Campaign, to: str, by: AbstractBaseUser | None, *, extra: dict | None = None
) -> Campaign:
    """Move the campaign along TRANSITIONS with a conditional UPDATE (two concurrent clicks: one wins, one is told)."""
    current = Campaign.objects.get(pk=campaign.pk)
    if to not in TRANSITIONS[current.status]:
        raise CampaignError(
            f"Transition refusée / transition refused: {current.get_status_display()} → {CampaignStatus(to).label}"
        )
    fields = {"status": to, "updated_at": timezone.now(), **(extra or {})}
    if Campaign.objects.filter(pk=campaign.pk, status=current.status).update(**fields) != 1:
        raise CampaignError("La campagne a changé entre-temps / the campaign changed meanwhile; réessayez.")
    campaign.refresh_from_db()
    return campaign


def campaign_approve(*, campaign: Campaign, by: AbstractBaseUser) -> Campaign:
    """Second pair of eyes: a staff member other than the creator approves a draft whose gate is open."""
    if not getattr(by, "is_staff", False):
        raise CampaignError("Seul un membre du personnel peut approuver / only staff may approve.")
    if by.pk == campaign.created_by_id:
        raise CampaignError(
            "Quatre yeux : la personne qui a créé la campagne ne peut pas l'approuver / "
            "four eyes: the creator cannot approve the campaign."
        )
    with transaction.atomic():
        campaign = campaign_transition(
            campaign, CampaignStatus.APPROVED, by, extra={"approved_by": by, "approved_at": timezone.now()}
        )
        launch_gate_check(campaign, "Approbation")  # after the move: a wrong state is said first; rolled back
        campaign_trail(campaign, "approve", by)
    return campaign


def campaign_pause(*, campaign: Campaign, by: AbstractBaseUser | None) -> Campaign:
    """Stop claiming new rows; a message already being sent finishes."""
    with transaction.atomic():
        campaign = campaign_transition(campaign, CampaignStatus.PAUSED, by)
        campaign_trail(campaign, "pause", by)
    return campaign


def campaign_resume(*, campaign: Campaign, by: AbstractBaseUser | None) -> Campaign:
    """Run again: a dispatch task re-enqueues the queued rows after commit."""
    with transaction.atomic():
        campaign = campaign_transition(campaign, CampaignStatus.RUNNING, by)
        campaign_trail(campaign, "resume", by)
        campaign_id = campaign.pk
        transaction.on_commit(lambda: queue.campaign_dispatch_enqueue(campaign_id=campaign_id))
    return campaign


def campaign_cancel(*, campaign: Campaign, by: AbstractBaseUser | None) -> Campaign:
    """Cancel: rows not yet sent become cancelled; what was sent stays sent."""
    with transaction.atomic():
        campaign = campaign_transition(campaign, CampaignStatus.CANCELLED, by, extra={"completed_at": timezone.now()})
        cancelled = Notification.objects.filter(campaign=campaign, status__in=[Status.PENDING, Status.QUEUED]).update(
            status=Status.CANCELLED, final_at=timezone.now(), updated_at=timezone.now()
        )
        campaign_trail(campaign, "cancel", by, notifications_cancelled=cancelled)
    return campaign


def campaign_close_if_finished(*, campaign_id: int) -> bool:
    """Complete a running campaign whose every row is terminal (counted in the database, no chords)."""
    open_rows = Notification.objects.filter(
        campaign_id=campaign_id, status__in=[Status.PENDING, Status.QUEUED, Status.SENDING]
    )
    if open_rows.exists():
        return False
    now = timezone.now()
    with transaction.atomic():
        done = Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.RUNNING).update(
            status=CampaignStatus.COMPLETED, completed_at=now, updated_at=now
        )
        if done:
            campaign_trail(Campaign.objects.get(pk=campaign_id), "complete", None)
    return bool(done)


def campaign_reopen(*, campaign: Campaign, **detail: Any) -> Campaign:
    """Run a completed campaign again (a fallback arrived after its last send); the only way out of completed."""
    reopened = Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.COMPLETED).update(
        status=CampaignStatus.RUNNING, completed_at=None, updated_at=timezone.now()
    )
    campaign.refresh_from_db()
    if reopened:
        campaign_trail(campaign, "reopen", None, **detail)
    return campaign
