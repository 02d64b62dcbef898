"""A CNIL filing exported in the structure of the EDPB common template for Art. 33 notifications (JSON).

The EDPB adopted a draft common template in June 2026 (about 125 questions, predefined answers, sections: type
of notification; controller, reporting person and DPO; nature of the breach; likely consequences; measures;
communication to the data subjects). Its question numbers and predefined values below are ours where the
draft's could not be checked: `docs/edpb-mapping.md` says which (a test keeps that table and `EDPB_QUESTIONS`
equal). The export reads the filing's frozen snapshot only (what was filed), and is validated against
`schemas/edpb_art33.schema.json` before anyone gets it: an invalid export is refused, never served.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import translation

from .filings import CONSEQUENCES, AuthorityNotification, BreachLaboratory, BreachMeasure, CnilFiling
from .snapshots import snapshot_value

TEMPLATE_ID = "edpb-art33-common-template"
TEMPLATE_VERSION = "draft-2026-06"
EXPORT_FORMAT = "notifier.edpb-art33/1"
SCHEMA_PATH = Path(settings.BASE_DIR) / "schemas" / "edpb_art33.schema.json"

SECTIONS = {
    "A": "Type of notification",
    "B": "Controller, reporting person and data protection officer",
    "C": "Nature of the personal data breach",
    "D": "Likely consequences",
    "E": "Measures taken or proposed",
    "F": "Communication to the data subjects",
    "G": "Other authorities informed",
}


class EdpbExportError(Exception):
    """The export does not satisfy the schema: refused, with a French message for the person who asked."""


# --- app values → the template's predefined values ------------------------------------------------------
@cache
def _labels_to_codes(choices_key: str) -> dict[str, str]:
    """Display label (in every language the app speaks) → code: the snapshot keeps the labels it showed."""
    choices = {
        "cause": BreachLaboratory.Cause.choices,
        "high_risk": BreachLaboratory.HighRisk.choices,
        "informed": BreachLaboratory.Informed.choices,
        "exemption": BreachLaboratory.Exemption.choices,
        "measure": BreachMeasure.Kind.choices,
        "authority": AuthorityNotification.Authority.choices,
        "consequence": CONSEQUENCES,
    }[choices_key]
    labels: dict[str, str] = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            labels.update({str(label): code for code, label in choices})
    return labels


NATURE_VALUES = {"confidentialité": "confidentiality", "intégrité": "integrity", "disponibilité": "availability"}
CAUSE_VALUES = {
    "unknown": "unknown",
    "external_malicious": "external_malicious",
    "external_accidental": "external_accidental",
    "internal_malicious": "internal_malicious",
    "internal_accidental": "internal_accidental",
    "other": "other",
}
CONSEQUENCE_VALUES = {
    "phishing": "phishing_or_social_engineering",
    "identity_theft": "identity_theft_or_fraud",
    "fraud": "financial_loss",
    "health_disclosure": "disclosure_of_special_category_data",
    "discrimination": "discrimination_or_reputational_damage",
    "account_takeover": "loss_of_control_over_accounts",
    "distress": "psychological_harm",
}
HIGH_RISK_VALUES = {"yes": "yes", "no": "no", "undecided": "not_yet_assessed"}
INFORMED_VALUES = {"done": "yes", "in_progress": "in_progress", "not_yet": "not_yet", "not_planned": "no"}
EXEMPTION_VALUES = {"none": "none", "a": "art_34_3_a", "b": "art_34_3_b", "c": "art_34_3_c"}
AUTHORITY_VALUES = {
    "ars": "health_authority",
    "cert_sante": "sectoral_csirt",
    "anssi": "national_cybersecurity_authority",
    "police": "law_enforcement",
    "other": "other",
}
NOTIFICATION_TYPE_VALUES = {"complete": "complete", "preliminary": "preliminary", "complementary": "follow_up"}


def _code(choices_key: str, label: Any, values: dict[str, str]) -> Any:
    """A label's predefined value; an unknown label is passed through as is, and the schema then refuses it."""
    if label in (None, ""):
        return None
    code = _labels_to_codes(choices_key).get(str(label))
    return values.get(code, label) if code is not None else label


# --- the questions ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Question:
    """One template question: where its answer comes from in the filing's snapshot, how it is converted."""

    id: str
    text: str
    source: str  # path in the snapshot (documented in docs/edpb-mapping.md), or "constant"
    answer: Callable[[dict[str, Any]], Any] | None = None  # default: the value at `source`, "" → null
    values: dict[str, str] = field(default_factory=dict)  # app value → predefined value (enumerations)

    @property
    def section(self) -> str:
        return self.id.split(".")[0]


def _or_none(value: Any) -> Any:
    return None if value in ("", [], {}) else value


def _notification_type(s: dict[str, Any]) -> str:
    if snapshot_value(s, "filing.kind") == CnilFiling.Kind.COMPLEMENTARY:
        return NOTIFICATION_TYPE_VALUES["complementary"]
    return NOTIFICATION_TYPE_VALUES["preliminary" if s.get("missing") else "complete"]


def _ongoing(s: dict[str, Any]) -> str:
    return "no" if snapshot_value(s, "breach.ended_at") else "unknown"


def _subject_categories(s: dict[str, Any]) -> list[str]:
    people = s.get("data_and_people") or {}
    categories = ["patients"]
    if people.get("minors_estimate"):
        categories.append("children")
    if people.get("others_description") or people.get("others_estimate"):
        categories.append("other")
    return categories


def _measures(kind: str) -> Callable[[dict[str, Any]], list[dict[str, Any]]]:
    def answer(s: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"date": m.get("at"), "description": m.get("text", "")}
            for m in s.get("measures") or []
            if _labels_to_codes("measure").get(str(m.get("kind"))) == kind
        ]

    return answer


def _first_publication(*keys: str) -> Callable[[dict[str, Any]], Any]:
    """The first public communication's first non-empty `keys` (snapshot format 3 lists the publications;
    format 2 held one public notice, read through snapshots.LEGACY_PATHS)."""

    def answer(s: dict[str, Any]) -> Any:
        publications = snapshot_value(s, "information_of_people.public_communications")
        first = publications[0] if isinstance(publications, list) and publications else publications
        if not isinstance(first, dict):
            return None
        return next((first[key] for key in keys if first.get(key)), None)

    return answer


def _authorities(s: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "authority": _code("authority", a.get("authority"), AUTHORITY_VALUES),
            "name": a.get("name") or a.get("authority") or "",
            "date": a.get("at"),
            "reference": a.get("reference") or "",
        }
        for a in s.get("other_authorities") or []
    ]


def _enum(path: str, choices_key: str, values: dict[str, str]) -> Callable[[dict[str, Any]], Any]:
    return lambda s: _code(choices_key, snapshot_value(s, path), values)


EDPB_QUESTIONS: list[Question] = [
    # A. Type of notification
    Question("A.1", "Type of notification", "filing.kind, missing", _notification_type, NOTIFICATION_TYPE_VALUES),
    Question("A.2", "Reference of the preliminary notification", "filing.initial.cnil_reference"),
    Question("A.3", "Date of the preliminary notification", "filing.initial.submitted_at"),
    Question("A.4", "Date and time of this notification", "filing.submitted_at"),
    Question("A.5", "Notification made later than 72 hours after awareness", "filing.late", lambda s: bool(snapshot_value(s, "filing.late"))),
    Question("A.6", "Reasons for the delay", "filing.delay_reasons"),
    Question("A.7", "Information to be provided later (Art. 33(4))", "missing", lambda s: list(s.get("missing") or [])),
    # B. Controller, contacts
    Question("B.1", "Name of the controller", "organisation.name"),
    Question("B.2", "National registration number of the controller", "organisation.siren"),
    Question("B.3", "Health establishment number (FINESS EJ)", "organisation.finess_ej"),
    Question("B.4", "Address of the controller", "organisation.address"),
    Question("B.5", "Country of establishment", "constant", lambda s: "FR"),
    Question("B.6", "Sector of activity", "constant", lambda s: "health"),
    Question("B.7", "Data protection officer or contact point: name", "contacts.contact_person.name"),
    Question("B.8", "Data protection officer or contact point: email", "contacts.contact_person.email"),
    Question("B.9", "Data protection officer or contact point: telephone", "contacts.contact_person.phone"),
    Question("B.10", "Legal representative: name", "contacts.legal_representative.name"),
    Question("B.11", "Legal representative: function", "contacts.legal_representative.title"),
    Question("B.12", "Processor involved in the breach", "breach.processor"),
    # C. Nature of the breach
    Question("C.1", "Title of the breach", "breach.title"),
    Question("C.2", "Date and time the breach started", "breach.started_at"),
    Question("C.3", "Is the breach ongoing?", "breach.ended_at", _ongoing, {"ended_at set": "no", "empty": "unknown"}),
    Question("C.4", "Date and time the breach ended", "breach.ended_at"),
    Question("C.5", "Date and time the breach was discovered", "breach.discovered_at"),
    Question("C.6", "Date and time the controller became aware of the breach", "breach.aware_at"),
    Question("C.7", "Date and time the processor informed the controller", "breach.processor_notice_received_at"),
    Question("C.8", "How the breach was discovered", "breach.discovery"),
    Question(
        "C.9", "Type of breach", "breach.nature",
        lambda s: [NATURE_VALUES.get(n, n) for n in snapshot_value(s, "breach.nature") or []], NATURE_VALUES,
    ),  # fmt: skip
    Question(
        "C.10", "Origin of the breach", "breach.cause",
        lambda s: _code("cause", snapshot_value(s, "breach.cause"), CAUSE_VALUES) or "unknown", CAUSE_VALUES,
    ),  # fmt: skip
    Question("C.11", "Origin of the breach: details", "breach.cause_text"),
    Question("C.12", "Description of the breach", "breach.description"),
    Question("C.13", "Categories of personal data concerned", "data_and_people.data_categories"),
    Question(
        "C.14", "Special categories of data (Art. 9): data concerning health", "data_and_people.health_data",
        lambda s: bool(snapshot_value(s, "data_and_people.health_data")),
    ),  # fmt: skip
    Question(
        "C.15", "Categories of data subjects", "data_and_people.minors_estimate, others_description",
        _subject_categories, {"patients": "patients", "minors": "children", "others": "other"},
    ),  # fmt: skip
    Question("C.16", "Approximate number of data subjects: patients", "data_and_people.people_estimate"),
    Question("C.17", "Approximate number of records: patients", "data_and_people.records_estimate"),
    Question("C.18", "Approximate number of data subjects: children among them", "data_and_people.minors_estimate"),
    Question("C.19", "Approximate number of records: children among them", "data_and_people.minors_records_estimate"),
    Question("C.20", "Other data subjects: description", "data_and_people.others_description"),
    Question("C.21", "Approximate number of data subjects: other", "data_and_people.others_estimate"),
    Question("C.22", "Approximate number of records: other", "data_and_people.others_records_estimate"),
    Question(
        "C.23", "Numbers are approximate (estimates)", "data_and_people.estimates",
        lambda s: bool(snapshot_value(s, "data_and_people.estimates")),
    ),  # fmt: skip
    # D. Likely consequences
    Question(
        "D.1", "Likely consequences for the data subjects", "consequences.list",
        lambda s: [_code("consequence", label, CONSEQUENCE_VALUES) for label in snapshot_value(s, "consequences.list") or []],
        CONSEQUENCE_VALUES,
    ),  # fmt: skip
    Question("D.2", "Likely consequences: description", "consequences.text"),
    # E. Measures
    Question("E.1", "Measures taken to address the breach", "measures[kind=taken]", _measures("taken")),
    Question("E.2", "Measures proposed", "measures[kind=proposed]", _measures("proposed")),
    # F. Communication to the data subjects
    Question(
        "F.1", "Is the breach likely to result in a high risk to the data subjects?", "information_of_people.high_risk",
        _enum("information_of_people.high_risk", "high_risk", HIGH_RISK_VALUES), HIGH_RISK_VALUES,
    ),  # fmt: skip
    Question("F.2", "Assessment of the risk: justification", "information_of_people.justification"),
    Question(
        "F.3", "Have the data subjects been informed?", "information_of_people.informed",
        _enum("information_of_people.informed", "informed", INFORMED_VALUES), INFORMED_VALUES,
    ),  # fmt: skip
    Question("F.4", "Number of data subjects informed", "information_of_people.informed_count"),
    Question("F.5", "Date of the first communication", "information_of_people.informed_first_at"),
    Question("F.6", "Date of the last communication", "information_of_people.informed_last_at"),
    Question("F.7", "Means of communication", "information_of_people.informed_channels"),
    Question(
        "F.8", "Reason for not communicating to the data subjects (Art. 34(3))", "information_of_people.exemption",
        _enum("information_of_people.exemption", "exemption", EXEMPTION_VALUES), EXEMPTION_VALUES,
    ),  # fmt: skip
    Question("F.9", "Reason for not communicating: justification", "information_of_people.exemption_justification"),
    Question("F.10", "Public communication: medium", "information_of_people.public_communications[0].medium", _first_publication("medium", "where")),
    Question("F.11", "Public communication: date", "information_of_people.public_communications[0].at", _first_publication("at")),
    Question("F.12", "Public communication: link", "information_of_people.public_communications[0].url", _first_publication("url")),
    Question("F.13", "Instructions of the supervisory authority (Art. 34(4))", "information_of_people.cnil_instructions"),
    # G. Other authorities
    Question("G.1", "Other authorities informed of the breach", "other_authorities", _authorities, AUTHORITY_VALUES),
]  # fmt: skip


def edpb_document(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The template's sections and answers from a filing's frozen snapshot (not validated: see edpb_export)."""
    sections: dict[str, dict[str, Any]] = {key: {"title": title, "answers": {}} for key, title in SECTIONS.items()}
    for question in EDPB_QUESTIONS:
        value = question.answer(snapshot) if question.answer else _or_none(snapshot_value(snapshot, question.source))
        sections[question.section]["answers"][question.id] = value
    meta = snapshot.get("filing") or {}
    return {
        "format": EXPORT_FORMAT,
        "template": {
            "id": TEMPLATE_ID,
            "version": TEMPLATE_VERSION,
            "note": "EDPB draft common template, June 2026: question numbers and predefined values per "
            "docs/edpb-mapping.md (those not checked against the draft are marked there).",
        },
        "source": {
            "snapshot_format": snapshot.get("format", ""),
            "filing_sequence": meta.get("sequence"),
            "supervisory_authority": "CNIL",
            "reference": meta.get("cnil_reference") or None,
        },
        "sections": sections,
    }


@cache
def edpb_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def edpb_errors(document: dict[str, Any]) -> list[str]:
    """Where the document breaks the schema, one line each ("sections.C.answers.C.10 : …")."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(edpb_schema())
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '(racine)'} : {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    ]


def edpb_export(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The validated export, or EdpbExportError saying in French which answers the template refuses."""
    document = edpb_document(snapshot)
    errors = edpb_errors(document)
    if errors:
        raise EdpbExportError(
            "Export au modèle EDPB refusé : le contenu déposé ne respecte pas le schéma du modèle "
            f"({len(errors)} écart(s) : {'; '.join(errors[:3])})."
        )
    return document


def edpb_export_json(filing: CnilFiling) -> str:
    """The filing (as filed: its frozen snapshot) in the EDPB template's structure, validated, as JSON text."""
    # The CNIL's case number may have come after the filing (set once on the row): the export names it.
    meta = {**(filing.snapshot.get("filing") or {}), "cnil_reference": filing.cnil_reference}
    snapshot = {**filing.snapshot, "filing": meta}
    return json.dumps(edpb_export(snapshot), ensure_ascii=False, indent=2)
