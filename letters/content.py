"""What one letter says, as plain data: `LetterData` is all a renderer needs, with no model access.

The campaign engine builds one per patient with `letter_data_for` (codes and verification phrases come
from it as plain strings) and hands it to `letters.render` / `letters.printing`. Being frozen and
hashable, the same data always renders the same letter, and the patient-independent part of it is the
key of a letter *variant* (see `letters.slots.variant_key`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.utils import timezone

from patients.categories import Exposure
from patients.models import minor_on

from . import english
from .typography import french_spacing, phone_display
from .versions import CURRENT_TEMPLATE_VERSION, LANGUAGES, template_version
from .wording import exposure_shown


@dataclass(frozen=True)
class LetterData:
    """Plain data for printing one Article 34 letter (no model instances, no health detail)."""

    reference: str
    language: str
    template_version: str
    # recipient
    recipient_civility: str
    recipient_first_name: str
    recipient_last_name: str
    is_minor: bool  # on `sent_on` (patients.models.minor_on): the letter then goes to the parents
    address_lines: tuple[str, ...]
    postcode: str
    city: str
    country: str
    # what leaked (bit masks of patients.categories); the sensitive classes never reach the paper, and a
    # guardian's letter has neither them nor the "health comment" bit (wording.exposure_shown)
    exposure_mask: int
    sensitive_mask: int
    nir_masked: str
    # the laboratory (data controller)
    lab_name: str
    lab_address_lines: tuple[str, ...]
    lab_logo_path: str
    lab_signatory: str
    dpo_name: str
    dpo_email: str
    dpo_phone: str
    dpo_address_lines: tuple[str, ...]
    # the breach
    breach_title: str
    breach_description: str
    breach_period: str
    breach_processor: str
    breach_discovered_on: dt.date | None
    breach_measures: tuple[str, ...]
    # how to check the notice is genuine
    status_url: str
    status_code: str
    verification_phrase: str
    sent_on: dt.date
    # English letter only: the breach texts printed in French for want of an English version (letters.english)
    french_only: tuple[str, ...] = ()
    # A follow-up's letter: the day this patient's first notice was sent (« nous vous avons écrit le … »)
    first_notice_on: dt.date | None = None

    def exposes(self, category: Exposure) -> bool:
        return bool(self.exposure_mask & category)

    @property
    def qr_url(self) -> str:
        """The status page address with the code after '#': a fragment is never sent to any server."""
        return f"{self.status_url}#{self.status_code}"


def status_url(language: str = "fr") -> str:
    """Address of the patient status page printed on letters and emails, in their language.

    settings.LETTERS_STATUS_URL is the French page (…/verifier/); English readers get the English page of
    the same site (…/check/, status_page.urls)."""
    french = getattr(settings, "LETTERS_STATUS_URL", "") or settings.PUBLIC_BASE_URL.rstrip("/") + "/verifier/"
    if language != "en":
        return french
    parts = urlsplit(french)
    folder = parts.path.rstrip("/")
    folder = folder[: -len("/verifier")] if folder.endswith("/verifier") else folder
    return urlunsplit((parts.scheme, parts.netloc, folder + "/check/", "", ""))


def _text(value: object) -> str:
    """A model attribute as one clean line of text ('' for None)."""
    if value is None:
        return ""
    return " ".join(str(value).split())


def _first_attr(obj: object, *names: str) -> object:
    for name in names:
        value = getattr(obj, name, None)
        if value not in (None, ""):
            return value
    return None


def _lines(*parts: str) -> tuple[str, ...]:
    return tuple(line for part in parts for line in str(part or "").splitlines() if line.strip())


def _measures(case_file: object | None, breach: object, language: str) -> list[english.Text]:
    """Measures taken or proposed (Art. 33(3)(d)) in `language` (French where no translation was written)."""
    entries = english.measure_entries(case_file)
    if not entries:
        return [english.Text(text) for text in _measures_of(breach)]
    out = []
    for entry in entries:
        text = english.measure_text(entry, language)
        if text.text and getattr(entry, "kind", "") == "proposed":
            # a measure only proposed must not read as done
            prefix = "Planned: " if language == "en" and not text.missing else "Prévu : "
            text = english.Text(prefix + text.text, text.missing)
        if text.text:
            out.append(text)
    return out


def _typeset(text: english.Text, language: str) -> str:
    """French typography for French text, also where it stands in for a missing English version."""
    return french_spacing(text.text) if language == "fr" or text.missing else text.text


def _measures_of(source: object) -> tuple[str, ...]:
    value = _first_attr(source, "measures", "measures_taken", "remedial_measures")
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(_text(v) for v in value if _text(v))
    return tuple(_text(line.lstrip("-•* ")) for line in str(value).splitlines() if line.strip())


def _period(breach: object) -> str:
    text = _first_attr(breach, "period", "period_text", "data_period")
    if text:
        return _text(text)
    start, end = getattr(breach, "period_start", None), getattr(breach, "period_end", None)
    if start and end:
        return f"{start:%d/%m/%Y} – {end:%d/%m/%Y}"
    return ""


def _discovered_on(source: object | None) -> dt.date | None:
    value = _first_attr(source, "discovered_at", "aware_at") if source is not None else None
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value if isinstance(value, dt.date) else None


def letter_common(
    *, laboratory, breach, language: str = "fr", template_version: str | None = None, sent_on: dt.date | None = None
) -> dict:
    """What every letter of one laboratory, breach, language and day shares: read once for a print batch
    (the case file and its measures are queries) rather than once per letter."""
    if language not in LANGUAGES:
        raise ValueError(f"Langue de lettre non prise en charge : {language!r} (fr ou en)")
    lab = laboratory
    case_file = english.case_file_of(breach, lab)
    title = english.breach_title(breach, language)
    description = english.breach_description(breach, language)
    measures = _measures(case_file, breach, language)
    lab_city_line = " ".join(p for p in (lab.postcode, lab.city) if p)
    return {
        "language": language,
        "template_version": _resolve_version(template_version),
        "lab_name": _text(lab.name),
        "lab_address_lines": _lines(lab.address_line, lab_city_line),
        "lab_logo_path": _text(_first_attr(lab, "logo_path", "logo")),
        "lab_signatory": _text(_first_attr(lab, "signatory", "signatory_name")),
        "dpo_name": _text(lab.dpo_name),
        "dpo_email": _text(lab.dpo_email),
        "dpo_phone": phone_display(lab.dpo_phone, language),
        "dpo_address_lines": _lines(_text(_first_attr(lab, "dpo_address")) or lab.address_line, lab_city_line),
        "breach_title": _typeset(title, language),
        "breach_description": _typeset(description, language),
        "breach_period": _period(breach),
        "breach_processor": _text(breach.processor),
        "breach_discovered_on": _discovered_on(case_file) or _discovered_on(breach),
        "breach_measures": tuple(_typeset(measure, language) for measure in measures),
        "french_only": tuple(text.missing for text in (title, description, *measures) if text.missing),
        "status_url": status_url(language),
        "sent_on": sent_on or timezone.localdate(),
    }


def letter_data_for(
    *,
    patient,
    reference: str,
    status_code: str,
    verification_phrase: str,
    language: str = "fr",
    template_version: str | None = None,
    sent_on: dt.date | None = None,
    first_notice_on: dt.date | None = None,
    common: dict | None = None,
) -> LetterData:
    """Plain letter data for `patient` (a patients.models.Patient) with the campaign's code and phrase.

    `common`: `letter_common` of the patient's laboratory and breach for this language, version and day,
    when the caller prints many letters of them (read here otherwise)."""
    if common is None:
        common = letter_common(laboratory=patient.laboratory, breach=patient.breach, language=language,
                               template_version=template_version, sent_on=sent_on)  # fmt: skip
    minor = minor_on(birth_date=patient.birth_date, civility=patient.civility, on=common["sent_on"])
    return LetterData(
        reference=_text(reference),
        recipient_civility=_text(patient.civility),
        recipient_first_name=_text(patient.first_name),
        recipient_last_name=_text(patient.last_name),
        is_minor=minor,
        address_lines=_lines(patient.address_line),
        postcode=_text(patient.postcode),
        city=_text(patient.city),
        country=_text(patient.country or "FR").upper(),
        exposure_mask=exposure_shown(int(patient.exposure_mask), minor=minor),
        sensitive_mask=0 if minor else int(patient.sensitive_mask),
        nir_masked=_text(patient.nir_masked) if patient.exposure_mask & Exposure.NIR else "",
        status_code=_text(status_code),
        verification_phrase=_text(verification_phrase),
        first_notice_on=first_notice_on,
        **common,
    )


def _resolve_version(code: str | None) -> str:
    return template_version(code or CURRENT_TEMPLATE_VERSION).code


def breach_measures(*, breach, laboratory, language: str = "fr") -> tuple[str, ...]:
    """The measures a letter of `laboratory` prints for `breach` (« Prévu : » for a proposed one), typeset:
    the call-centre kit quotes the very same lines."""
    measures = _measures(english.case_file_of(breach, laboratory), breach, language)
    return tuple(_typeset(measure, language) for measure in measures)
