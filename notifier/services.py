"""Writes of the campaign engine: the campaign state machine, launch, email sending, events, fallbacks.

The database is the source of truth. A row is sent only by the caller whose conditional UPDATE moved
it queued→sending; launching twice creates nothing twice (unique constraint); a task re-run, a lost
broker message or a killed worker is repaired by `campaigns_tick`, which re-queues rows stuck in
queued/sending and closes finished campaigns from database counts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import itertools
import logging
import select
import smtplib
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import psycopg
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models import CharField, F, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from psycopg import pq

from labs.audit import audit_record
from letters.emails import render_notice_email
from patients.models import Patient

from . import mail
from .codes import status_code_digests_for, status_code_for_ids, verification_phrase_for_ids
from .models import Campaign, CampaignAction, DeliveryEvent, Notification

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


logger = logging.getLogger(__name__)

Status = Notification.Status
Channel = Notification.Channel
CStatus = Campaign.Status
Policy = Campaign.ChannelPolicy


class CampaignError(Exception):
    """A refused campaign operation, with a message fit for the operator (French / English)."""


class TransientSendError(Exception):
    """The email provider is unreachable for now: the chunk is retried later, the row stays queued."""


# Campaign state machine: from → allowed targets.
TRANSITIONS: dict[str, set[str]] = {
    CStatus.DRAFT: {CStatus.APPROVED, CStatus.CANCELLED},
    CStatus.APPROVED: {CStatus.RUNNING, CStatus.CANCELLED},
    CStatus.RUNNING: {CStatus.PAUSED, CStatus.COMPLETED, CStatus.CANCELLED},
    CStatus.PAUSED: {CStatus.RUNNING, CStatus.CANCELLED},
    CStatus.COMPLETED: set(),  # reopened only by a fallback (notification_fallback), never by hand
    CStatus.CANCELLED: set(),
}

# Monotonic delivery state: a notification only moves to a higher rank (a late "delivered" never
# overrides "bounced"; a replayed "sent" never rewinds "delivered").
RANK = {
    Status.PENDING: 0, Status.QUEUED: 1, Status.SENDING: 2, Status.SENT: 3, Status.DELIVERED: 4,
    Status.BOUNCED: 5, Status.RETURNED: 5, Status.FAILED: 5, Status.UNREACHABLE: 5, Status.CANCELLED: 6,
}  # fmt: skip

# Provider (anymail) event types → the notification status they lead to; others are recorded only.
EVENT_STATUS = {
    "delivered": Status.DELIVERED,
    "bounced": Status.BOUNCED,
    "rejected": Status.BOUNCED,
    "failed": Status.FAILED,
    "returned": Status.RETURNED,
    "sent": Status.SENT,
    # The ESP has the message: a row its worker left in `sending` (killed between the API call and
    # the mark) moves on here, before the tick would re-queue it and send it twice.
    "queued": Status.SENT,
    "handed_over": Status.SENT,
}


# --- the trail ----------------------------------------------------------------------------------------


def _record(campaign: Campaign, action: str, by: AbstractBaseUser | None, **detail: Any) -> None:
    CampaignAction.objects.create(campaign=campaign, action=action, by=by, detail=detail)
    audit_record(actor=by, action="campaign", obj=campaign, campaign_action=action, **detail)


def campaign_trail(*, campaign: Campaign, action: str, by: AbstractBaseUser | None, **detail: Any) -> None:
    """Record an operator action that changes no state (an export, a preview) in the campaign's trail."""
    _record(campaign, action, by, **detail)


# --- the campaign state machine --------------------------------------------------------------------------


def campaign_create(
    *,
    breach: Any,
    laboratory: Any,
    name: str,
    by: AbstractBaseUser,
    channel_policy: str = Policy.POST_AND_EMAIL,
    language: str = "fr",
    letter_template: str = "",
    email_template: str = "breach_notice",
) -> Campaign:
    """Create a draft campaign; it needs another staff member's approval before launch.

    The letter template version is pinned now (blank: the current one), so what the approver reads is
    what gets printed, whatever wording ships later.
    """
    if channel_policy not in Policy.values:
        raise CampaignError(f"Politique de canaux inconnue / unknown channel policy: {channel_policy!r}")
    if language not in dict(settings.LANGUAGES):
        raise CampaignError(f"Langue inconnue / unknown language: {language!r}")
    letter_template = letter_template_check(letter_template)
    email_template_check(email_template)
    with transaction.atomic():
        campaign = Campaign.objects.create(
            breach=breach, laboratory=laboratory, name=name, created_by=by, channel_policy=channel_policy,
            language=language, letter_template=letter_template, email_template=email_template,
        )  # fmt: skip
        _record(campaign, "create", by, channel_policy=channel_policy, letter_template=letter_template,
                email_template=email_template)  # fmt: skip
    return campaign


def letter_template_check(code: str) -> str:
    """The letter template version to pin for `code` (blank: the current one); CampaignError if unknown."""
    from letters.versions import template_version

    try:
        return template_version(code.strip() or None).code
    except ValueError as error:
        raise CampaignError(str(error)) from None


def email_template_check(name: str) -> None:
    """CampaignError unless the notice email `name` has its subject, text and HTML templates."""
    from django.template import TemplateDoesNotExist
    from django.template.loader import get_template

    try:
        if not name or "/" in name or "." in name:
            raise TemplateDoesNotExist(name)
        for suffix in ("subject.txt", "txt", "html"):
            get_template(f"emails/{name}.{suffix}")
    except TemplateDoesNotExist:
        raise CampaignError(f"Modèle de courriel inconnu / unknown email template: {name!r}") from None


def _move(campaign: Campaign, to: str, by: AbstractBaseUser | None, *, extra: dict | None = None) -> Campaign:
    """Move the campaign with a conditional UPDATE (two concurrent clicks: one wins, one is told)."""
    current = Campaign.objects.get(pk=campaign.pk)
    if to not in TRANSITIONS[current.status]:
        raise CampaignError(
            f"Transition refusée / transition refused: {current.get_status_display()} → {CStatus(to).label}"
        )
    fields = {"status": to, "updated_at": timezone.now(), **(extra or {})}
    if Campaign.objects.filter(pk=campaign.pk, status=current.status).update(**fields) != 1:
        raise CampaignError("La campagne a changé entre-temps / the campaign changed meanwhile; réessayez.")
    campaign.refresh_from_db()
    return campaign


def campaign_approve(*, campaign: Campaign, by: AbstractBaseUser) -> Campaign:
    """Second pair of eyes: a staff member other than the creator approves a draft."""
    if not getattr(by, "is_staff", False):
        raise CampaignError("Seul un membre du personnel peut approuver / only staff may approve.")
    if by.pk == campaign.created_by_id:
        raise CampaignError(
            "Quatre yeux : la personne qui a créé la campagne ne peut pas l'approuver / "
            "four eyes: the creator cannot approve the campaign."
        )
    with transaction.atomic():
        campaign = _move(campaign, CStatus.APPROVED, by, extra={"approved_by": by, "approved_at": timezone.now()})
        _record(campaign, "approve", by)
    return campaign


def campaign_pause(*, campaign: Campaign, by: AbstractBaseUser | None) -> Campaign:
    """Stop claiming new rows; a message already being sent finishes."""
    with transaction.atomic():
        campaign = _move(campaign, CStatus.PAUSED, by)
        _record(campaign, "pause", by)
    return campaign


def campaign_resume(*, campaign: Campaign, by: AbstractBaseUser | None) -> Campaign:
    """Run again: queued rows are enqueued afresh after commit."""
    with transaction.atomic():
        campaign = _move(campaign, CStatus.RUNNING, by)
        _record(campaign, "resume", by)
        campaign_id = campaign.pk
        transaction.on_commit(lambda: campaign_dispatch(campaign_id=campaign_id))
    return campaign


def campaign_cancel(*, campaign: Campaign, by: AbstractBaseUser | None) -> Campaign:
    """Cancel: rows not yet sent become cancelled; what was sent stays sent."""
    with transaction.atomic():
        campaign = _move(campaign, CStatus.CANCELLED, by, extra={"completed_at": timezone.now()})
        cancelled = Notification.objects.filter(campaign=campaign, status__in=[Status.PENDING, Status.QUEUED]).update(
            status=Status.CANCELLED, final_at=timezone.now(), updated_at=timezone.now()
        )
        _record(campaign, "cancel", by, notifications_cancelled=cancelled)
    return campaign


# --- launch --------------------------------------------------------------------------------------------------


def _channels_for(policy: str, *, has_address: bool, has_email: bool) -> list[str]:
    """The channels a patient gets at launch (fallbacks come later); [] means unreachable."""
    if policy == Policy.POST:
        return [Channel.POST] if has_address else []
    if policy == Policy.EMAIL:
        return [Channel.EMAIL] if has_email else []
    if policy == Policy.POST_AND_EMAIL:
        return [c for c, ok in ((Channel.POST, has_address), (Channel.EMAIL, has_email)) if ok]
    if policy == Policy.POST_THEN_EMAIL:
        return [Channel.POST] if has_address else [Channel.EMAIL] if has_email else []
    return [Channel.EMAIL] if has_email else [Channel.POST] if has_address else []  # email_then_post


def notification_reference(*, campaign_id: int, patient_id: int, channel: str) -> str:
    """The printed, non-secret reference of a notification (returned-mail CSVs quote it)."""
    return f"N{campaign_id}-{patient_id}-{'C' if channel == Channel.POST else 'E'}"


def _new_notification(campaign: Campaign, patient_id: int, channel: str, status: str, digest: str,
                      now: dt.datetime, *, is_fallback: bool = False, error: str = "") -> Notification:  # fmt: skip
    return Notification(
        campaign_id=campaign.pk, patient_id=patient_id, channel=channel, status=status, code_digest=digest,
        reference=notification_reference(campaign_id=campaign.pk, patient_id=patient_id, channel=channel),
        language=campaign.language, is_fallback=is_fallback, last_error=error,
        queued_at=now if status == Status.QUEUED else None,
        final_at=now if status == Status.UNREACHABLE else None,
    )  # fmt: skip


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
    and the unique constraint (campaign, patient, channel) backs that up.
    """
    counts = {"patients": 0, "post": 0, "email": 0, "unreachable": 0}
    with transaction.atomic():
        campaign = _move(campaign, CStatus.RUNNING, by, extra={"launched_at": timezone.now()})
        now = timezone.now()
        policy, language, campaign_id = campaign.channel_policy, campaign.language, campaign.pk
        primary_if_none = str(Channel.EMAIL if policy in (Policy.EMAIL, Policy.EMAIL_THEN_POST) else Channel.POST)
        queued_status, pending_status, unreachable_status = (
            str(Status.QUEUED),
            str(Status.PENDING),
            str(Status.UNREACHABLE),
        )
        patients = (
            Patient.objects.filter(breach_id=campaign.breach_id, laboratory_id=campaign.laboratory_id)
            .order_by("pk")
            .values_list("pk", "email", "address_line", "postcode", "city")
            .iterator(chunk_size=batch_size)
        )
        while chunk := list(itertools.islice(patients, batch_size)):
            digests = status_code_digests_for(campaign_id=campaign_id, patient_ids=[p[0] for p in chunk])
            rows: list[tuple] = []
            for (patient_id, email, address_line, postcode, city), digest in zip(chunk, digests, strict=True):
                channels = _channels_for(policy, has_address=bool(address_line and postcode and city),
                                         has_email=bool(email))  # fmt: skip
                for channel in channels:
                    queued = channel == Channel.EMAIL
                    rows.append((now, now, campaign_id, patient_id, str(channel), queued_status if queued else pending_status,
                                 f"N{campaign_id}-{patient_id}-{'E' if queued else 'C'}", digest, language, False, 0,
                                 "", "", now if queued else None, None))  # fmt: skip
                    counts[channel] += 1
                if not channels:
                    # One row says "tried, no usable channel": the patient goes on the call-centre list.
                    rows.append((now, now, campaign_id, patient_id, primary_if_none, unreachable_status,
                                 notification_reference(campaign_id=campaign_id, patient_id=patient_id,
                                                        channel=primary_if_none),
                                 digest, language, False, 0, "ni adresse postale ni courriel utilisables", "", None,
                                 now))  # fmt: skip
                    counts["unreachable"] += 1
            counts["patients"] += len(chunk)
            _insert_notifications(rows)
        _record(campaign, "launch", by, **counts)
        transaction.on_commit(lambda: campaign_dispatch(campaign_id=campaign_id))
    return counts


def _chunks(ids: Sequence[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def notifications_enqueue(*, notification_ids: Sequence[int]) -> int:
    """Send the ids to the workers in chunks (ids only: no personal data in the broker). Call after commit."""
    from .tasks import notifications_send_task

    chunks = 0
    for chunk in _chunks(notification_ids, settings.CAMPAIGN_EMAIL_CHUNK):
        notifications_send_task.delay(chunk)
        chunks += 1
    return chunks


def campaign_dispatch(*, campaign_id: int) -> dict[str, int]:
    """Enqueue every queued email row and start print batches for pending letters; re-runnable."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status != CStatus.RUNNING:
        return {"email_chunks": 0, "print_batches": 0}
    ids = list(
        Notification.objects.filter(campaign_id=campaign_id, channel=Channel.EMAIL, status=Status.QUEUED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    result = {"email_chunks": notifications_enqueue(notification_ids=ids), "print_batches": 0}
    from . import postal

    result["print_batches"] = postal.print_batches_enqueue(campaign=campaign)
    campaign_close_if_finished(campaign_id=campaign_id)
    return result


# --- sending one email -------------------------------------------------------------------------------------


def _message_domain() -> str:
    return settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(">") or "notifier.localhost"


def _message_id(notification: Notification) -> str:
    # Deterministic (reference and id): any copy of one notice carries the same Message-ID.
    return f"<{notification.reference}.{notification.pk}@{_message_domain()}>"


_NOTICE_FIELDS = ("status_code", "verification_phrase", "reference")


def _notice_values(notification: Notification) -> dict[str, str]:
    """The per-patient values of the notice email (what differs between two notices of one campaign)."""
    ids = {"campaign_id": notification.campaign_id, "patient_id": notification.patient_id}
    return {
        "status_code": status_code_for_ids(**ids),
        "verification_phrase": verification_phrase_for_ids(**ids),
        "reference": notification.reference,
    }


def _notice_email(*, sender: tuple[str, str, str, str], template: str, language: str, values: dict[str, str],
                  to: str, message_id: str, connection: Any = None) -> EmailMultiAlternatives:  # fmt: skip
    lab_name, dpo_name, dpo_email, dpo_phone = sender
    rendered = render_notice_email(
        language=language, lab_name=lab_name, dpo_name=dpo_name, dpo_email=dpo_email, dpo_phone=dpo_phone,
        template=template, **values,
    )  # fmt: skip
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        to=[to],
        connection=connection,
        headers={"Message-ID": message_id, "Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


def _sender(campaign: Campaign) -> tuple[str, str, str, str]:
    lab = campaign.laboratory
    return lab.name, lab.dpo_name, lab.dpo_email, lab.dpo_phone


def notification_email_message(*, notification: Notification, connection: Any = None) -> EmailMultiAlternatives:
    """The neutral notice email for one notification row (no health data, no attachment, code in body)."""
    campaign = notification.campaign
    message = _notice_email(
        sender=_sender(campaign), template=campaign.email_template, language=notification.language,
        values=_notice_values(notification), to=notification.patient.email, message_id=_message_id(notification),
        connection=connection,
    )  # fmt: skip
    # anymail sends these to the ESP, which echoes them in tracking webhooks (ignored by plain SMTP).
    message.metadata = {"notification_id": str(notification.pk), "campaign_id": str(campaign.pk)}
    message.tags = ["breach-notice"]
    return message


@functools.lru_cache(maxsize=64)
def _notice_stencil(sender: tuple[str, str, str, str], template: str, language: str, *_settings: str) -> mail.Stencil:
    # `_settings` (status page address, sender address) only key the cache: the build reads them itself.
    build = functools.partial(_notice_email, sender=sender, template=template, language=language)
    return mail.Stencil(build, _NOTICE_FIELDS)


def notification_envelope(*, notification: Notification) -> mail.Envelope:
    """`notification_email_message` as SMTP bytes, filled into the campaign's stencil (an order of magnitude
    cheaper than Django's MIME build); built by Django when the stencil cannot hold this patient's values."""
    campaign = notification.campaign
    stencil = _notice_stencil(
        _sender(campaign), campaign.email_template, notification.language, settings.PUBLIC_BASE_URL,
        settings.DEFAULT_FROM_EMAIL,
    )  # fmt: skip
    envelope = stencil.fill(_notice_values(notification), to=notification.patient.email,
                            message_id=_message_id(notification))  # fmt: skip
    return envelope or mail.Envelope.of(notification_email_message(notification=notification))


def _classify(error: Exception) -> tuple[str, str]:
    """('transient' | 'bounced' | 'failed', reason) for an exception raised by the email backend."""
    reason = f"{type(error).__name__}: {error}"[:300]
    if isinstance(error, smtplib.SMTPRecipientsRefused | AnymailRecipientsRefused):
        return "bounced", reason
    if isinstance(error, smtplib.SMTPResponseException):
        return ("transient" if 400 <= error.smtp_code < 500 else "failed"), reason
    if isinstance(error, AnymailAPIError):
        status = getattr(error, "status_code", None)
        return ("transient" if status is None or status >= 500 or status == 429 else "failed"), reason
    if isinstance(error, OSError | smtplib.SMTPException):  # disconnects, refused connections, timeouts
        return "transient", reason
    return "failed", reason


def _relaxed_commit() -> None:
    """This transaction may commit without waiting for the WAL flush (PostgreSQL only).

    Used for claims and confirmations, never for the "sent" mark that guards the final dot: a
    database crash may forget a claim (the row is simply claimed again), but the later synchronous
    "sent" commit flushes everything before it.
    """
    if db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def notifications_claim(*, notification_ids: Sequence[int]) -> list[int]:
    """Move the queued email rows among `notification_ids` to sending; returns those this caller now owns.

    Rows are locked (SKIP LOCKED) and re-checked as queued in a running campaign, so two workers
    given the same ids split them: each row is owned, and sent, by one caller only.
    """
    now = timezone.now()
    running = Campaign.objects.filter(status=CStatus.RUNNING).values("pk")
    with transaction.atomic():
        _relaxed_commit()
        claimed = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk__in=list(notification_ids), status=Status.QUEUED, channel=Channel.EMAIL, campaign_id__in=running)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if claimed:
            Notification.objects.filter(pk__in=claimed).update(
                status=Status.SENDING, sending_at=now, attempts=F("attempts") + 1, updated_at=now
            )
    return claimed


def _confirm_rows(notification_ids: Sequence[int]) -> None:
    """Store the Message-ID of rows whose server said 250 (one statement for many rows)."""
    if notification_ids:
        # By primary key only: the value is deterministic, so writing it again is harmless.
        Notification.objects.filter(pk__in=list(notification_ids)).update(
            provider_message_id=Concat(
                Value("<"), F("reference"), Value("."), Cast("id", CharField()), Value(f"@{_message_domain()}>")
            )
        )


def _confirm(notification_ids: Sequence[int]) -> None:
    """`_confirm_rows` in a transaction of its own that need not wait for the WAL flush."""
    if notification_ids:
        with transaction.atomic():
            _relaxed_commit()
            _confirm_rows(notification_ids)


def notification_send(*, notification_id: int, connection: Any = None) -> bool:
    """Send one email notification; only the caller that moves it queued→sending sends. Returns True if sent."""
    return notifications_send(notification_ids=[notification_id], connection=connection, close_campaigns=False) == 1


def _mark_sent(notification_id: int, provider_id: str, *, from_statuses: Sequence[str]) -> bool:
    """Move a row this caller owns to sent; an empty provider id means "not yet confirmed by the server"."""
    sent_at = timezone.now()
    rows = Notification.objects.filter(pk=notification_id, status__in=list(from_statuses))
    fields = {"status": Status.SENT, "sent_at": sent_at, "last_error": "", "updated_at": sent_at}
    return bool(rows.update(provider_message_id=provider_id[:200], **fields))


class _SentMark:
    """The "sent" mark that guards the final dot, committed in the shadow of the dot on PostgreSQL.

    `commit()` updates the row inside a transaction and, once the row is known to be ours, sends the
    COMMIT without waiting for it; `send_two_phase` then writes the dot and `settle()` reads the
    COMMIT's answer. A worker killed before the COMMIT left: the database rolls back, the server drops
    the message, the row is sent again later, once. Killed after both writes: the database and the
    server each finish their part. What is left is the few microseconds between the two writes,
    instead of the whole WAL flush of a synchronous commit; and the flush overlaps the dot's round
    trip. The commit stays durable. Other databases commit the mark before the dot, waiting for it.
    """

    MARK_AND_CONFIRM = """
        UPDATE {table} SET
            status = CASE WHEN id = %(id)s THEN %(sent)s ELSE status END,
            sent_at = CASE WHEN id = %(id)s THEN %(now)s ELSE sent_at END,
            updated_at = CASE WHEN id = %(id)s THEN %(now)s ELSE updated_at END,
            last_error = CASE WHEN id = %(id)s THEN '' ELSE last_error END,
            provider_message_id = CASE WHEN id = %(id)s THEN '' ELSE '<' || reference || '.' || id || %(domain)s END
        WHERE (id = %(id)s AND status = %(sending)s) OR id = ANY(%(confirm)s)
        RETURNING id
    """

    def __init__(self, notification_id: int, *, confirm: Sequence[int] = ()) -> None:
        self.notification_id = notification_id
        self.confirm = list(confirm)
        # Inside an outer transaction our COMMIT would end it: then commit the plain way.
        self.pipelined = db_connection.vendor == "postgresql" and not db_connection.in_atomic_block

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if not self.pipelined:
            yield
            return
        with transaction.atomic():
            yield

    def commit(self) -> bool:
        # The server's 250 for the previous message(s) rides on this commit: after a crash, a sent row
        # without its Message-ID is then only the one message in flight, the one that may be lost.
        if not self.pipelined:
            if not _mark_sent(self.notification_id, "", from_statuses=[Status.SENDING]):
                return False
            _confirm_rows(self.confirm)
            return True
        # One statement for both (this is the per-message hot path: a second ORM update cost 20 %).
        with db_connection.cursor() as cursor:
            cursor.execute(
                self.MARK_AND_CONFIRM.format(table=Notification._meta.db_table),
                {"id": self.notification_id, "confirm": self.confirm, "now": timezone.now(), "sent": Status.SENT,
                 "sending": Status.SENDING, "domain": f"@{_message_domain()}>"},
            )  # fmt: skip
            if self.notification_id not in {row[0] for row in cursor.fetchall()}:
                return False
        pgconn = db_connection.connection.pgconn
        pgconn.send_query(b"COMMIT")
        while pgconn.flush():
            select.select([], [pgconn.socket], [], 5)
        return True

    def settle(self) -> None:
        if not self.pipelined:
            return
        pgconn = db_connection.connection.pgconn
        deadline = time.monotonic() + 30
        try:
            pgconn.consume_input()
            while pgconn.is_busy():
                if time.monotonic() > deadline:
                    raise SentMarkLost("no answer to COMMIT within 30 s")
                select.select([pgconn.socket], [], [], 1)
                pgconn.consume_input()
            results = []
            while (result := pgconn.get_result()) is not None:
                results.append(result)
        except psycopg.Error as error:
            raise SentMarkLost(str(error)) from error
        if [(result.status, result.command_status) for result in results] != [(pq.ExecStatus.COMMAND_OK, b"COMMIT")]:
            raise SentMarkLost(f"COMMIT answered {[result.error_message for result in results]}")


class SentMarkLost(Exception):
    """The database did not confirm the "sent" mark, though the final dot went out."""


def _send_failed(notification: Notification, error: Exception, *, from_status: str) -> None:
    """Record a refused or interrupted send; a transient one is re-queued (attempts capped) and re-raised."""
    outcome, reason = _classify(error)
    if outcome == "transient":
        exhausted = notification.attempts >= settings.CAMPAIGN_MAX_ATTEMPTS
        now = timezone.now()
        Notification.objects.filter(pk=notification.pk, status=from_status).update(
            status=Status.FAILED if exhausted else Status.QUEUED, last_error=reason, updated_at=now,
            queued_at=now, final_at=now if exhausted else None,
        )  # fmt: skip
        if exhausted:
            return
        raise TransientSendError(reason) from error
    logger.warning("notification %s not sent: %s", notification.pk, reason)
    target = Status.BOUNCED if outcome == "bounced" else Status.FAILED
    _event_apply(notification, target, source=DeliveryEvent.Source.SMTP, event_type=outcome, reason=reason,
                 at=timezone.now())  # fmt: skip


def _send_claimed(notification: Notification, connection: Any, *, confirm: Sequence[int] = ()) -> bool | None:
    """Send a row this caller owns. True: sent and confirmed; None: sent, confirmation pending; False: not sent.

    `confirm`: rows whose server said 250 since the last mark, confirmed with this one (None returned).
    """
    if mail.supports_two_phase(connection):
        mark = _SentMark(notification.pk, confirm=confirm)
        try:
            with mark.transaction():
                mail.send_two_phase(
                    connection=connection, message=notification_envelope(notification=notification),
                    commit=mark.commit, settle=mark.settle,
                )  # fmt: skip
        except SentMarkLost as error:
            # The dot went out but the database's answer did not come: the server probably has the
            # message. Mark it again on a fresh connection so that it is not sent twice.
            logger.error("notification %s: sent, but its sent mark was not confirmed: %s", notification.pk, error)
            db_connection.close()
            _mark_sent(notification.pk, "", from_statuses=[Status.SENDING])
            raise TransientSendError(str(error)) from error
        except mail.CommitRefused:
            return False  # the tick took the row back meanwhile: someone else will send it, once
        except mail.ReplyLost as error:
            # The dot went out: the server most likely kept the message. It stays sent; new connection.
            Notification.objects.filter(pk=notification.pk).update(last_error=f"réponse perdue: {error}"[:300])
            raise TransientSendError(str(error)) from error
        except Exception as error:
            sent = Notification.objects.filter(pk=notification.pk, status=Status.SENT).exists()
            _send_failed(notification, error, from_status=Status.SENT if sent else Status.SENDING)
            return False
        # The server said 250; its confirmation is stored in bulk (`_confirm`). A sent row left without
        # a provider id was cut between the commit and the reply (see notifier/mail.py).
        return None
    message = notification_email_message(notification=notification, connection=connection)
    message_id = message.extra_headers["Message-ID"]
    try:
        message.send()
    except Exception as error:
        _send_failed(notification, error, from_status=Status.SENDING)
        return False
    status = getattr(message, "anymail_status", None)
    provider_id = str((getattr(status, "message_id", None) if status else None) or message_id)
    # A fast ESP webhook may already have moved it on (delivered/bounced): then only the id is stored.
    if not _mark_sent(notification.pk, provider_id, from_statuses=[Status.SENDING, Status.QUEUED]):
        Notification.objects.filter(pk=notification.pk).update(provider_message_id=provider_id[:200])
    return True


def notifications_send(*, notification_ids: Sequence[int], connection: Any = None, close_campaigns: bool = True) -> int:
    """Send a chunk over one reused connection; safe to run twice (rows are claimed, sent ones skipped).

    Returns how many messages this call submitted.
    """
    claimed = notifications_claim(notification_ids=notification_ids)
    if not claimed:
        return 0
    rows = {
        row.pk: row
        for row in Notification.objects.filter(pk__in=claimed).select_related("campaign__laboratory", "patient")
    }
    sent, to_confirm, done = 0, [], set()
    own_connection = connection is None
    connection = connection or get_connection()
    try:
        for notification_id in claimed:
            outcome = _send_claimed(rows[notification_id], connection, confirm=to_confirm)
            done.add(notification_id)
            if outcome is not False:
                sent += 1
            if outcome is None:  # its mark carried the earlier confirmations; its own rides on the next
                to_confirm = [notification_id]
    finally:
        _confirm(to_confirm)
        # Rows claimed but not reached (a transient error stopped the chunk) go back to the queue now.
        untouched = [pk for pk in claimed if pk not in done]
        if untouched:
            Notification.objects.filter(pk__in=untouched, status=Status.SENDING).update(
                status=Status.QUEUED, queued_at=timezone.now(), attempts=F("attempts") - 1, updated_at=timezone.now()
            )
        if own_connection:
            connection.close()
    if close_campaigns:
        for campaign_id in {row.campaign_id for row in rows.values()}:
            campaign_close_if_finished(campaign_id=campaign_id)
    return sent


# --- completion and repair ---------------------------------------------------------------------------------


def campaign_close_if_finished(*, campaign_id: int) -> bool:
    """Complete a running campaign whose every row is terminal (counted in the database, no chords)."""
    open_rows = Notification.objects.filter(
        campaign_id=campaign_id, status__in=[Status.PENDING, Status.QUEUED, Status.SENDING]
    )
    if open_rows.exists():
        return False
    now = timezone.now()
    with transaction.atomic():
        done = Campaign.objects.filter(pk=campaign_id, status=CStatus.RUNNING).update(
            status=CStatus.COMPLETED, completed_at=now, updated_at=now
        )
        if done:
            _record(Campaign.objects.get(pk=campaign_id), "complete", None)
    return bool(done)


def campaigns_tick(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Periodic repair: re-queue rows stuck in queued/sending past the timeout; close finished campaigns."""
    now = now or timezone.now()
    stale = now - dt.timedelta(seconds=settings.CAMPAIGN_STUCK_SECONDS)
    result = {"requeued": 0, "failed": 0, "completed": 0}
    running = list(Campaign.objects.filter(status=CStatus.RUNNING).values_list("pk", flat=True))
    for campaign_id in running:
        rows = Notification.objects.filter(campaign_id=campaign_id, channel=Channel.EMAIL)
        # A row left in `sending` by a dead worker: retry it, unless it has used up its attempts.
        result["failed"] += rows.filter(status=Status.SENDING, sending_at__lt=stale, attempts__gte=settings.CAMPAIGN_MAX_ATTEMPTS).update(
            status=Status.FAILED, final_at=now, last_error="interrompu trop de fois / interrupted too often", updated_at=now
        )  # fmt: skip
        rows.filter(status=Status.SENDING, sending_at__lt=stale).update(
            status=Status.QUEUED, queued_at=None, updated_at=now
        )
        stuck_filter = Q(queued_at__isnull=True) | Q(queued_at__lt=stale)
        stuck = list(rows.filter(stuck_filter, status=Status.QUEUED).order_by("pk").values_list("pk", flat=True))
        if stuck:
            Notification.objects.filter(pk__in=stuck, status=Status.QUEUED).update(queued_at=now)
            notifications_enqueue(notification_ids=stuck)
            result["requeued"] += len(stuck)
        from . import postal

        campaign = Campaign.objects.get(pk=campaign_id)
        postal.print_batches_enqueue(campaign=campaign)
        postal.print_batches_rebuild_stuck(campaign=campaign, older_than=stale)
        result["completed"] += int(campaign_close_if_finished(campaign_id=campaign_id))
    return result


# --- events, monotonic state, fallbacks ----------------------------------------------------------------------


def _event_apply(notification: Notification, target: str, *, source: str, event_type: str, reason: str,
                 at: dt.datetime, event_id: str | None = None) -> bool:  # fmt: skip
    """Record an event and move the row forward if the target ranks higher; fallbacks on bounce/return."""
    with transaction.atomic():
        event = DeliveryEvent.objects.create(
            notification=notification, event_type=event_type, at=at, source=source, reason=reason[:300],
            event_id=event_id,
        )  # fmt: skip
        return delivery_event_apply(event=event, target=target)


def delivery_event_apply(*, event: DeliveryEvent, target: str | None = None) -> bool:
    """Apply a recorded event once, monotonically; returns True if the notification changed state."""
    target = target or EVENT_STATUS.get(event.event_type)
    with transaction.atomic():
        locked = DeliveryEvent.objects.select_for_update().get(pk=event.pk)
        if locked.applied:
            return False
        DeliveryEvent.objects.filter(pk=event.pk).update(applied=True)
        if target is None:
            return False
        notification = Notification.objects.select_for_update().get(pk=event.notification_id)
        if RANK[target] <= RANK[notification.status] or notification.status == Status.CANCELLED:
            return False
        now = timezone.now()
        fields: dict[str, Any] = {"status": target, "updated_at": now}
        if target in Notification.TERMINAL and target != Status.SENT:
            fields["final_at"] = event.at
        if target == Status.SENT:
            fields["sent_at"] = event.at
        if event.reason and target in Notification.UNREACHED:
            fields["last_error"] = event.reason[:300]
        Notification.objects.filter(pk=notification.pk).update(**fields)
        notification.status = target
        if target in (Status.BOUNCED, Status.RETURNED):
            notification_fallback(notification=notification)
    return True


def delivery_event_record(*, notification: Notification, event_type: str, at: dt.datetime, source: str,
                          reason: str = "", event_id: str | None = None) -> DeliveryEvent | None:  # fmt: skip
    """Append an event once per event_id (a replayed webhook returns None); applying it is separate."""
    try:
        with transaction.atomic():
            return DeliveryEvent.objects.create(
                notification=notification, event_type=event_type, at=at, source=source, reason=reason[:300],
                event_id=event_id,
            )  # fmt: skip
    except IntegrityError:
        return None


def notification_fallback(*, notification: Notification) -> Notification | None:
    """After a bounce (email) or a returned letter, try the campaign's other channel once, if usable."""
    campaign = Campaign.objects.select_related(None).get(pk=notification.campaign_id)
    wanted = {
        (Policy.EMAIL_THEN_POST, Channel.EMAIL): Channel.POST,
        (Policy.POST_THEN_EMAIL, Channel.POST): Channel.EMAIL,
    }.get((campaign.channel_policy, notification.channel))
    if wanted is None or campaign.status not in (CStatus.RUNNING, CStatus.PAUSED, CStatus.COMPLETED):
        return None
    patient = Patient.objects.get(pk=notification.patient_id)
    if (wanted == Channel.POST and not patient.has_postal_address) or (wanted == Channel.EMAIL and not patient.email):
        return None  # the patient now has no reached row: the call-centre list picks them up
    if campaign.status == CStatus.COMPLETED:
        # Bounces and returns arrive after the last send: the fallback reopens the campaign until done.
        reopened = Campaign.objects.filter(pk=campaign.pk, status=CStatus.COMPLETED).update(
            status=CStatus.RUNNING, completed_at=None, updated_at=timezone.now()
        )
        campaign.refresh_from_db()
        if reopened:
            _record(campaign, "reopen", None, reason="fallback", notification=notification.pk)
    now = timezone.now()
    status = Status.QUEUED if wanted == Channel.EMAIL else Status.PENDING
    row = _new_notification(campaign, patient.pk, wanted, status, notification.code_digest, now, is_fallback=True)
    created = Notification.objects.bulk_create([row], ignore_conflicts=True)
    fallback = Notification.objects.filter(campaign=campaign, patient=patient, channel=wanted).first()
    if fallback is not None and created and fallback.status == Status.QUEUED:
        fallback_id = fallback.pk
        transaction.on_commit(lambda: notifications_enqueue(notification_ids=[fallback_id]))
    if fallback is not None and fallback.channel == Channel.POST and campaign.status == CStatus.RUNNING:
        # The letter joins the next print batch.
        campaign_id = campaign.pk
        transaction.on_commit(lambda: campaign_dispatch(campaign_id=campaign_id))
    return fallback
