"""Reads of labs: estimates from the import, completeness of a case file, the snapshot filed, the register."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db.models import Count, Q, QuerySet, Sum
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .access import scope_queryset
from .deadlines import format_paris, in_paris
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
    """People, records (minors among them), categories and health-data flag of a laboratory's imported patients,
    counted in the DB.

    The Patient model is resolved lazily through the app registry (labs sits below patients); a minor is the
    importer's `is_minor` (minor on the import day): an estimate, as the filing says."""
    empty = {"people": 0, "records": 0, "minors": 0, "minors_records": 0, "categories": [], "health_data": False}
    try:
        patient_model = apps.get_model("patients", "Patient")
    except LookupError:
        return empty
    rows = patient_model.objects.filter(breach=breach, laboratory=laboratory)
    totals = rows.aggregate(
        people=Count("pk"),
        records=Sum("record_count"),
        minors=Count("pk", filter=Q(is_minor=True)),
        minors_records=Sum("record_count", filter=Q(is_minor=True)),
    )
    mask = 0
    for value in rows.values_list("exposure_mask", flat=True).distinct():  # a handful of distinct combinations
        mask |= value
    # The patient model knows its own code names; an unsaved instance turns the union into them.
    categories = list(patient_model(exposure_mask=mask).exposure_categories) if mask else []
    return {
        "people": totals["people"] or 0,
        "records": totals["records"] or 0,
        "minors": totals["minors"] or 0,
        "minors_records": totals["minors_records"] or 0,
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
        (
            "dates",
            _("dates de début et de découverte de la violation"),
            cf.started_at is None or cf.discovered_at is None,
        ),
        ("discovery", _("circonstances de la découverte"), not cf.discovery.strip()),
        ("cause", _("origine (cause) de la violation"), not cf.cause),
        ("description", _("description détaillée"), not cf.description.strip()),
        ("data_categories", _("catégories de données"), not cf.data_categories.strip()),
        ("people_estimate", _("nombre approximatif de personnes (patients)"), cf.people_estimate is None),
        ("records_estimate", _("nombre approximatif d'enregistrements (patients)"), cf.records_estimate is None),
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
            cf.exemption == BreachLaboratory.Exemption.C and not cf.public_communications.exists(),
        ),
    ]


def case_file_checklist(case_file: BreachLaboratory) -> list[dict[str, Any]]:
    """Every element with whether it is present: the page shows it; a missing one is « à compléter » (Art. 33(4):
    the initial filing goes with what is known, a complementary one completes it)."""
    return [{"code": c, "label": label, "ok": not missing} for c, label, missing in _missing_checks(case_file)]


def case_file_missing(case_file: BreachLaboratory) -> list[str]:
    """Labels of the Art. 33(3) elements still « à compléter » (empty when the case file is complete).

    One query (the measures) per case file; the sheet, the case-file page and the DPO's dashboard show them."""
    return [str(label) for _code, label, missing in _missing_checks(case_file) if missing]


def plain_json(value: Any) -> Any:
    """Lazy translations turned into text (snapshots and register rows are JSON / cells, in one language)."""
    if isinstance(value, dict):
        return {key: plain_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(item) for item in value]
    return str(value) if isinstance(value, Promise) else value


def measures_for(*, breach: Breach, laboratory: Laboratory) -> list[dict[str, Any]]:
    """The laboratory's measures for a breach, oldest first, for the letters' "what we did" block."""
    rows = BreachMeasure.objects.filter(case_file__breach=breach, case_file__laboratory=laboratory)
    return [{"at": m.recorded_at, "kind": m.kind, "text": m.text} for m in rows.order_by("recorded_at", "id")]


def case_files_for(user: Any) -> QuerySet[BreachLaboratory]:
    return scope_queryset(
        BreachLaboratory.objects.select_related("breach", "laboratory", "cnil_decided_by"), user, "laboratory"
    )


# The register's columns (CSV/XLSX headers and the PDF's), in French.
REGISTER_COLUMNS = [
    ("breach", _("violation")),
    ("laboratory", _("laboratoire")),
    ("aware_at", _("connaissance (Paris)")),
    ("due_at", _("échéance CNIL (Paris)")),
    ("period", _("période de la violation")),
    ("discovered_at", _("découverte (Paris)")),
    ("nature", _("nature")),
    ("cause", _("origine")),
    ("data_categories", _("catégories de données")),
    ("people_estimate", _("personnes (estimation)")),
    ("records_estimate", _("enregistrements (estimation)")),
    ("other_people", _("dont mineurs ; autres personnes")),
    ("consequences", _("conséquences")),
    ("measures", _("mesures")),
    ("decision", _("décision de notification")),
    ("decided_by", _("décidé par")),
    ("decided_at", _("décidé le (Paris)")),
    ("decision_reason", _("motif")),
    ("first_filed_at", _("première notification (Paris)")),
    ("filed_late", _("hors délai")),
    ("filings", _("notifications (références)")),
    ("high_risk", _("risque élevé")),
    ("exemption", _("exemption art. 34(3)")),
    ("people_informed", _("personnes informées")),
    ("public_communication_at", _("communication publique : date (Paris)")),
    ("public_communication_medium", _("communication publique : support")),
    ("public_communication_url", _("communication publique : lien")),
    ("other_authorities", _("autres autorités")),
]


def register_rows(*, user: Any, breach: Breach | None = None) -> list[dict[str, Any]]:
    """The Art. 33(5) register: every case file the user may see, notified or not (who decided, when, why)."""
    qs = case_files_for(user).prefetch_related(
        "measures", "filings", "authority_notifications", "public_communications"
    )
    qs = qs.order_by("breach__aware_at", "laboratory__code")
    if breach is not None:
        qs = qs.filter(breach=breach)
    return [register_row(cf) for cf in qs]


def register_row(cf: BreachLaboratory) -> dict[str, Any]:
    """One line of the register for a case file, keyed like REGISTER_COLUMNS (prefetch when reading many)."""
    return plain_json(_register_row(cf))


def _day(moment: Any) -> str:
    return f"{in_paris(moment):%d/%m/%Y}" if moment else ""


def _estimate(value: int | None) -> str:
    return "" if value is None else f"~{value}"


def _register_row(cf: BreachLaboratory) -> dict[str, Any]:
    filings: list[CnilFiling] = list(cf.filings.all())
    publications = list(cf.public_communications.all())
    others = []
    if cf.minors_estimate is not None:
        others.append(f"dont mineurs {_estimate(cf.minors_estimate)}")
    if cf.others_description or cf.others_estimate is not None:
        others.append(f"autres : {cf.others_description or '—'} {_estimate(cf.others_estimate)}".strip())
    informed = cf.get_people_informed_display()
    if cf.people_informed_count is not None:
        informed += f" : {cf.people_informed_count}"
    if cf.people_informed_first_at:
        informed += f", du {_day(cf.people_informed_first_at)}"
        if cf.people_informed_last_at:
            informed += f" au {_day(cf.people_informed_last_at)}"
    if cf.people_informed_channels:
        informed += f" ({cf.people_informed_channels})"
    period = ""
    if cf.started_at:
        period = (
            f"du {format_paris(cf.started_at)} au {format_paris(cf.ended_at)}"
            if cf.ended_at
            else f"depuis le {format_paris(cf.started_at)} (fin : en cours ou inconnue)"
        )
    return {
        "breach": cf.breach.title,
        "laboratory": str(cf.laboratory),
        "aware_at": format_paris(cf.aware_at),
        "due_at": format_paris(cf.due_at),
        "period": period,
        "discovered_at": format_paris(cf.discovered_at),
        "nature": ", ".join(cf.natures),
        "cause": "; ".join(filter(None, [cf.get_cause_display() if cf.cause else "", cf.cause_text])),
        "data_categories": cf.data_categories + (" ; données de santé (art. 9)" if cf.health_data else ""),
        "people_estimate": cf.people_estimate,
        "records_estimate": cf.records_estimate,
        "other_people": " ; ".join(others),
        "consequences": "; ".join(filter(None, [*cf.consequence_labels, cf.consequences_text])),
        "measures": "; ".join(f"{_day(m.recorded_at)} {m.text}" for m in cf.measures.all()),
        "decision": cf.get_cnil_decision_display(),
        "decided_by": cf.cnil_decided_by.get_username() if cf.cnil_decided_by else "",
        "decided_at": format_paris(cf.cnil_decided_at),
        "decision_reason": cf.cnil_decision_reason,
        "first_filed_at": format_paris(cf.first_filed_at),
        "filed_late": {None: "", True: "oui", False: "non"}[cf.filed_late],
        "filings": "; ".join(
            f"{f.get_kind_display()} n°{f.sequence} du {_day(f.submitted_at)}"
            + (f", réf. {f.cnil_reference}" if f.cnil_reference else ", réf. à venir" if f.sequence == 1 else "")
            for f in filings
        ),
        "high_risk": cf.get_high_risk_display(),
        "exemption": cf.get_exemption_display(),
        "people_informed": informed,
        # One publication per line of each cell when there are several (same order in the three columns).
        "public_communication_at": " ; ".join(format_paris(p.published_at) for p in publications),
        "public_communication_medium": " ; ".join(
            p.get_medium_display() + (f" ({p.where})" if p.where else "") for p in publications
        ),
        "public_communication_url": " ; ".join(p.url or "—" for p in publications),
        "other_authorities": "; ".join(
            f"{a.authority_name or a.get_authority_display()} le {_day(a.notified_at)}"
            + (f", réf. {a.reference}" if a.reference else "")
            for a in cf.authority_notifications.all()
        ),
    }
