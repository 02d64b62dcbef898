"""The report of a serious information-security incident to the ARS and CERT Santé (Agence du numérique en santé).

Health establishments, medical laboratories among them, report such incidents « sans délai » (Code de la santé
publique, art. L.1111-8-2; decree 2022-715) on the national portal for adverse health events (portail de
signalement des événements sanitaires indésirables), whose form follows the annex of the arrêté of 30 October
2017: the declarant, the incident, its impacts, the measures taken, the other authorities told. This module
reads a case file into that order (plain JSON); `labs.sheets` prints it, and an ARS or CERT Santé notification
keeps it frozen as sent (`AuthorityNotification.snapshot`). Counts only: no patient-level data.
"""

from __future__ import annotations

from typing import Any

from .deadlines import format_paris
from .filings import AuthorityNotification, BreachLaboratory
from .selectors import plain_json
from .snapshots import iso, moment, snapshot_value

REPORT_FORMAT = "notifier.ars-cert-sante-report/1"
REPORTED_TO = (AuthorityNotification.Authority.ARS, AuthorityNotification.Authority.CERT_SANTE)
NOT_TRACKED = "non suivi dans notifier : à préciser sur le portail"

# The report's items, in the portal form's order: (section, [(path in the report, label)]).
ARS_ITEMS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "1. Déclarant",
        [
            ("declarant.name", "Établissement (raison sociale)"),
            ("declarant.kind", "Type de structure"),
            ("declarant.finess_ej", "N° FINESS juridique (EJ)"),
            ("declarant.finess_eg", "N° FINESS géographique (EG)"),
            ("declarant.address", "Adresse"),
            ("declarant.contact", "Personne à contacter (DPO)"),
            ("declarant.director", "Directeur ou représentant légal"),
        ],
    ),
    (
        "2. L'incident",
        [
            ("incident.discovered_at_paris", "Date et heure de détection"),
            ("incident.started_at_paris", "Date de survenue (début)"),
            ("incident.ended_at_paris", "Fin de l'incident"),
            ("incident.aware_at_paris", "Connaissance par l'établissement"),
            ("incident.kind", "Type d'incident"),
            ("incident.origin", "Origine"),
            ("incident.origin_text", "Origine : précisions"),
            ("incident.processor", "Prestataire ou sous-traitant en cause"),
            ("incident.processor_notice_received_at_paris", "Alerte du prestataire reçue le"),
            ("incident.discovery", "Circonstances de la détection"),
            ("incident.description", "Description de l'incident"),
        ],
    ),
    (
        "3. Impacts",
        [
            ("impacts.care", "Sur la prise en charge des patients (sécurité des soins)"),
            ("impacts.operations", "Sur le fonctionnement de l'établissement"),
            ("impacts.confidentiality", "Atteinte à la confidentialité des données"),
            ("impacts.integrity", "Atteinte à l'intégrité des données"),
            ("impacts.availability", "Atteinte à la disponibilité des données"),
            ("impacts.health_data", "Données de santé concernées"),
            ("impacts.data_categories", "Catégories de données"),
            ("impacts.patients_estimate", "Nombre de patients concernés (estimation)"),
            ("impacts.records_estimate", "Nombre d'enregistrements (estimation)"),
            ("impacts.minors_estimate", "Dont mineurs (estimation)"),
            ("impacts.others", "Autres personnes concernées"),
            ("impacts.consequences", "Conséquences probables pour les personnes"),
        ],
    ),
    (
        "4. Mesures prises",
        [
            ("measures", "Mesures prises ou envisagées"),
            ("patients_informed", "Information des patients"),
        ],
    ),
    ("5. Autres autorités informées", [("other_reports", "Signalements et notifications")]),
]

# What the portal asks and the case file may still lack: listed « à compléter » on the sheet.
REQUIRED = [
    ("declarant.finess_ej", "N° FINESS juridique (EJ)"),
    ("declarant.finess_eg", "N° FINESS géographique (EG)"),
    ("declarant.contact", "personne à contacter"),
    ("incident.discovered_at_paris", "date de détection"),
    ("incident.kind", "type d'incident (confidentialité, intégrité, disponibilité)"),
    ("incident.origin", "origine"),
    ("incident.description", "description de l'incident"),
    ("impacts.patients_estimate", "nombre de patients concernés"),
    ("measures", "mesures prises"),
]

INCIDENT_KINDS = {
    "confidentialité": "atteinte à la confidentialité (fuite ou divulgation de données)",
    "intégrité": "atteinte à l'intégrité (altération de données)",
    "disponibilité": "atteinte à la disponibilité (perte ou indisponibilité)",
}


def ars_report(case_file: BreachLaboratory, *, notification: AuthorityNotification | None = None) -> dict[str, Any]:
    """The case file read along the ARS / CERT Santé report form, as plain JSON; with `notification`, the report
    as sent to that authority (it is then left out of the "other authorities" it lists)."""
    lab, breach, cf = case_file.laboratory, case_file.breach, case_file
    report: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "report": _sent(notification),
        "declarant": {
            "name": lab.name,
            "kind": "Laboratoire de biologie médicale",
            "finess_ej": lab.finess_ej,
            "finess_eg": lab.finess_eg,
            "address": " ".join(filter(None, [lab.address_line, lab.postcode, lab.city])),
            "contact": _person(lab.dpo_name, "DPO", lab.dpo_email, lab.dpo_phone),
            "director": _person(lab.legal_representative_name, lab.legal_representative_title),
        },
        "incident": {
            **moment("discovered_at", cf.discovered_at),
            **moment("started_at", cf.started_at),
            **moment("ended_at", cf.ended_at),
            "ended_at_paris": format_paris(cf.ended_at) or ("en cours ou inconnue" if cf.started_at else ""),
            **moment("aware_at", cf.aware_at),
            "kind": [INCIDENT_KINDS[nature] for nature in cf.natures],
            "origin": cf.get_cause_display() if cf.cause else "",
            "origin_text": cf.cause_text,
            "processor": breach.processor,
            **moment("processor_notice_received_at", cf.processor_notice_received_at),
            "discovery": cf.discovery,
            "description": cf.description or breach.description,
        },
        "impacts": {
            "care": NOT_TRACKED,
            "operations": NOT_TRACKED,
            "confidentiality": cf.nature_confidentiality,
            "integrity": cf.nature_integrity,
            "availability": cf.nature_availability,
            "health_data": cf.health_data,
            "data_categories": cf.data_categories,
            "patients_estimate": cf.people_estimate,
            "records_estimate": cf.records_estimate,
            "minors_estimate": cf.minors_estimate,
            "others": " — ".join(
                str(part) for part in (cf.others_description, cf.others_estimate) if part not in ("", None)
            ),
            "consequences": [*cf.consequence_labels, *([cf.consequences_text] if cf.consequences_text else [])],
        },
        "measures": [
            {
                "at": iso(m.recorded_at),
                "at_paris": format_paris(m.recorded_at),
                "kind": m.get_kind_display(),
                "text": m.text,
            }
            for m in cf.measures.all()
        ],  # fmt: skip
        "patients_informed": _informed(cf),
        "other_reports": _other_reports(cf, notification),
    }
    report["missing"] = [label for path, label in REQUIRED if _empty(snapshot_value(report, path))]
    return plain_json(report)


def _sent(notification: AuthorityNotification | None) -> dict[str, Any] | None:
    if notification is None:
        return None
    return {
        "authority": notification.authority,
        "authority_label": notification.get_authority_display(),
        **moment("notified_at", notification.notified_at),
        "reference": notification.reference,
    }


def _person(name: str, title: str = "", email: str = "", phone: str = "") -> dict[str, str] | str:
    if not name:
        return ""
    return {"name": name, "title": title, "email": email, "phone": phone}


def _informed(cf: BreachLaboratory) -> str:
    text = str(cf.get_people_informed_display())
    if cf.people_informed_count:
        text += f" — {cf.people_informed_count} personne(s)"
    if cf.people_informed_first_at:
        text += f", à partir du {format_paris(cf.people_informed_first_at)}"
    return text


def _other_reports(cf: BreachLaboratory, notification: AuthorityNotification | None) -> list[dict[str, Any]]:
    reports = [
        {"authority": "CNIL", "name": f"CNIL (notification {f.get_kind_display()} n°{f.sequence})",
         "at": iso(f.submitted_at), "at_paris": format_paris(f.submitted_at), "reference": f.cnil_reference}
        for f in cf.filings.all()
    ]  # fmt: skip
    reports += [
        {"authority": a.get_authority_display(), "name": a.authority_name or a.get_authority_display(),
         "at": iso(a.notified_at), "at_paris": format_paris(a.notified_at), "reference": a.reference}
        for a in cf.authority_notifications.all()
        if notification is None or a.pk != notification.pk
    ]  # fmt: skip
    return reports


def _empty(value: Any) -> bool:
    return value in (None, "", [], {})


def authority_report_snapshot(notification: AuthorityNotification) -> dict[str, Any] | None:
    """The report frozen on an ARS or CERT Santé notification when it is recorded; None for other authorities."""
    if notification.authority not in REPORTED_TO:
        return None
    return ars_report(notification.case_file, notification=notification)
