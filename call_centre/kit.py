"""The call-centre kit of one laboratory and breach: an FAQ for agents and a call script, French and English.

Built from the facts the letters and the Art. 33 case file already hold (`letters.content`, `letters.english`,
`letters.wording`, the case file's consequences, the laboratory's contacts): a measure added to the case file
shows in the next letter, the FAQ and the script alike; nothing here is typed twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from labs.models import Breach, BreachLaboratory, Laboratory
from letters import english
from letters.content import breach_measures, status_url
from letters.typography import french_spacing, phone_display
from letters.wording import advice, exposure_labels
from patients.models import Patient

LANGUAGES = ("fr", "en")


@dataclass(frozen=True)
class Kit:
    """What the FAQ and the script say, as plain data (the templates only lay it out)."""

    language: str
    laboratory: str
    breach_title: str
    what_happened: str
    period: str
    processor: str
    data: tuple[str, ...]
    risks: tuple[str, ...]
    measures: tuple[str, ...]
    advice: tuple[str, ...]
    dpo_name: str
    dpo_email: str
    dpo_phone: str
    status_url: str
    communication_contact: str
    french_only: tuple[str, ...]


def _data_categories(*, breach: Breach, laboratory: Laboratory, language: str) -> tuple[str, ...]:
    """Every category the laboratory's leaked records hold, in the letters' words (never a condition)."""
    masks = Patient.objects.filter(breach=breach, laboratory=laboratory).values_list("exposure_mask", flat=True)
    union = 0
    for mask in masks.distinct().order_by():
        union |= int(mask)
    labels = exposure_labels(union, language)
    # The agent speaks of "the patient's" data, not "your" data, and in the FAQ's order.
    own, other = ("votre ", "la ") if language == "fr" else ("your ", "their ")
    return tuple(label.removeprefix(own).replace(own, other) for label in labels)


def _risks(case_file: BreachLaboratory | None) -> tuple[str, ...]:
    if case_file is None:
        return ()
    risks = [str(label) for label in case_file.consequence_labels]
    if case_file.consequences_text.strip():
        risks.append(" ".join(case_file.consequences_text.split()))
    return tuple(risks)


def call_centre_kit(*, breach: Breach, laboratory: Laboratory, language: str = "fr") -> Kit:
    """The kit of `laboratory` for `breach` in `language` ("fr" or "en"); reads only."""
    if language not in LANGUAGES:
        raise ValueError(f"Langue non prise en charge : {language!r} (fr ou en)")
    case_file = english.case_file_of(breach, laboratory)
    title = english.breach_title(breach, language)
    description = english.breach_description(breach, language)
    french = language == "fr"
    period = ""
    if breach.period_start and breach.period_end:
        period = f"{breach.period_start:%d/%m/%Y} – {breach.period_end:%d/%m/%Y}"
    risks = _risks(case_file)
    missing = [text.missing for text in (title, description) if text.missing]
    if not french and risks:
        missing.append("conséquences probables")  # the case file's consequences are written in French only
    return Kit(
        language=language,
        laboratory=laboratory.name or laboratory.code,
        breach_title=french_spacing(title.text) if french or title.missing else title.text,
        what_happened=french_spacing(description.text) if french or description.missing else description.text,
        period=period,
        processor=" ".join(breach.processor.split()),
        data=_data_categories(breach=breach, laboratory=laboratory, language=language),
        risks=risks,
        measures=breach_measures(breach=breach, laboratory=laboratory, language=language),
        advice=tuple(str(item) for item in advice(language, mask=None)),
        dpo_name=laboratory.dpo_name,
        dpo_email=laboratory.dpo_email,
        dpo_phone=phone_display(laboratory.dpo_phone, language),
        status_url=status_url(language),
        communication_contact=" ".join(laboratory.communication_contact.split()),
        french_only=tuple(missing),
    )
