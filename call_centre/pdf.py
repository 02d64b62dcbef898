"""HTML to PDF with WeasyPrint, as the filing sheets do (labs/sheets.py)."""

from __future__ import annotations


def html_to_pdf(html: str) -> bytes:
    # Imported here, not at the top: importing WeasyPrint takes about half a second and most processes that
    # load the URLconf never print a kit (the same reason as labs/sheets.py).
    from weasyprint import HTML

    return HTML(string=html).write_pdf()
