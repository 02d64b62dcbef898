"""The neutral notice email: built by Django once per campaign, then filled in per patient as bytes.

Django's MIME build (header folding, the generator) costs a worker more CPU than the SMTP exchange
itself (≈ 1.1 ms a message), while every notice of one campaign differs only by three short values: the
status code, the verification phrase and the reference. So `MessageTemplate` has Django build the
message once with placeholder values and fills each copy in as bytes (≈ 0.012 ms). A test holds every
header but the date, and every decoded part, equal to Django's own build; when a value could not go in
verbatim (an encoded header, a quoted-printable part, an address needing encoding, a line break), the
template declines and Django builds that message.

No health data, no attachment: the email says a letter or notice exists and how to read it.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.message import sanitize_address

from letters.emails import EMAIL_ONLY, LETTER_ALSO, LETTER_RETURNED, render_notice_email

from .codes import status_code_for_ids, verification_phrase_for_ids
from .models import Campaign, Notification
from .targets import first_notice_dates


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


_PLACEHOLDER_TO = "placeholder.recipient@placeholder.invalid"
_PLACEHOLDER_MESSAGE_ID = "<placeholder.message-id@placeholder.invalid>"
_DATE = re.compile(rb"\r\nDate: [^\r]*")
_DATE_TOKEN = b"\r\nDate: \x00date\x00"
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")
_LONGEST_LINE = 900  # RFC 5322 allows 998 octets: room for the filled-in values
_LONGEST_VALUE = 64


class MessageTemplate:
    """A message built once by Django with marker values, whose copies are filled in as bytes.

    `build(values=..., to=..., message_id=...)` returns the EmailMessage for those field values,
    recipient and Message-ID. The markers hold a non-ASCII character, so Django sends every part that
    shows one as 8bit (raw UTF-8) and a value in any script fits where its marker was. The template
    refuses itself (`usable` False: callers use Django per message) unless each marker came out
    verbatim as often as the decoded message shows it: a quoted-printable or base64 part, or a marker
    in an encoded header, would break that.
    """

    def __init__(self, build: Callable[..., EmailMessage], fields: Sequence[str]) -> None:
        self.markers = {name: f"\u00a7{name}\u00a7".encode() for name in fields}
        message = build(
            values={name: marker.decode() for name, marker in self.markers.items()},
            to=_PLACEHOLDER_TO,
            message_id=_PLACEHOLDER_MESSAGE_ID,
        )
        envelope = Envelope.of(message)
        self.from_email = envelope.from_email
        self.usable = envelope.recipients == [_PLACEHOLDER_TO] and self._check(envelope.data)
        data = _DATE.sub(_DATE_TOKEN, envelope.data, count=1)
        tokens = [_DATE_TOKEN, _PLACEHOLDER_TO.encode(), _PLACEHOLDER_MESSAGE_ID.encode(), *self.markers.values()]
        self._segments = re.split(b"(" + b"|".join(map(re.escape, tokens)) + b")", data)

    def _check(self, data: bytes) -> bool:
        head = data.partition(b"\r\n\r\n")[0]
        once = (
            head.count(b"\r\nDate: "),
            data.count(_PLACEHOLDER_TO.encode()),
            data.count(_PLACEHOLDER_MESSAGE_ID.encode()),
        )
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
            _PLACEHOLDER_TO.encode(): to.encode(),
            _PLACEHOLDER_MESSAGE_ID.encode(): message_id.encode(),
        }
        for name, marker in self.markers.items():
            value = values[name]
            if len(value) > _LONGEST_VALUE or "\r" in value or "\n" in value:
                return None
            replacements[marker] = value.encode()
        data = b"".join([replacements.get(segment, segment) for segment in self._segments])
        return Envelope(from_email=self.from_email, recipients=[to], data=data)


def message_domain() -> str:
    return settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(">") or "notifier.localhost"


def message_id_for(notification: Notification) -> str:
    # Deterministic (reference and id): any copy of one notice carries the same Message-ID.
    return f"<{notification.reference}.{notification.pk}@{message_domain()}>"


_NOTICE_FIELDS = ("status_code", "verification_phrase", "reference")


def _notice_values(notification: Notification) -> dict[str, str]:
    """The per-patient values of the notice email (what differs between two notices of one campaign)."""
    ids = {"breach_id": notification.patient.breach_id, "patient_id": notification.patient_id}
    return {
        "status_code": status_code_for_ids(**ids),
        "verification_phrase": verification_phrase_for_ids(**ids),
        "reference": notification.reference,
    }


def notice_wording(notification: Notification) -> str:
    """What the notice email says about the post (letters.emails.WORDINGS): sent because the letter came
    back (a fallback row), a letter also coming (the patient has a letter row in this campaign), or email only.

    Only a post-and-email campaign gives some patients both rows. The others never have a letter row beside
    a first email: post-then-email emails at launch only those without an address, and email-then-post writes
    its letter row only after the email bounced."""
    if notification.is_fallback:
        return LETTER_RETURNED
    campaign = notification.campaign
    if campaign.channel_policy != Campaign.ChannelPolicy.POST_AND_EMAIL:
        return EMAIL_ONLY
    without_letter = _emailed_without_letter(campaign.pk, campaign.launched_at)
    return EMAIL_ONLY if notification.patient_id in without_letter else LETTER_ALSO


@functools.lru_cache(maxsize=16)
def _emailed_without_letter(campaign_id: int, launched_at: Any) -> frozenset[int]:
    """Patients of a post-and-email campaign emailed but not written to (no usable address): usually few.

    One query per campaign and worker instead of one per email (≈ 0.4 ms each). Exact, since such a campaign
    writes all its rows at launch, in one transaction, before any email is sent; `launched_at` keys the
    cache so that a campaign id is never confused with an earlier one (a test database reuses ids)."""
    rows = Notification.objects.filter(campaign_id=campaign_id)
    lettered = rows.filter(channel=Notification.Channel.POST).values("patient_id")
    emailed = rows.filter(channel=Notification.Channel.EMAIL).exclude(patient_id__in=lettered)
    return frozenset(emailed.values_list("patient_id", flat=True))


def first_notice_on(notification: Notification) -> dt.date | None:
    """A follow-up's email says when the patient was first written to; None for any other campaign."""
    campaign = notification.campaign
    if not campaign.is_follow_up:
        return None
    return _first_notices(campaign.pk, campaign.launched_at).get(notification.patient_id)


@functools.lru_cache(maxsize=16)
def _first_notices(campaign_id: int, launched_at: Any) -> dict[int, dt.date]:
    # One grouped query per follow-up and worker, not one per email; `launched_at` keys it as above.
    return first_notice_dates(campaign=Campaign.objects.get(pk=campaign_id))


def _notice_email(*, sender: tuple[str, str, str, str], template: str, language: str, wording: str,
                  values: dict[str, str], to: str, message_id: str, connection: Any = None,
                  first_notice: dt.date | None = None) -> EmailMultiAlternatives:  # fmt: skip
    lab_name, dpo_name, dpo_email, dpo_phone = sender
    rendered = render_notice_email(
        language=language, lab_name=lab_name, dpo_name=dpo_name, dpo_email=dpo_email, dpo_phone=dpo_phone,
        template=template, wording=wording, first_notice_on=first_notice, **values,
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


def notice_email_message(*, notification: Notification, connection: Any = None) -> EmailMultiAlternatives:
    """The neutral notice email for one notification row (no health data, no attachment, code in body)."""
    campaign = notification.campaign
    message = _notice_email(
        sender=_sender(campaign), template=campaign.email_template, language=notification.language,
        wording=notice_wording(notification), values=_notice_values(notification), to=notification.patient.email,
        message_id=message_id_for(notification), connection=connection, first_notice=first_notice_on(notification),
    )  # fmt: skip
    # anymail sends these to the ESP, which echoes them in tracking webhooks (ignored by plain SMTP).
    message.metadata = {"notification_id": str(notification.pk), "campaign_id": str(campaign.pk)}
    message.tags = ["breach-notice"]
    return message


@functools.lru_cache(maxsize=64)
def _notice_template(
    sender: tuple[str, str, str, str],
    template: str,
    language: str,
    wording: str,
    first_notice: dt.date | None,
    *_settings: str,
) -> MessageTemplate:
    # `_settings` (status page addresses, sender address) only key the cache: the build reads them itself.
    # A follow-up's first-notice day is in the text: one template per day (a handful per follow-up).
    build = functools.partial(
        _notice_email, sender=sender, template=template, language=language, wording=wording, first_notice=first_notice
    )
    return MessageTemplate(build, _NOTICE_FIELDS)


def notice_envelope(*, notification: Notification) -> Envelope:
    """`notice_email_message` as SMTP bytes, filled into the campaign's template (an order of magnitude
    cheaper than Django's MIME build); built by Django when the template cannot hold this patient's values."""
    campaign = notification.campaign
    wording = notice_wording(notification)
    template = _notice_template(
        _sender(campaign), campaign.email_template, notification.language, wording, first_notice_on(notification),
        settings.PUBLIC_BASE_URL,
        getattr(settings, "LETTERS_STATUS_URL", ""), settings.DEFAULT_FROM_EMAIL,
    )  # fmt: skip
    envelope = template.fill(_notice_values(notification), to=notification.patient.email,
                            message_id=message_id_for(notification))  # fmt: skip
    return envelope or Envelope.of(notice_email_message(notification=notification))
