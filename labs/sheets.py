"""Printable documents of labs: the CNIL filing sheet (PDF + JSON) and the Art. 33(5) register (PDF)."""

from __future__ import annotations

import json
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from .deadlines import format_paris
from .models import CnilFiling
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
