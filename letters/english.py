"""The breach's texts in the letter's language: an English letter prints the English title, description and
measures; where one was not written it prints the French one, and says so (never silently).

`english_texts_missing(breach, laboratory)` lists what an English letter would print in French: the
preview shows it (« version anglaise manquante ») and a launch gate can refuse English letters until the
list is empty.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone


@dataclass(frozen=True)
class Text:
    """One breach text in the letter's language; `missing` names it when the French had to stand in."""

    text: str
    missing: str = ""


def _clean(value: object) -> str:
    return " ".join(str(value or "").split())


def case_file_of(breach: object, laboratory: object) -> object | None:
    """The laboratory's own Art. 33 case file for this breach (labs.BreachLaboratory), when there is one."""
    manager = getattr(breach, "case_files", None)
    if manager is None or not hasattr(manager, "filter"):
        return None
    return manager.filter(laboratory=laboratory).first()


def measure_entries(case_file: object | None) -> list[object]:
    """The case file's measures (labs.BreachMeasure), oldest first."""
    manager = getattr(case_file, "measures", None) if case_file is not None else None
    return list(manager.all()) if hasattr(manager, "all") else []


def _recorded_on(entry: object) -> str:
    at = getattr(entry, "recorded_at", None)
    if isinstance(at, dt.datetime):
        at = timezone.localtime(at) if timezone.is_aware(at) else at
        return f" du {at:%d/%m/%Y}"
    return ""


def breach_title(breach: object, language: str) -> Text:
    return _translated(_clean(breach.title), _clean(getattr(breach, "title_en", "")), language, "titre de la violation")


def breach_description(breach: object, language: str) -> Text:
    french = str(getattr(breach, "description", "") or "").strip()
    english = str(getattr(breach, "description_en", "") or "").strip()
    return _translated(french, english, language, "description de la violation")


def measure_text(entry: object, language: str) -> Text:
    french = _clean(getattr(entry, "text", ""))
    english = _clean(getattr(entry, "text_en", ""))
    return _translated(french, english, language, "mesure" + _recorded_on(entry))


def _translated(french: str, english: str, language: str, label: str) -> Text:
    if language != "en" or not french:
        return Text(french)
    if english:
        return Text(english)
    return Text(french, missing=label)


def english_texts_missing(breach: object, laboratory: object) -> list[str]:
    """What an English letter of `laboratory` for `breach` would print in French, in French words
    (« titre de la violation », « mesure du 04/11/2026 »); [] when every text has its English version."""
    texts = [breach_title(breach, "en"), breach_description(breach, "en")]
    texts += [measure_text(entry, "en") for entry in measure_entries(case_file_of(breach, laboratory))]
    return [text.missing for text in texts if text.missing]
