"""Sending one notice email exactly once: claim the row, submit in two phases, mark it sent.

Why two phases: with a plain `send()`, a worker killed after the SMTP server accepted a message but
before the database said so leaves the row in `sending`; re-queuing it sends a second notice, not
re-queuing it may lose one. SMTP gives a better cut: the server keeps a message only once it reads
the final "." line of DATA. So `send_two_phase` sends everything but that line, `SentMark.commit`
commits `sent`, then the dot goes out. Killed before the commit: the server drops the unfinished
message, the row is re-queued by the tick and sent once. Killed after the dot: the row already says
sent. Killed in between: one message the database calls sent is lost ("sent, unconfirmed"). That
gap is made as narrow as two writes: on PostgreSQL the mark only *sends* its COMMIT, the dot follows
at once, and `wait_for_commit` reads the COMMIT's answer afterwards. Waiting for the commit before
the dot would leave the whole WAL flush in the gap (2 of 2,000 messages lost over three SIGKILLs
that way, none since).

Claims carry a lease (`claimed_by`, `lease_until`): a worker renews it while it works, and the
tick takes back the rows of a worker whose lease ran out (killed, or hung), so they are sending
again within about a minute rather than after CAMPAIGN_STUCK_SECONDS. That is safe only because the
"sent" mark also checks the claim: a late first worker's mark is refused (CommitRefused), its final
dot never goes out, and the server drops its message; the row's new owner sends it, once.

Only Django's SMTP backend takes this path (`supports_two_phase`); other backends (anymail ESP
APIs) use the plain `send()`, and their tracking webhooks (metadata `notification_id`) settle the
rest (notifier/webhooks.py).

The interface: `notifications_send(notification_ids=...)` (a chunk, one reused connection) and
`notification_send(notification_id=...)`; both are safe to run twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import secrets
import select
import smtplib
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import CharField, F, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from psycopg import pq

from .campaigns import CampaignStatus, campaign_close_if_finished
from .events import event_record_and_apply
from .models import Campaign, DeliveryEvent, Notification
from .notice_email import Envelope, message_domain, notice_email_message, notice_envelope

logger = logging.getLogger(__name__)

Status = Notification.Status
Channel = Notification.Channel


# --- the SMTP conversation ------------------------------------------------------------------------------


_LEADING_DOT = re.compile(rb"(?m)^\.")


class CommitRefused(Exception):
    """The database did not let us record the send (the row is no longer ours): nothing was delivered."""


class ReplyLost(Exception):
    """The connection broke after the final dot: the server probably kept the message (row stays sent)."""


class DotNotSent(smtplib.SMTPServerDisconnected):
    """Writing the final dot failed: the server cannot have kept the message (the row must be sent again)."""


def supports_two_phase(connection: Any) -> bool:
    return isinstance(connection, SMTPBackend)


def _abort(connection: SMTPBackend) -> None:
    """Drop the connection mid-DATA: the server discards a message whose final dot never came."""
    smtp = connection.connection
    connection.connection = None
    if smtp is not None:
        with contextlib.suppress(OSError):
            smtp.close()


def send_two_phase(
    *,
    connection: SMTPBackend,
    message: EmailMessage | Envelope,
    commit: Callable[[], bool],
    wait_for_commit: Callable[[], None] | None = None,
) -> None:
    """Submit `message`; call `commit()` after the body and before the final dot. Raises on refusal.

    `commit` may only send its COMMIT without waiting for the answer: then `wait_for_commit()`, called once the
    dot is out, waits for it (and raises if the database did not commit). That shrinks the window
    where a killed worker loses a message from the database's flush (milliseconds) to the two writes.
    """
    connection.open()
    smtp: smtplib.SMTP = connection.connection
    if smtp.sock is not None:
        # The 3-byte dot follows the body without waiting for its ACK: without NODELAY, Nagle holds it
        # until the server's delayed ACK (~40 ms per message).
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    envelope = message if isinstance(message, Envelope) else Envelope.of(message)
    from_email, recipients, body = envelope.from_email, envelope.recipients, envelope.data
    smtp.ehlo_or_helo_if_needed()
    code, reply = smtp.mail(from_email)
    if code != 250:
        smtp.rset()
        raise smtplib.SMTPSenderRefused(code, reply, from_email)
    refused = {}
    for recipient in recipients:
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            refused[recipient] = (code, reply)
    if len(refused) == len(recipients):
        smtp.rset()
        raise smtplib.SMTPRecipientsRefused(refused)
    code, reply = smtp.docmd("DATA")
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    quoted = _LEADING_DOT.sub(b"..", body)
    if not quoted.endswith(b"\r\n"):
        quoted += b"\r\n"
    smtp.send(quoted)
    try:
        committed = commit()
    except BaseException:
        _abort(connection)
        raise
    if not committed:
        _abort(connection)
        raise CommitRefused("row no longer in sending")
    try:
        smtp.send(b".\r\n")
    except (OSError, smtplib.SMTPServerDisconnected) as error:
        # A failed write delivered nothing: the server holds an unfinished message it will drop.
        _abort(connection)
        if wait_for_commit is not None:
            wait_for_commit()
        raise DotNotSent(str(error)) from error
    if wait_for_commit is not None:
        try:
            wait_for_commit()
        except BaseException:
            _abort(connection)
            raise
    try:
        code, reply = smtp.getreply()
    except (OSError, smtplib.SMTPServerDisconnected) as error:
        _abort(connection)
        raise ReplyLost(str(error)) from error
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)


# --- the rows: claim, mark, confirm, send ------------------------------------------------------------


class TransientSendError(Exception):
    """The email provider is unreachable for now: the chunk is retried later, the row stays queued."""


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


def claim_token() -> str:
    """A claim's name: host and process (who to look for after a crash), and a random part new at each claim."""
    return f"{socket.gethostname()[:60]}/{os.getpid()}/{secrets.token_hex(6)}"


def lease_seconds_for(connection: Any) -> int:
    """How long a claim holds without renewal.

    Over SMTP a row can be taken back soon: a late mark is refused and its message dropped. An ESP's
    API call cannot be taken back once made, so its claim lasts until the ESP's webhook has had time
    to settle the row (CAMPAIGN_STUCK_SECONDS).
    """
    return settings.CAMPAIGN_LEASE_SECONDS if supports_two_phase(connection) else settings.CAMPAIGN_STUCK_SECONDS


def notifications_claim(*, notification_ids: Sequence[int], claimed_by: str, lease_seconds: int) -> list[int]:
    """Move the queued email rows among `notification_ids` to sending under the claim `claimed_by`; returns them.

    Rows are locked (SKIP LOCKED) and re-checked as queued in a running campaign, so two workers
    given the same ids split them: each row is owned, and sent, by one caller only. The claim holds
    `lease_seconds` unless renewed (`notifications_lease_renew`).
    """
    now = timezone.now()
    running = Campaign.objects.filter(status=CampaignStatus.RUNNING).values("pk")
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
                status=Status.SENDING, sending_at=now, attempts=F("attempts") + 1, updated_at=now,
                claimed_by=claimed_by, lease_until=now + dt.timedelta(seconds=lease_seconds),
            )  # fmt: skip
    return claimed


def notifications_lease_renew(*, notification_ids: Sequence[int], claimed_by: str, lease_seconds: int) -> set[int]:
    """Extend the claim `claimed_by` on those of `notification_ids` it still holds; returns their ids.

    A row missing from the answer was taken back by the tick (this worker was too slow): its new owner
    sends it. Renewing twice is harmless.
    """
    now = timezone.now()
    with transaction.atomic():
        _relaxed_commit()  # a renewal forgotten by a database crash only lets the tick take rows back sooner
        held = Notification.objects.filter(pk__in=list(notification_ids), claimed_by=claimed_by, status=Status.SENDING)
        ids = set(held.values_list("pk", flat=True))
        held.update(lease_until=now + dt.timedelta(seconds=lease_seconds))
    return ids


def _confirm_rows(notification_ids: Sequence[int]) -> None:
    """Store the Message-ID of rows whose server said 250 (one statement for many rows)."""
    if notification_ids:
        # By primary key only: the value is deterministic, so writing it again is harmless.
        Notification.objects.filter(pk__in=list(notification_ids)).update(
            provider_message_id=Concat(
                Value("<"), F("reference"), Value("."), Cast("id", CharField()), Value(f"@{message_domain()}>")
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


def _mark_sent(
    notification_id: int, provider_id: str, *, from_statuses: Sequence[str], claimed_by: str | None = None
) -> bool:
    """Move a row this caller owns to sent; an empty provider id means "not yet confirmed by the server".

    With `claimed_by`, only while that claim still holds the row (the tick may have taken it back).
    """
    sent_at = timezone.now()
    rows = Notification.objects.filter(pk=notification_id, status__in=list(from_statuses))
    if claimed_by is not None:
        rows = rows.filter(claimed_by=claimed_by)
    fields = {"status": Status.SENT, "sent_at": sent_at, "last_error": "", "updated_at": sent_at}
    return bool(rows.update(provider_message_id=provider_id[:200], **fields))


class SentMark:
    """The "sent" mark that guards the final dot, committed in the shadow of the dot on PostgreSQL.

    `commit()` updates the row inside a transaction and, once the row is known to be ours, sends the
    COMMIT without waiting for it; `send_two_phase` then writes the dot and `wait_for_commit()` reads the
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
        WHERE (id = %(id)s AND status = %(sending)s AND claimed_by = %(claim)s) OR id = ANY(%(confirm)s)
        RETURNING id
    """

    def __init__(self, notification_id: int, *, claimed_by: str, confirm: Sequence[int] = ()) -> None:
        self.notification_id = notification_id
        # The mark holds only under this claim: if the tick took the row back (lease run out) and
        # another worker claimed it, this late mark is refused and the dot never goes out.
        self.claimed_by = claimed_by
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
            if not _mark_sent(self.notification_id, "", from_statuses=[Status.SENDING], claimed_by=self.claimed_by):
                return False
            _confirm_rows(self.confirm)
            return True
        # One statement for both (this is the per-message hot path: a second ORM update cost 20 %).
        with db_connection.cursor() as cursor:
            cursor.execute(
                self.MARK_AND_CONFIRM.format(table=Notification._meta.db_table),
                {"id": self.notification_id, "confirm": self.confirm, "now": timezone.now(), "sent": Status.SENT,
                 "sending": Status.SENDING, "claim": self.claimed_by, "domain": f"@{message_domain()}>"},
            )  # fmt: skip
            if self.notification_id not in {row[0] for row in cursor.fetchall()}:
                return False
        pgconn = db_connection.connection.pgconn
        pgconn.send_query(b"COMMIT")
        while pgconn.flush():
            select.select([], [pgconn.socket], [], 5)
        return True

    def wait_for_commit(self) -> None:
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


def _send_failed(notification: Notification, error: Exception, *, from_status: str, claimed_by: str) -> None:
    """Record a refused or interrupted send; a transient one is re-queued (attempts capped) and re-raised."""
    outcome, reason = _classify(error)
    if outcome == "transient":
        exhausted = notification.attempts >= settings.CAMPAIGN_MAX_ATTEMPTS
        now = timezone.now()
        # Only while our claim holds: a row the tick gave to another worker is that worker's to record.
        Notification.objects.filter(pk=notification.pk, status=from_status, claimed_by=claimed_by).update(
            status=Status.FAILED if exhausted else Status.QUEUED, last_error=reason, updated_at=now,
            queued_at=now, final_at=now if exhausted else None, lease_until=None,
        )  # fmt: skip
        if exhausted:
            return
        raise TransientSendError(reason) from error
    logger.warning("notification %s not sent: %s", notification.pk, reason)
    target = Status.BOUNCED if outcome == "bounced" else Status.FAILED
    event_record_and_apply(notification, target, source=DeliveryEvent.Source.SMTP, event_type=outcome, reason=reason,
                 at=timezone.now())  # fmt: skip


def _send_claimed(
    notification: Notification, connection: Any, *, claimed_by: str, confirm: Sequence[int] = ()
) -> bool | None:
    """Send a row claimed as `claimed_by`. True: sent and confirmed; None: sent, confirmation pending; False: not sent.

    `confirm`: rows whose server said 250 since the last mark, confirmed with this one (None returned).
    """
    if supports_two_phase(connection):
        mark = SentMark(notification.pk, claimed_by=claimed_by, confirm=confirm)
        try:
            with mark.transaction():
                send_two_phase(
                    connection=connection, message=notice_envelope(notification=notification),
                    commit=mark.commit, wait_for_commit=mark.wait_for_commit,
                )  # fmt: skip
        except SentMarkLost as error:
            # The dot went out but the database's answer did not come: the server probably has the
            # message. Mark it again on a fresh connection so that it is not sent twice: whatever the claim
            # (had the tick taken the row back meanwhile, this mark makes its new owner's mark refused).
            logger.error("notification %s: sent, but its sent mark was not confirmed: %s", notification.pk, error)
            db_connection.close()
            _mark_sent(notification.pk, "", from_statuses=[Status.SENDING])
            raise TransientSendError(str(error)) from error
        except CommitRefused:
            # The tick took the row back meanwhile (lease run out): its next owner sends it, once.
            logger.warning("notification %s: claim %s taken back before its sent mark", notification.pk, claimed_by)
            return False
        except ReplyLost as error:
            # The dot went out: the server most likely kept the message. It stays sent; new connection.
            Notification.objects.filter(pk=notification.pk).update(last_error=f"réponse perdue: {error}"[:300])
            raise TransientSendError(str(error)) from error
        except Exception as error:
            sent = Notification.objects.filter(pk=notification.pk, status=Status.SENT).exists()
            _send_failed(notification, error, from_status=Status.SENT if sent else Status.SENDING,
                         claimed_by=claimed_by)  # fmt: skip
            return False
        # The server said 250; its confirmation is stored in bulk (`_confirm`). A sent row left without
        # a provider id was cut between the commit and the reply (see the module's docstring).
        return None
    if not Notification.objects.filter(pk=notification.pk, status=Status.SENDING, claimed_by=claimed_by).exists():
        return False  # taken back by the tick: an API call cannot be undone, so check before making it
    message = notice_email_message(notification=notification, connection=connection)
    message_id = message.extra_headers["Message-ID"]
    try:
        message.send()
    except Exception as error:
        _send_failed(notification, error, from_status=Status.SENDING, claimed_by=claimed_by)
        return False
    status = getattr(message, "anymail_status", None)
    provider_id = str((getattr(status, "message_id", None) if status else None) or message_id)
    # A fast ESP webhook may already have moved it on (delivered/bounced): then only the id is stored.
    if not _mark_sent(notification.pk, provider_id, from_statuses=[Status.SENDING, Status.QUEUED]):
        Notification.objects.filter(pk=notification.pk).update(provider_message_id=provider_id[:200])
    return True


def notifications_send(*, notification_ids: Sequence[int], connection: Any = None, close_campaigns: bool = True) -> int:
    """Send a chunk over one reused connection; safe to run twice (rows are claimed, sent ones skipped).

    Returns how many messages this call submitted. The chunk's claim is renewed every third of its lease
    while the worker goes through it; rows the tick took back meanwhile are left to their new owner.
    """
    own_connection = connection is None
    connection = connection or get_connection()  # not opened yet: its kind decides the lease
    claimed_by, lease_seconds = claim_token(), lease_seconds_for(connection)
    claimed = notifications_claim(notification_ids=notification_ids, claimed_by=claimed_by, lease_seconds=lease_seconds)
    if not claimed:
        return 0
    rows = {
        row.pk: row
        for row in Notification.objects.filter(pk__in=claimed).select_related("campaign__laboratory", "patient")
    }
    sent, to_confirm, done, held = 0, [], set(), set(claimed)
    renew_every = dt.timedelta(seconds=lease_seconds / 3)
    renew_at = timezone.now() + renew_every
    try:
        for notification_id in claimed:
            if timezone.now() >= renew_at:
                left = [pk for pk in claimed if pk not in done]
                held = notifications_lease_renew(notification_ids=left, claimed_by=claimed_by,
                                                 lease_seconds=lease_seconds)  # fmt: skip
                renew_at = timezone.now() + renew_every
            if notification_id not in held:
                done.add(notification_id)  # taken back by the tick: its new owner sends it
                continue
            outcome = _send_claimed(rows[notification_id], connection, claimed_by=claimed_by, confirm=to_confirm)
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
            Notification.objects.filter(pk__in=untouched, status=Status.SENDING, claimed_by=claimed_by).update(
                status=Status.QUEUED, queued_at=timezone.now(), attempts=F("attempts") - 1, updated_at=timezone.now(),
                claimed_by="", lease_until=None,
            )  # fmt: skip
        if own_connection:
            connection.close()
    if close_campaigns:
        for campaign_id in {row.campaign_id for row in rows.values()}:
            campaign_close_if_finished(campaign_id=campaign_id)
    return sent
