"""Two-phase SMTP submission: record "sent" in the database before the server can accept the message.

Why: with a plain `send()`, a worker killed after the SMTP server accepted a message but before the
database said so leaves the row in `sending`; re-queuing it sends a second notice, not re-queuing it
may lose one. SMTP gives us a better cut: the server keeps a message only once it reads the final
"." line of DATA. So we send everything but that line, commit `sent` (the callback), then send the
dot. A crash before the commit: the server drops the unfinished message, the row is re-queued and
sent once. A crash after the dot: the row already says sent, nothing is re-sent. What remains is the
few microseconds between the commit and the kernel taking the 3-byte dot, where a crash loses one
message that the database calls sent — instead of a ~1 ms window that doubles one.

Only Django's SMTP backend gets this path (`supports_two_phase`); other backends (anymail ESP APIs)
use the plain `send()`, and their tracking webhooks (metadata `notification_id`) settle the rest.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import socket
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address

_LEADING_DOT = re.compile(rb"(?m)^\.")


class CommitRefused(Exception):
    """The database did not let us record the send (the row is no longer ours): nothing was delivered."""


class ReplyLost(Exception):
    """The connection broke after the final dot: the server probably kept the message (row stays sent)."""


def supports_two_phase(connection: Any) -> bool:
    return isinstance(connection, SMTPBackend)


def _abort(connection: SMTPBackend) -> None:
    """Drop the connection mid-DATA: the server discards a message whose final dot never came."""
    smtp = connection.connection
    connection.connection = None
    if smtp is not None:
        with contextlib.suppress(OSError):
            smtp.close()


def send_two_phase(*, connection: SMTPBackend, message: EmailMessage, commit: Callable[[], bool]) -> None:
    """Submit `message`; call `commit()` after the body and before the final dot. Raises on refusal."""
    connection.open()
    smtp: smtplib.SMTP = connection.connection
    if smtp.sock is not None:
        # The 3-byte dot follows the body without waiting for its ACK: without NODELAY, Nagle holds it
        # until the server's delayed ACK (~40 ms per message).
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    encoding = message.encoding or settings.DEFAULT_CHARSET
    from_email = sanitize_address(message.from_email, encoding)
    recipients = [sanitize_address(address, encoding) for address in message.recipients()]
    body = message.message().as_bytes(linesep="\r\n")
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
        code, reply = smtp.getreply()
    except (OSError, smtplib.SMTPServerDisconnected) as error:
        _abort(connection)
        raise ReplyLost(str(error)) from error
    if code != 250:
        raise smtplib.SMTPDataError(code, reply)
