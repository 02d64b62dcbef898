"""Reads of labs: estimates from the import, completeness of a case file, the snapshot filed, the register."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db.models import Count, QuerySet, Sum
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .access import scope_queryset
from .deadlines import format_paris
from .models import Breach, BreachLaboratory, BreachMeasure, CnilFiling, Laboratory

# Display labels for the patients app's exposure codes (labs must not import patients: codes only).
DATA_CATEGORY_LABELS = {
    "identity": "identité (nom, prénom, civilité)",
    "birth_date": "date de naissance",
    "nir": "numéro de sécurité sociale (NIR)",
    "postal_address": "adresse postale",
    "email": "adresse électronique",
    "phone": "numéros de téléphone",
    "blood_group": "groupe sanguin",
    "prescriber": "médecin prescripteur",
    "insurer": "organisme d'assurance maladie ou mutuelle",
    "medical_comment": "commentaires médicaux (santé)",
    "portal_password": "mots de passe du portail de résultats",
    "other_admin": "autres données administratives",
}


def laboratory_import_estimates(*, breach: Breach, laboratory: Laboratory) -> dict[str, Any]:
    """People, records, categories and health-data flag of a laboratory's imported patients, counted in the DB.

    The Patient model is resolved lazily through the app registry (labs sits below patients)."""
    try:
        patient_model = apps.get_model("patients", "Patient")
    except LookupError:
        return {"people": 0, "records": 0, "categories": [], "health_data": False}
    rows = patient_model.objects.filter(breach=breach, laboratory=laboratory)
    totals = rows.aggregate(people=Count("pk"), records=Sum("record_count"))
    mask = 0
    for value in rows.values_list("exposure_mask", flat=True).distinct():  # a handful of distinct combinations
        mask |= value
    # The patient model knows its own code names; an unsaved instance turns the union into them.
    categories = list(patient_model(exposure_mask=mask).exposure_categories) if mask else []
    return {
        "people": totals["people"] or 0,
        "records": totals["records"] or 0,
        "categories": categories,
        "health_data": rows.exclude(sensitive_mask=0).exists() or "medical_comment" in categories,
    }


def data_categories_text(codes: list[str]) -> str:
    return ", ".join(DATA_CATEGORY_LABELS.get(code, code) for code in codes)


# Art. 33(3) and CNIL-form elements, in the order of the form; each is (code, label, is_missing(case_file)).
def _missing_checks(cf: BreachLaboratory) -> list[tuple[str, str, bool]]:
    lab = cf.laboratory
    exemption_needs_text = cf.exemption != BreachLaboratory.Exemption.NONE and not cf.exemption_justification.strip()
    return [
        ("siren", _("SIREN de l'organisme"), not lab.siren),
        (
            "contact",
            _("contact : DPO (nom et courriel ou téléphone)"),
            not (lab.dpo_name and (lab.dpo_email or lab.dpo_phone)),
        ),
        ("legal_representative", _("représentant légal"), not lab.legal_representative_name),
        ("nature", _("nature de la violation (confidentialité, intégrité, disponibilité)"), not cf.natures),
        ("discovery", _("circonstances de la découverte"), not cf.discovery.strip()),
        ("description", _("description détaillée"), not cf.description.strip()),
        ("data_categories", _("catégories de données"), not cf.data_categories.strip()),
        ("people_estimate", _("nombre approximatif de personnes"), cf.people_estimate is None),
        ("records_estimate", _("nombre approximatif d'enregistrements"), cf.records_estimate is None),
        ("consequences", _("conséquences probables"), not (cf.consequences or cf.consequences_text.strip())),
        ("measures", _("mesures prises ou proposées"), not cf.measures.exists()),
        (
            "high_risk",
            _("décision sur le risque élevé, justifiée"),
            cf.high_risk == BreachLaboratory.HighRisk.UNDECIDED or not cf.high_risk_justification.strip(),
        ),
        ("exemption_justification", _("justification de l'exemption art. 34(3)"), exemption_needs_text),
        (
            "public_notice",
            _("communication publique (support et date) pour l'exemption (c)"),
            cf.exemption == BreachLaboratory.Exemption.C and not (cf.public_notice_where and cf.public_notice_at),
        ),
    ]


def case_file_checklist(case_file: BreachLaboratory) -> list[dict[str, Any]]:
    """Every element with whether it is present: the page shows it, a filing needs all present."""
    return [{"code": c, "label": label, "ok": not missing} for c, label, missing in _missing_checks(case_file)]


def case_file_missing(case_file: BreachLaboratory) -> list[str]:
    """Labels of the Art. 33(3) elements still missing (empty when the case file can be filed)."""
    return [str(label) for _code, label, missing in _missing_checks(case_file) if missing]


def _plain(value: Any) -> Any:
    """Lazy translations turned into text (the snapshot is JSON, frozen in the language of the filing)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return str(value) if isinstance(value, Promise) else value


def filing_snapshot(case_file: BreachLaboratory, **filing: Any) -> dict[str, Any]:
    """What is filed, along the CNIL teleservice's sections; frozen into the filing as JSON."""
    return _plain(_filing_snapshot(case_file, **filing))


def _filing_snapshot(case_file: BreachLaboratory, **filing: Any) -> dict[str, Any]:
    lab, breach = case_file.laboratory, case_file.breach
    return {
        "format": "notifier.cnil-filing/1",
        "filing": filing,
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
            "processor_notice_received_at": _iso(case_file.processor_notice_received_at),
            "aware_at": _iso(case_file.aware_at),
            "aware_at_paris": format_paris(case_file.aware_at),
            "processor_notice_received_at_paris": format_paris(case_file.processor_notice_received_at),
            "due_at": _iso(case_file.due_at),
            "due_at_paris": format_paris(case_file.due_at),
            "nature": case_file.natures,
            "discovery": case_file.discovery,
            "description": case_file.description,
        },
        "data_and_people": {
            "data_categories": case_file.data_categories,
            "health_data": case_file.health_data,
            "people_estimate": case_file.people_estimate,
            "records_estimate": case_file.records_estimate,
            "estimates": True,
        },
        "consequences": {"list": case_file.consequence_labels, "text": case_file.consequences_text},
        "measures": [
            {
                "at": _iso(m.recorded_at),
                "at_paris": format_paris(m.recorded_at),
                "kind": m.get_kind_display(),
                "text": m.text,
            }
            for m in case_file.measures.all()
        ],
        "information_of_people": {
            "high_risk": case_file.get_high_risk_display(),
            "justification": case_file.high_risk_justification,
            "exemption": case_file.get_exemption_display(),
            "exemption_justification": case_file.exemption_justification,
            "public_notice": {
                "where": case_file.public_notice_where,
                "at": _iso(case_file.public_notice_at),
                "at_paris": format_paris(case_file.public_notice_at),
                "url": case_file.public_notice_url,
            },
            "cnil_instructions": case_file.cnil_instructions,
        },
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def measures_for(*, breach: Breach, laboratory: Laboratory) -> list[dict[str, Any]]:
    """The laboratory's measures for a breach, oldest first, for the letters' "what we did" block."""
    rows = BreachMeasure.objects.filter(case_file__breach=breach, case_file__laboratory=laboratory)
    return [{"at": m.recorded_at, "kind": m.kind, "text": m.text} for m in rows.order_by("recorded_at", "id")]


def case_files_for(user: Any) -> QuerySet[BreachLaboratory]:
    return scope_queryset(
        BreachLaboratory.objects.select_related("breach", "laboratory", "cnil_decided_by"), user, "laboratory"
    )


REGISTER_COLUMNS = [
    ("breach", "violation"),
    ("laboratory", "laboratoire"),
    ("aware_at", "connaissance (Paris)"),
    ("due_at", "échéance CNIL (Paris)"),
    ("nature", "nature"),
    ("data_categories", "catégories de données"),
    ("people_estimate", "personnes (estimation)"),
    ("records_estimate", "enregistrements (estimation)"),
    ("consequences", "conséquences"),
    ("measures", "mesures"),
    ("decision", "décision de notification"),
    ("decided_by", "décidé par"),
    ("decided_at", "décidé le (Paris)"),
    ("decision_reason", "motif"),
    ("first_filed_at", "première notification (Paris)"),
    ("filed_late", "hors délai"),
    ("filings", "notifications (références)"),
    ("high_risk", "risque élevé"),
    ("exemption", "exemption art. 34(3)"),
]


def register_rows(*, user: Any, breach: Breach | None = None) -> list[dict[str, Any]]:
    """The Art. 33(5) register: every case file the user may see, notified or not (who decided, when, why)."""
    qs = case_files_for(user).prefetch_related("measures", "filings").order_by("breach__aware_at", "laboratory__code")
    if breach is not None:
        qs = qs.filter(breach=breach)
    return [register_row(cf) for cf in qs]


def register_row(cf: BreachLaboratory) -> dict[str, Any]:
    """One line of the register for a case file (prefetch measures and filings when reading many)."""
    return _plain(_register_row(cf))


def _register_row(cf: BreachLaboratory) -> dict[str, Any]:
    filings: list[CnilFiling] = list(cf.filings.all())
    return {
        "breach": cf.breach.title,
        "laboratory": str(cf.laboratory),
        "aware_at": format_paris(cf.aware_at),
        "due_at": format_paris(cf.due_at),
        "nature": ", ".join(cf.natures),
        "data_categories": cf.data_categories,
        "people_estimate": cf.people_estimate,
        "records_estimate": cf.records_estimate,
        "consequences": "; ".join(filter(None, [*cf.consequence_labels, cf.consequences_text])),
        "measures": "; ".join(f"{m.recorded_at:%d/%m/%Y} {m.text}" for m in cf.measures.all()),
        "decision": cf.get_cnil_decision_display(),
        "decided_by": cf.cnil_decided_by.get_username() if cf.cnil_decided_by else "",
        "decided_at": format_paris(cf.cnil_decided_at),
        "decision_reason": cf.cnil_decision_reason,
        "first_filed_at": format_paris(cf.first_filed_at),
        "filed_late": {None: "", True: "oui", False: "non"}[cf.filed_late],
        "filings": ", ".join(f"{f.get_kind_display()} {f.cnil_reference or '#' + str(f.sequence)}" for f in filings),
        "high_risk": cf.get_high_risk_display(),
        "exemption": cf.get_exemption_display(),
    }
