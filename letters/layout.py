"""WeasyPrint's part of a letter: its HTML, the document laid out, and a variant with its slot positions.

The lowest of the rendering modules: `letters.variants` caches the variants laid out here,
`letters.printing` stamps personal lines onto them, `letters.render` offers both ways to print a letter.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils import translation
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from patients.categories import Exposure

from . import wording
from .content import LetterData
from .fetcher import BASE_URL, StaticOnlyURLFetcher
from .slots import SLOTS, slot_anchor, slot_html
from .typography import long_date, of_name
from .versions import template_version

PX = 0.75  # CSS px to PDF points


def letter_html(letter: LetterData, *, filled: bool, specimen: bool = False) -> str:
    """The letter's HTML: slots filled with `letter`'s lines (plain path) or left empty (variant)."""
    version = template_version(letter.template_version)
    place = letter.lab_address_lines[-1].split(" ", 1)[-1] if letter.lab_address_lines else ""
    with translation.override(letter.language):
        day = long_date(letter.sent_on, letter.language)
        if letter.language == "fr":
            place_date = f"{place}, le {day}" if place else f"Le {day}"
        else:
            place_date = f"{place}, {day}" if place else day
        labels = wording.exposure_labels(letter.exposure_mask, letter.language, minor=letter.is_minor)
        # the NIR item carries the masked-NIR slot box
        nir_label = wording.exposure_labels(int(Exposure.NIR), letter.language, minor=letter.is_minor)[0]
        return render_to_string(
            version.template,
            {
                "letter": letter,
                "body_template": version.template.replace("letter.html", f"body.{letter.language}.html"),
                "slot": slot_html(letter if filled else None),
                "place_date": place_date,
                "discovered_on": long_date(letter.breach_discovered_on, letter.language),
                "first_notice_on": long_date(letter.first_notice_on, letter.language),
                "from_lab": of_name(letter.lab_name),  # « du Laboratoire… », « de la Clinique… »
                "exposure_labels": labels,
                "nir_label": nir_label,
                "nir_exposed": letter.exposes(Exposure.NIR),
                "advice": wording.advice(letter.language, mask=letter.exposure_mask, minor=letter.is_minor),
                "has_medical_comment": letter.exposes(Exposure.MEDICAL_COMMENT),
                "logo_url": letter.lab_logo_path,
                "specimen": specimen,
            },
        )


def _html(source: str) -> HTML:
    return HTML(string=source, base_url=BASE_URL, url_fetcher=StaticOnlyURLFetcher())


@functools.cache
def _fonts() -> FontConfiguration:
    return FontConfiguration()


@functools.cache
def _stylesheet(path: str) -> CSS:
    """The print stylesheet parsed once per process, its bundled @font-face fonts loaded once.

    Both paths use it: re-parsing the stylesheet and re-loading the fonts cost ~40% of a letter's layout."""
    return CSS(url=BASE_URL + path, url_fetcher=StaticOnlyURLFetcher(), font_config=_fonts())


def lay_out(letter: LetterData, *, filled: bool, specimen: bool):
    """The letter laid out by WeasyPrint: slots filled (plain path) or left empty (a variant)."""
    stylesheet = _stylesheet(template_version(letter.template_version).stylesheet)
    source = letter_html(letter, filled=filled, specimen=specimen)
    return _html(source).render(stylesheets=[stylesheet], font_config=_fonts())


@dataclass(frozen=True)
class SlotBox:
    page: int  # 0-based page of the letter
    x: float  # left of the content box, pt from the page's left edge
    top: float  # top of the content box, pt from the page's top edge


@dataclass(frozen=True)
class Variant:
    """A letter laid out without its personal lines: its PDF and where each slot box landed."""

    pdf: bytes
    pages: int
    page_height: float
    slots: dict[str, SlotBox]


def _slot_boxes(document) -> dict[str, SlotBox]:
    """Where each slot box landed, from the positions WeasyPrint reports for elements with an id.

    `Page.anchors` gives an element's border box; a slot has no padding or border (letter.css), so that is
    its content box, where the lines are drawn."""
    anchors = {slot_anchor(name): name for name in SLOTS}
    found: dict[str, SlotBox] = {}
    for index, page in enumerate(document.pages):
        for anchor, (x, y, *_) in page.anchors.items():
            name = anchors.get(anchor)
            if name is not None and name not in found:
                found[name] = SlotBox(page=index, x=x * PX, top=y * PX)
    return found


def layout_variant(key: LetterData, *, specimen: bool = False) -> Variant:
    """Lay out one variant with WeasyPrint (slots empty) and record the slot positions."""
    document = lay_out(key, filled=False, specimen=specimen)
    slots = _slot_boxes(document)
    expected = {name for name in SLOTS if name != "nir" or key.exposes(Exposure.NIR)}
    missing = expected - set(slots)
    if missing:
        raise RuntimeError(f"Letter template {key.template_version} lost its slot boxes: {sorted(missing)}")
    buffer = io.BytesIO()
    document.write_pdf(buffer)
    return Variant(
        pdf=buffer.getvalue(),
        pages=len(document.pages),
        page_height=document.pages[0].height * PX,
        slots=slots,
    )
