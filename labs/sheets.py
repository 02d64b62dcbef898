"""Printable documents of labs: the CNIL filing sheet (PDF + JSON) and the Art. 33(5) register (PDF)."""

from __future__ import annotations

import json
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from .deadlines import format_paris
from .models import CnilFiling
from .selectors import REGISTER_COLUMNS


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
    return render_to_string(
        "labs/filing_sheet.html",
        {"filing": filing, "s": filing.snapshot, "printed_at": format_paris(timezone.now())},
    )


def filing_sheet_pdf(filing: CnilFiling) -> bytes:
    return _pdf(filing_sheet_html(filing))


def register_pdf(rows: list[dict[str, Any]], *, title: str = "Registre des violations (art. 33(5) RGPD)") -> bytes:
    html = render_to_string(
        "labs/register.html",
        {"title": title, "columns": REGISTER_COLUMNS, "rows": rows, "printed_at": format_paris(timezone.now())},
    )
    return _pdf(html)
