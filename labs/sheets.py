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

# Width of each register column in the PDF (% of the landscape page): dates and short values narrow, free text
# wider. A column missing here gets the default; the widths are scaled to 100 %.
REGISTER_PDF_WIDTHS = {
    "people_estimate": 3.2,
    "records_estimate": 3.6,
    "filed_late": 2.6,
    "decided_by": 3.4,
    "nature": 3.8,
    "data_categories": 5.6,
    "measures": 5.6,
    "consequences": 5.0,
    "filings": 5.6,
    "breach": 4.6,
    "laboratory": 4.6,
    "people_informed": 4.8,
}
REGISTER_PDF_DEFAULT_WIDTH = 4.2


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


def register_html(rows: list[dict[str, Any]], *, title: str = "Registre des violations (art. 33(5) RGPD)") -> str:
    widths = [REGISTER_PDF_WIDTHS.get(key, REGISTER_PDF_DEFAULT_WIDTH) for key, _label in REGISTER_COLUMNS]
    scale = 100 / sum(widths)
    columns = [
        (key, label, f"{width * scale:.2f}") for (key, label), width in zip(REGISTER_COLUMNS, widths, strict=True)
    ]
    cells = [[row.get(key, "") for key, _label in REGISTER_COLUMNS] for row in rows]
    return render_to_string(
        "labs/register.html",
        {"title": title, "columns": columns, "rows": cells, "printed_at": format_paris(timezone.now())},
    )


def register_pdf(rows: list[dict[str, Any]], *, title: str = "Registre des violations (art. 33(5) RGPD)") -> bytes:
    """The register on landscape A4, every column on the page (values wrap inside their column)."""
    return _pdf(register_html(rows, title=title))
