"""What a CNIL filing freezes: the snapshot of the case file (JSON, along the CNIL form's sections), the text
sent, and what changed since the previous filing (Art. 33(4): information in phases).

Pure reads of a case file; `labs.services.cnil_filing_record` stores their results on the filing, once.
"""

from __future__ import annotations

from typing import Any

from .deadlines import format_paris
from .models import BreachLaboratory
from .selectors import case_file_missing, plain_json

SNAPSHOT_FORMAT = "notifier.cnil-filing/3"

# The filed items, in the CNIL form's order: (section, [(path in the snapshot, label)]). The text sent and the
# diff between two filings both read this list, so they name the same items the same way.
FILING_ITEMS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "1. Organisme",
        [
            ("organisation.name", "Raison sociale"),
            ("organisation.siren", "SIREN"),
            ("organisation.finess_ej", "FINESS (EJ)"),
            ("organisation.address", "Adresse"),
        ],
    ),
    (
        "2. Personne à contacter et représentant légal",
        [
            ("contacts.contact_person", "Contact (DPO, art. 33(3)(b))"),
            ("contacts.legal_representative", "Représentant légal"),
        ],
    ),
    (
        "3. La violation",
        [
            ("breach.title", "Intitulé"),
            ("breach.processor", "Sous-traitant"),
            ("breach.processor_notice_received_at_paris", "Avis du sous-traitant reçu le"),
            ("breach.aware_at_paris", "Connaissance de la violation"),
            ("breach.due_at_paris", "Échéance (72 h)"),
            ("breach.started_at_paris", "Début de la violation"),
            ("breach.ended_at_paris", "Fin de la violation"),
            ("breach.discovered_at_paris", "Découverte de la violation"),
            ("breach.discovery", "Circonstances de la découverte"),
            ("breach.nature", "Nature"),
            ("breach.cause", "Origine (cause)"),
            ("breach.cause_text", "Cause : précisions"),
            ("breach.description", "Description détaillée"),
        ],
    ),
    (
        "4. Données et personnes concernées (nombres approximatifs : estimations)",
        [
            ("data_and_people.data_categories", "Catégories de données"),
            ("data_and_people.health_data", "Données de santé (art. 9)"),
            ("data_and_people.people_estimate", "Patients : personnes (estimation)"),
            ("data_and_people.records_estimate", "Patients : enregistrements (estimation)"),
            ("data_and_people.minors_estimate", "Dont mineurs : personnes (estimation)"),
            ("data_and_people.minors_records_estimate", "Dont mineurs : enregistrements (estimation)"),
            ("data_and_people.others_description", "Autres personnes concernées"),
            ("data_and_people.others_estimate", "Autres : personnes (estimation)"),
            ("data_and_people.others_records_estimate", "Autres : enregistrements (estimation)"),
        ],
    ),
    (
        "5. Conséquences probables",
        [("consequences.list", "Conséquences"), ("consequences.text", "Précisions")],
    ),
    ("6. Mesures prises ou proposées", [("measures", "Mesures")]),
    (
        "7. Information des personnes (art. 34)",
        [
            ("information_of_people.high_risk", "Risque élevé"),
            ("information_of_people.justification", "Justification"),
            ("information_of_people.exemption", "Exemption art. 34(3)"),
            ("information_of_people.exemption_justification", "Justification de l'exemption"),
            ("information_of_people.public_communications", "Communications publiques (art. 34(3)(c))"),
            ("information_of_people.informed", "Personnes informées"),
            ("information_of_people.informed_count", "Personnes informées : nombre"),
            ("information_of_people.informed_first_at_paris", "Premier envoi"),
            ("information_of_people.informed_last_at_paris", "Dernier envoi"),
            ("information_of_people.informed_channels", "Moyens"),
            ("information_of_people.cnil_instructions", "Instructions de la CNIL"),
        ],
    ),
    ("8. Autres autorités informées", [("other_authorities", "Autorités")]),
]


def filing_snapshot(case_file: BreachLaboratory, **filing: Any) -> dict[str, Any]:
    """What is filed, along the CNIL teleservice's sections, with the items still « à compléter »; frozen as JSON."""
    return plain_json(_filing_snapshot(case_file, **filing))


def _filing_snapshot(case_file: BreachLaboratory, **filing: Any) -> dict[str, Any]:
    lab, breach, cf = case_file.laboratory, case_file.breach, case_file
    return {
        "format": SNAPSHOT_FORMAT,
        "filing": filing,
        "missing": case_file_missing(cf),
        "organisation": {
            "name": lab.name,
            "siren": lab.siren,
            "finess_ej": lab.finess_ej,
            "address": " ".join(filter(None, [lab.address_line, lab.postcode, lab.city])),
        },
        "contacts": {
            "contact_person": {"name": lab.dpo_name, "role": "DPO", "email": lab.dpo_email, "phone": lab.dpo_phone},
            "legal_representative": {"name": lab.legal_representative_name, "title": lab.legal_representative_title},
        },
        "breach": {
            "title": breach.title,
            "processor": breach.processor,
            **moment("processor_notice_received_at", cf.processor_notice_received_at),
            **moment("aware_at", cf.aware_at),
            **moment("due_at", cf.due_at),
            **moment("started_at", cf.started_at),
            **moment("ended_at", cf.ended_at),
            "ended_at_paris": format_paris(cf.ended_at) or ("en cours ou inconnue" if cf.started_at else ""),
            **moment("discovered_at", cf.discovered_at),
            "nature": cf.natures,
            "cause": cf.get_cause_display() if cf.cause else "",
            "cause_text": cf.cause_text,
            "discovery": cf.discovery,
            "description": cf.description,
        },
        "data_and_people": {
            "data_categories": cf.data_categories,
            "health_data": cf.health_data,
            "people_estimate": cf.people_estimate,
            "records_estimate": cf.records_estimate,
            "minors_estimate": cf.minors_estimate,
            "minors_records_estimate": cf.minors_records_estimate,
            "others_description": cf.others_description,
            "others_estimate": cf.others_estimate,
            "others_records_estimate": cf.others_records_estimate,
            "estimates": True,
        },
        "consequences": {"list": cf.consequence_labels, "text": cf.consequences_text},
        "measures": [
            {
                "at": iso(m.recorded_at),
                "at_paris": format_paris(m.recorded_at),
                "kind": m.get_kind_display(),
                "text": m.text,
            }
            for m in cf.measures.all()
        ],  # fmt: skip
        "information_of_people": {
            "high_risk": cf.get_high_risk_display(),
            "justification": cf.high_risk_justification,
            "exemption": cf.get_exemption_display(),
            "exemption_justification": cf.exemption_justification,
            "public_communications": [
                {
                    "at": iso(p.published_at),
                    "at_paris": format_paris(p.published_at),
                    "medium": p.get_medium_display(),
                    "where": p.where,
                    "url": p.url,
                }
                for p in cf.public_communications.all()
            ],
            "informed": cf.get_people_informed_display(),
            "informed_count": cf.people_informed_count,
            **{f"informed_{k}": v for k, v in moment("first_at", cf.people_informed_first_at).items()},
            **{f"informed_{k}": v for k, v in moment("last_at", cf.people_informed_last_at).items()},
            "informed_channels": cf.people_informed_channels,
            "cnil_instructions": cf.cnil_instructions,
        },
        "other_authorities": [
            {
                "authority": a.get_authority_display(),
                "name": a.authority_name,
                "at": iso(a.notified_at),
                "at_paris": format_paris(a.notified_at),
                "reference": a.reference,
            }
            for a in cf.authority_notifications.all()
        ],  # fmt: skip
    }


def moment(name: str, value: Any) -> dict[str, Any]:
    """A date as ISO (machines) and as Paris time (people), side by side in a snapshot."""
    return {name: iso(value), f"{name}_paris": format_paris(value)}


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


# Items filed under another path by an earlier snapshot format (format 2 held one public notice).
LEGACY_PATHS = {"information_of_people.public_communications": "information_of_people.public_notice"}


def snapshot_value(snapshot: dict[str, Any], path: str) -> Any:
    """The value at a dotted path ("breach.aware_at"); None where the path leads nowhere."""
    value: Any = snapshot
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None and path in LEGACY_PATHS:
        return snapshot_value(snapshot, LEGACY_PATHS[path])
    return value


def item_text(value: Any) -> str:
    """One filed item as the text a person reads (and the CNIL's form receives)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, list):
        return "\n".join(item_text(item) for item in value)
    if isinstance(value, dict):
        if "text" in value and "kind" in value:  # a measure
            return f"{value.get('at_paris') or value.get('at')} — {value['kind']} : {value['text']}"
        if "medium" in value:  # a public communication
            parts = [value.get("at_paris") or value.get("at"), value["medium"], value.get("where"), value.get("url")]
            return " — ".join(str(part) for part in parts if part)
        if "authority" in value:
            name = value.get("name") or value["authority"]
            reference = f", réf. {value['reference']}" if value.get("reference") else ""
            return f"{name} : informée le {value.get('at_paris') or value.get('at')}{reference}"
        parts = [value.get(key) for key in ("name", "title", "where", "at_paris", "email", "phone", "url")]
        return " — ".join(str(part) for part in parts if part)
    return str(value)


def snapshot_items(
    snapshot: dict[str, Any], sections: list[tuple[str, list[tuple[str, str]]]] = FILING_ITEMS
) -> list[dict[str, Any]]:
    """The snapshot's items by section, as text: [{"section", "items": [{"path", "label", "value"}]}]; the CNIL
    form's sections by default, another authority's (the ARS / CERT Santé report) when given."""
    return [
        {"section": section, "items": [{"path": p, "label": label, "value": item_text(snapshot_value(snapshot, p))}
                                        for p, label in items]}
        for section, items in sections
    ]  # fmt: skip


def snapshot_changes(previous: dict[str, Any] | None, current: dict[str, Any]) -> list[dict[str, str]]:
    """What changed from the previous filing's snapshot to this one, item by item (before → after)."""
    if not previous:
        return []
    changes = []
    for _section, items in FILING_ITEMS:
        for path, label in items:
            before, after = item_text(snapshot_value(previous, path)), item_text(snapshot_value(current, path))
            if before != after:
                changes.append({"path": path, "label": label, "before": before, "after": after})
    return changes


def filing_text(snapshot: dict[str, Any]) -> str:
    """The text sent, rendered once from the snapshot at filing time and kept with the filing."""
    meta = snapshot.get("filing", {})
    lines = [
        f"Notification de violation de données à la CNIL — {meta.get('kind_label', '')} n°{meta.get('sequence', '')}",
        f"Déposée le {meta.get('submitted_at_paris', '')}",
    ]
    initial = meta.get("initial")
    if initial:
        lines.append(
            f"Complète la notification initiale référence CNIL {initial.get('cnil_reference') or '—'} "
            f"du {initial.get('submitted_at_paris', '')}"
        )
    if meta.get("late"):
        lines.append(f"Notification hors délai — motifs du retard (art. 33(1)) : {meta.get('delay_reasons', '')}")
    missing = snapshot.get("missing") or []
    if missing:
        lines.append("")
        lines.append("Éléments à compléter (art. 33(4), notification complémentaire à suivre) :")
        lines += [f"- {label}" for label in missing]
    changes = meta.get("changes") or []
    if changes:
        lines.append("")
        lines.append("Modifications depuis la notification précédente :")
        lines += [f"- {c['label']} : « {c['before'] or '—'} » → « {c['after'] or '—'} »" for c in changes]
    for section in snapshot_items(snapshot):
        lines.append("")
        lines.append(section["section"])
        for item in section["items"]:
            value = item["value"] or "—"
            lines.append(f"{item['label']} : {value}")
    return "\n".join(lines) + "\n"
