"""The neutral notice email (FR + EN), rendered from plain data and the `templates/emails/` triple.

Neutral by design: no health data, no test detail, no attachment, no link to click, the patient's name
left out; it carries the personal status code in the body (never in a URL), the status page address to
type, the verification phrase printed on the letter too, and the anti-phishing facts.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.template.loader import render_to_string

from .content import status_url
from .typography import long_date, of_name, phone_display

LANGUAGES = ("fr", "en")

# What the email says about the post: a letter is also coming / this email is all there is / the letter
# came back, so the email replaces it (Notification.is_fallback). notifier.notice_email picks one per row.
LETTER_ALSO = "letter_also"
EMAIL_ONLY = "email_only"
LETTER_RETURNED = "letter_returned"
WORDINGS = (LETTER_ALSO, EMAIL_ONLY, LETTER_RETURNED)
WORDING_LABELS = {
    LETTER_ALSO: "un courrier suit aussi par la poste",
    EMAIL_ONLY: "courriel seulement",
    LETTER_RETURNED: "envoyé car le courrier est revenu",
}
_SPACES = re.compile(r"[^\S\u00a0]+")  # white space but the non-breaking spaces of French typography


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def status_page_url(language: str = "fr") -> str:
    """Address of the status page as printed in the email (the patient types it; the code is not in it):
    the French page (/verifier/) in the French part, the English one (/check/) in the English part."""
    return status_url(language)


def render_notice_email(
    *,
    language: str,
    status_code: str,
    verification_phrase: str,
    reference: str,
    lab_name: str,
    dpo_name: str = "",
    dpo_email: str = "",
    dpo_phone: str = "",
    template: str = "breach_notice",
    wording: str = LETTER_ALSO,
    first_notice_on: dt.date | None = None,
) -> RenderedEmail:
    """Subject, text and HTML of the notice email; French first unless `language` is "en".

    `wording` says what it tells about the post (`WORDINGS`); an unknown one is a ValueError. A follow-up's
    email gives `first_notice_on`, the day the patient's first notice was sent (« nous vous avons écrit le … »)."""
    if wording not in WORDINGS:
        raise ValueError(f"Formulation de courriel inconnue : {wording!r} (connues : {', '.join(WORDINGS)})")
    urls = {code: status_page_url(code) for code in LANGUAGES}
    context = {
        "language": language if language in LANGUAGES else "fr",
        "status_code": status_code,
        "verification_phrase": verification_phrase,
        "reference": reference,
        "lab_name": lab_name,
        "from_lab": of_name(lab_name),
        "dpo_name": dpo_name or lab_name,
        "dpo_email": dpo_email,
        "dpo_phone_fr": phone_display(dpo_phone, "fr"),
        "dpo_phone_en": phone_display(dpo_phone, "en"),
        "wording": wording,
        "first_notice_on_fr": long_date(first_notice_on, "fr"),
        "first_notice_on_en": long_date(first_notice_on, "en"),
        "status_url_fr": urls["fr"],
        "status_url_en": urls["en"],
        # Shown without the scheme: fewer mail clients turn it into a link the patient might click.
        "status_url_fr_display": urls["fr"].split("://", 1)[-1],
        "status_url_en_display": urls["en"].split("://", 1)[-1],
    }
    # the names a custom template of an older version may still use: the first language's
    context |= {
        "status_url": context[f"status_url_{context['language']}"],
        "status_url_display": context[f"status_url_{context['language']}_display"],
        "dpo_phone": context[f"dpo_phone_{context['language']}"],
    }
    subject = _SPACES.sub(" ", render_to_string(f"emails/{template}.subject.txt", context)).strip()
    context["subject"] = subject
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    return RenderedEmail(subject=subject, text=text, html=html)
