"""Printable documents of labs: each authority's sheet in its own form's order — the CNIL filing (PDF, JSON, EDPB
template JSON), the ARS / CERT Santé incident report (PDF, JSON) — and the Art. 33(5) register (PDF).

`REGIME_SHEETS` lists them by regime (the keys of the obligations: "cnil_art33", "ars_cert_sante"), so a page
listing a case file's obligations can offer each one's documents."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from .ars import ARS_ITEMS, ars_report
from .deadlines import format_paris
from .edpb import edpb_export_json
from .models import AuthorityNotification, BreachLaboratory, CnilFiling
from .selectors import REGISTER_COLUMNS
from .snapshots import snapshot_items

REGISTER_PDF_MARGIN_MM = 7  # left and right; the table spans the page between them

# The register's 25 columns, grouped for the landscape page into 12 wider ones (each grouped value printed under
# its own column name), with their widths in %: at one column each, words broke in the middle of a letter.
REGISTER_PDF_GROUPS: list[tuple[tuple[str, ...], float]] = [
    (("breach", "laboratory"), 8.5),
    (("aware_at", "due_at"), 7.5),
    (("period", "discovered_at"), 8),
    (("nature", "cause"), 7),
    (("data_categories",), 9),
    (("people_estimate", "records_estimate", "other_people"), 8),
    (("consequences",), 8.5),
    (("measures",), 9),
    (("decision", "decided_by", "decided_at", "decision_reason"), 9.5),
    (("first_filed_at", "filed_late", "filings"), 9.5),
    # Art. 34: the decision, the exemption, who was told, and the public communication(s) in place of letters.
    (
        (
            "high_risk",
            "exemption",
            "people_informed",
            "public_communication_at",
            "public_communication_medium",
            "public_communication_url",
        ),
        9,
    ),
    (("other_authorities",), 6.5),
]


def _pdf(html: str) -> bytes:
    # Imported here, not at the top: importing WeasyPrint takes 0.45-0.6 s (`python -X importtime -c "import
    # weasyprint"`), and django.setup() imports this module through labs.admin in every process, workers
    # and management commands included, most of which never print a sheet.
    from weasyprint import HTML

    return HTML(string=html).write_pdf()


def filing_sheet_json(filing: CnilFiling) -> str:
    """The frozen snapshot as filed (never re-read from the live case file)."""
    return json.dumps(filing.snapshot, ensure_ascii=False, indent=2)


def filing_sheet_html(filing: CnilFiling) -> str:
    """The sheet from the frozen snapshot: items « à compléter », the initial cited, what changed, every item."""
    snapshot = filing.snapshot
    return render_to_string(
        "labs/filing_sheet.html",
        {
            "filing": filing,
            "s": snapshot,
            "sections": snapshot_items(snapshot),
            "missing": snapshot.get("missing") or [],
            "initial": snapshot.get("filing", {}).get("initial"),
            "changes": snapshot.get("filing", {}).get("changes") or [],
            "printed_at": format_paris(timezone.now()),
        },
    )


def filing_sheet_pdf(filing: CnilFiling) -> bytes:
    return _pdf(filing_sheet_html(filing))


# --- the ARS / CERT Santé report ------------------------------------------------------------------------
class ReportNotFrozenError(Exception):
    """An ARS / CERT Santé notification recorded without its report (before reports were kept, or another
    authority): there is no "as sent" version to print."""


def ars_sheet_report(source: BreachLaboratory | AuthorityNotification) -> dict[str, Any]:
    """The report to print: from the live case file (a draft to copy onto the portal), or as sent (frozen)."""
    if isinstance(source, AuthorityNotification):
        if not source.snapshot:
            raise ReportNotFrozenError(
                "Aucun signalement figé pour cette autorité : seuls les signalements à l'ARS ou au CERT Santé "
                "enregistrés dans notifier sont conservés tels que transmis."
            )
        return source.snapshot
    return ars_report(source)


def ars_sheet_json(source: BreachLaboratory | AuthorityNotification) -> str:
    return json.dumps(ars_sheet_report(source), ensure_ascii=False, indent=2)


def ars_sheet_html(source: BreachLaboratory | AuthorityNotification) -> str:
    """The ARS / CERT Santé report sheet, in the portal form's order, with the items « à compléter »."""
    report = ars_sheet_report(source)
    return render_to_string(
        "labs/ars_sheet.html",
        {
            "r": report,
            "sent": report.get("report"),
            "sections": snapshot_items(report, ARS_ITEMS),
            "missing": report.get("missing") or [],
            "printed_at": format_paris(timezone.now()),
        },
    )


def ars_sheet_pdf(source: BreachLaboratory | AuthorityNotification) -> bytes:
    return _pdf(ars_sheet_html(source))


# --- by regime ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RegimeSheet:
    """One regime's documents: what they are printed from ("filing": a CnilFiling, "case_file": a BreachLaboratory
    or, as sent, its AuthorityNotification), and a function per format (bytes for PDF, text otherwise)."""

    label: str
    source: str
    formats: dict[str, Callable[[Any], str | bytes]]


REGIME_SHEETS: dict[str, RegimeSheet] = {
    "cnil_art33": RegimeSheet(
        "Notification à la CNIL (art. 33 RGPD)",
        source="filing",
        formats={
            "html": filing_sheet_html, "pdf": filing_sheet_pdf, "json": filing_sheet_json, "edpb-json": edpb_export_json,
        },
    ),
    "ars_cert_sante": RegimeSheet(
        "Signalement d'incident de sécurité à l'ARS et au CERT Santé (CSP, art. L.1111-8-2)",
        source="case_file",
        formats={"html": ars_sheet_html, "pdf": ars_sheet_pdf, "json": ars_sheet_json},
    ),
}  # fmt: skip


def register_column_spans_mm(page_width_mm: float = 297) -> list[tuple[float, float]]:
    """Where each grouped column lies across the landscape page (mm from the left edge): a test reads each
    column's text back from there."""
    usable = page_width_mm - 2 * REGISTER_PDF_MARGIN_MM
    total = sum(width for _keys, width in REGISTER_PDF_GROUPS)
    spans, left = [], float(REGISTER_PDF_MARGIN_MM)
    for _keys, width in REGISTER_PDF_GROUPS:
        right = left + usable * width / total
        spans.append((left, right))
        left = right
    return spans


def register_html(rows: list[dict[str, Any]], *, title: str = "Registre des violations (art. 33(5) RGPD)") -> str:
    labels = dict(REGISTER_COLUMNS)
    scale = 100 / sum(width for _keys, width in REGISTER_PDF_GROUPS)
    columns = [
        {"labels": [str(labels[key]) for key in keys], "width": f"{width * scale:.2f}"}
        for keys, width in REGISTER_PDF_GROUPS
    ]
    cells = [
        [[{"label": str(labels[key]), "value": row.get(key)} for key in keys] for keys, _width in REGISTER_PDF_GROUPS]
        for row in rows
    ]
    return render_to_string(
        "labs/register.html",
        {
            "title": title,
            "columns": columns,
            "rows": cells,
            "margin_mm": REGISTER_PDF_MARGIN_MM,
            "printed_at": format_paris(timezone.now()),
        },
    )


def register_pdf(rows: list[dict[str, Any]], *, title: str = "Registre des violations (art. 33(5) RGPD)") -> bytes:
    """The register on landscape A4, every column on the page (values wrap inside their column)."""
    return _pdf(register_html(rows, title=title))
