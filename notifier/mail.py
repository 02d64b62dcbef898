"""Two-phase SMTP submission: record "sent" in the database before the server can accept the message.

Why: with a plain `send()`, a worker killed after the SMTP server accepted a message but before the
database said so leaves the row in `sending`; re-queuing it sends a second notice, not re-queuing it
may lose one. SMTP gives us a better cut: the server keeps a message only once it reads the final
"." line of DATA. So we send everything but that line, commit `sent` (the callback), then send the
dot. A crash before the commit: the server drops the unfinished message, the row is re-queued and
sent once. A crash after the dot: the row already says sent, nothing is re-sent. A crash in between
loses one message that the database calls sent (flagged "sent, unconfirmed"). That gap is made as
narrow as the two writes: on PostgreSQL the callback only *sends* the COMMIT, the dot follows at
once, and `settle` reads the COMMIT's answer afterwards (services._SentMark). Waiting for the
commit before the dot would leave the whole WAL flush in the gap: 2 of 2,000 messages were lost
that way over three SIGKILLs, none since.

Only Django's SMTP backend gets this path (`supports_two_phase`); other backends (anymail ESP APIs)
use the plain `send()`, and their tracking webhooks (metadata `notification_id`) settle the rest.

`Stencil` makes the campaign's copies cheap: Django's MIME build (header folding, the generator) costs
more than the SMTP exchange itself, and every notice of a campaign differs only by a few short values.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import email.utils
import re
import smtplib
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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


class DotNotSent(smtplib.SMTPServerDisconnected):
    """Writing the final dot failed: the server cannot have kept the message (the row must be sent again)."""


def supports_two_phase(connection: Any) -> bool:
    return isinstance(connection, SMTPBackend)


@dataclass(frozen=True)
class Envelope:
    """A message as SMTP carries it: envelope sender, recipients and the RFC 5322 bytes (CRLF)."""

    from_email: str
    recipients: list[str]
    data: bytes

    @classmethod
    def of(cls, message: EmailMessage) -> Envelope:
        encoding = message.encoding or settings.DEFAULT_CHARSET
        return cls(
            from_email=sanitize_address(message.from_email, encoding),
            recipients=[sanitize_address(address, encoding) for address in message.recipients()],
            data=message.message().as_bytes(linesep="\r\n"),
        )


_STENCIL_TO = "stencil.recipient@stencil.invalid"
_STENCIL_MESSAGE_ID = "<stencil.message-id@stencil.invalid>"
_DATE = re.compile(rb"\r\nDate: [^\r]*")
_DATE_TOKEN = b"\r\nDate: \x00date\x00"
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")
_LONGEST_LINE = 900  # RFC 5322 allows 998 octets: room for the filled-in values
_LONGEST_VALUE = 64


class Stencil:
    """A message built once by Django with marker values, whose copies are filled in as bytes.

    `build(values=..., to=..., message_id=...)` returns the EmailMessage for those field values,
    recipient and Message-ID. The markers hold a non-ASCII character, so Django sends every part that
    shows one as 8bit (raw UTF-8) and a value in any script fits where its marker was. The stencil
    refuses itself (`usable` False: callers use Django per message) unless each marker came out
    verbatim as often as the decoded message shows it: a quoted-printable or base64 part, or a marker
    in an encoded header, would break that.
    """

    def __init__(self, build: Callable[..., EmailMessage], fields: Sequence[str]) -> None:
        self.markers = {name: f"\u00a7{name}\u00a7".encode() for name in fields}
        message = build(
            values={name: marker.decode() for name, marker in self.markers.items()},
            to=_STENCIL_TO,
            message_id=_STENCIL_MESSAGE_ID,
        )
        envelope = Envelope.of(message)
        self.from_email = envelope.from_email
        self.usable = envelope.recipients == [_STENCIL_TO] and self._check(envelope.data)
        data = _DATE.sub(_DATE_TOKEN, envelope.data, count=1)
        tokens = [_DATE_TOKEN, _STENCIL_TO.encode(), _STENCIL_MESSAGE_ID.encode(), *self.markers.values()]
        self._segments = re.split(b"(" + b"|".join(map(re.escape, tokens)) + b")", data)

    def _check(self, data: bytes) -> bool:
        head = data.partition(b"\r\n\r\n")[0]
        once = (head.count(b"\r\nDate: "), data.count(_STENCIL_TO.encode()), data.count(_STENCIL_MESSAGE_ID.encode()))
        if once != (1, 1, 1) or max(map(len, data.split(b"\r\n"))) > _LONGEST_LINE:
            return False
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        shown = str(parsed["Subject"]) + "".join(
            part.get_content() for part in parsed.walk() if part.get_content_maintype() == "text"
        )
        return all(0 < data.count(marker) == shown.count(marker.decode()) for marker in self.markers.values())

    def fill(self, values: Mapping[str, str], *, to: str, message_id: str) -> Envelope | None:
        """This copy's bytes; None when a value would not fit as raw bytes (then build it with Django)."""
        if not self.usable or not _PLAIN_ADDRESS.fullmatch(to) or not _PLAIN_ADDRESS.fullmatch(message_id[1:-1]):
            return None
        date = email.utils.formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
        replacements = {
            _DATE_TOKEN: f"\r\nDate: {date}".encode(),
            _STENCIL_TO.encode(): to.encode(),
            _STENCIL_MESSAGE_ID.encode(): message_id.encode(),
        }
        for name, marker in self.markers.items():
            value = values[name]
            if len(value) > _LONGEST_VALUE or "\r" in value or "\n" in value:
                return None
            replacements[marker] = value.encode()
        data = b"".join([replacements.get(segment, segment) for segment in self._segments])
        return Envelope(from_email=self.from_email, recipients=[to], data=data)


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
    settle: Callable[[], None] | None = None,
) -> None:
    """Submit `message`; call `commit()` after the body and before the final dot. Raises on refusal.

    `commit` may only send its COMMIT without waiting for the answer: then `settle()`, called once the
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
        if settle is not None:
            settle()
        raise DotNotSent(str(error)) from error
    if settle is not None:
        try:
            settle()
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
