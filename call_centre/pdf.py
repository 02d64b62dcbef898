"""The kit as a PDF (WeasyPrint, as the filing sheets in labs/sheets.py): the call-centre page and the evidence pack."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from labs.models import Breach, Laboratory

from .faq import faq_entries, script_steps
from .kit import call_centre_kit


def html_to_pdf(html: str) -> bytes:
    # Imported here, not at the top: importing WeasyPrint takes about half a second and most processes that
    # load the URLconf never print a kit (the same reason as labs/sheets.py).
    from weasyprint import HTML

    return HTML(string=html).write_pdf()


def kit_context(*, breach: Breach, laboratory: Laboratory, language: str) -> dict[str, Any]:
    """What the kit's page and PDF lay out: the kit, its FAQ and its call script."""
    kit = call_centre_kit(breach=breach, laboratory=laboratory, language=language)
    return {
        "laboratory": laboratory,
        "breach": breach,
        "kit": kit,
        "faq": faq_entries(kit),
        "script": script_steps(kit),
    }


def kit_pdf_render(context: dict[str, Any]) -> bytes:
    """The PDF of a `kit_context`."""
    return html_to_pdf(render_to_string("call_centre/kit_pdf.html", context))


def kit_pdf(*, breach: Breach, laboratory: Laboratory, language: str) -> bytes:
    """The kit of `laboratory` for `breach` in `language` as a PDF; reads only."""
    return kit_pdf_render(kit_context(breach=breach, laboratory=laboratory, language=language))
