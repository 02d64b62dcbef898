"""The neutral notice email (FR + EN), rendered from plain data and the `templates/emails/` triple.

Neutral by design: no health data, no test detail, no attachment, no link to click, the patient's name
left out; it carries the personal status code in the body (never in a URL), the status page address to
type, the verification phrase printed on the letter too, and the anti-phishing facts.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string

LANGUAGES = ("fr", "en")


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def status_page_url() -> str:
    """Address of the status page as printed in the email (the patient types it; the code is not in it)."""
    return settings.PUBLIC_BASE_URL.rstrip("/") + "/verifier/"


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
) -> RenderedEmail:
    """Subject, text and HTML of the notice email; French first unless `language` is "en"."""
    url = status_page_url()
    context = {
        "language": language if language in LANGUAGES else "fr",
        "status_code": status_code,
        "verification_phrase": verification_phrase,
        "reference": reference,
        "lab_name": lab_name,
        "dpo_name": dpo_name or lab_name,
        "dpo_email": dpo_email,
        "dpo_phone": dpo_phone,
        "status_url": url,
        # Shown without the scheme: fewer mail clients turn it into a link the patient might click.
        "status_url_display": url.split("://", 1)[-1],
    }
    subject = " ".join(render_to_string(f"emails/{template}.subject.txt", context).split())
    context["subject"] = subject
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    return RenderedEmail(subject=subject, text=text, html=html)
