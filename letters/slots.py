"""The per-patient parts of a letter ("slots") and the shared rest (the "variant").

A letter is a variant (language, exposure categories, minor or not, laboratory, breach, version, date)
laid out once by WeasyPrint, plus a few fixed-size boxes holding the patient's own lines: the address
window, the reference, the masked NIR, the code and phrase, the QR code. Both rendering paths take
their lines from `slot_lines` — the plain path prints them inside the boxes with WeasyPrint, the fast
path draws them onto the variant's pages — so both print exactly the same words in the same places.
Lines are fitted to their box here; the address block follows La Poste's 6 lines of 38 characters
(`letters.address`).
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from . import qr, wording
from .address import PostalBlock, postal_block
from .content import LetterData
from .fonts import fit, font, printable

MM = 72 / 25.4  # points per millimetre


@dataclass(frozen=True)
class SlotSpec:
    name: str
    width_mm: float
    lines: int = 1
    size: float = 10.0  # font size, pt
    leading: float = 12.5  # line height, pt
    style: str = "regular"  # "regular" or "bold"
    qr: bool = False

    @property
    def width(self) -> float:
        return self.width_mm * MM

    @property
    def height(self) -> float:
        return self.width if self.qr else self.lines * self.leading

    def css(self) -> str:
        weight = 700 if self.style == "bold" else 400
        return (
            f"width:{self.width:.3f}pt;height:{self.height:.3f}pt;font-size:{self.size}pt;"
            f"line-height:{self.leading}pt;font-weight:{weight}"
        )


SLOTS = {
    spec.name: spec
    for spec in (
        SlotSpec("address", width_mm=88, lines=6, size=10, leading=12.5),
        SlotSpec("reference", width_mm=66, lines=1, size=9, leading=11.5),
        SlotSpec("nir", width_mm=90, lines=1, size=10, leading=13),
        SlotSpec("code", width_mm=120, lines=1, size=12, leading=16, style="bold"),
        SlotSpec("phrase", width_mm=120, lines=1, size=10, leading=13),
        SlotSpec("qr", width_mm=28, qr=True),
    )
}

# LetterData fields printed only through slots: blanked, they give the variant's key.
PERSONAL_FIELDS = (
    "reference",
    "recipient_civility",
    "recipient_first_name",
    "recipient_last_name",
    "address_lines",
    "postcode",
    "city",
    "country",
    "nir_masked",
    "status_code",
    "verification_phrase",
)


def variant_key(letter: LetterData) -> LetterData:
    """`letter` without its personal fields: letters with equal keys share one WeasyPrint layout."""
    blank = {name: () if name == "address_lines" else "" for name in PERSONAL_FIELDS}
    return dataclasses.replace(letter, sensitive_mask=0, **blank)


_LABELS = {
    "fr": {
        "reference": "Référence\u00a0: ",
        "code": "Code personnel\u00a0: ",
        "phrase": "Phrase de vérification\u00a0: ",
        "guardian": "Aux parents ou représentant légal de",  # 36 characters: AFNOR allows 38
        "nir_missing": "(non disponible)",
    },
    "en": {
        "reference": "Reference: ",
        "code": "Personal code: ",
        "phrase": "Verification phrase: ",
        "guardian": "To the parents or legal guardian of",
        "nir_missing": "(not available)",
    },
}


def _fit(name: str, text: str) -> str:
    spec = SLOTS[name]
    return fit(text, size=spec.size, max_width=spec.width, style=spec.style)


def postal_block_of(
    *, civility: str, first_name: str, last_name: str, is_minor: bool, language: str, address: tuple[str, ...],
    postcode: str, city: str, country: str,
) -> PostalBlock:  # fmt: skip
    """The AFNOR recipient block (letters.address) of one recipient, each line fitting the window's width too."""
    name = " ".join(p for p in (printable(first_name), printable(last_name).upper()) if p)
    if is_minor:
        recipient = [_LABELS[language]["guardian"], name]
    else:
        recipient = [" ".join(p for p in (wording.civility(civility), name) if p)]
    spec = SLOTS["address"]
    return postal_block(
        recipient=recipient,
        address=[printable(line) for line in address],
        postcode=printable(postcode),
        city=printable(city),
        country_line=wording.country_line(country),
        fits=lambda line: font(spec.style).width(line, spec.size) <= spec.width,
    )


def letter_postal_block(letter: LetterData) -> PostalBlock:
    return postal_block_of(
        civility=letter.recipient_civility, first_name=letter.recipient_first_name,
        last_name=letter.recipient_last_name, is_minor=letter.is_minor, language=letter.language,
        address=letter.address_lines, postcode=letter.postcode, city=letter.city, country=letter.country,
    )  # fmt: skip


def address_lines(letter: LetterData) -> list[str]:
    """The recipient block, at most 6 lines of at most 38 characters (AFNOR NF Z10-011, letters.address)."""
    return list(letter_postal_block(letter).lines)


def slot_lines(letter: LetterData) -> dict[str, list[str]]:
    """The lines each text slot prints for `letter` (already fitted to their box)."""
    labels = _LABELS[letter.language]
    phrase = (
        f"«\u00a0{letter.verification_phrase}\u00a0»" if letter.language == "fr" else f"“{letter.verification_phrase}”"
    )
    return {
        "address": address_lines(letter),
        "reference": [_fit("reference", labels["reference"] + letter.reference)],
        "nir": [_fit("nir", letter.nir_masked or labels["nir_missing"])],
        "code": [_fit("code", labels["code"] + letter.status_code)],
        "phrase": [_fit("phrase", labels["phrase"] + phrase)],
    }


@functools.lru_cache(maxsize=64)  # a letter asks twice at most (plain path, stamping); keep it small
def qr_modules(url: str, border: int = 2) -> tuple[int, tuple[tuple[int, int, int], ...]]:
    """QR code of `url` as (size in modules incl. border, dark runs (row, first column, length)).

    Byte mode, level M, fixed mask 0 (any mask is valid; choosing the "best" of 8 cost 5.7 ms a letter).
    Printed 28 mm wide, a version 4-5 code has modules of ~0.7 mm: it scans well. Encoded by letters/qr.py,
    not segno: see that module for the measured need (tests hold its modules equal to segno's).
    """
    size, runs = qr.dark_runs(url)
    return size + 2 * border, tuple((row + border, col + border, length) for row, col, length in runs)


def qr_svg(url: str) -> SafeString:
    """The QR code as inline SVG for the plain WeasyPrint path (same modules as the fast path)."""
    size, runs = qr_modules(url)
    # one <path>, not a <rect> per run: hundreds of SVG elements would slow WeasyPrint down for nothing
    path = "".join(f"M{c} {r}h{w}v1h-{w}z" for r, c, w in runs)
    return mark_safe(  # noqa: S308 - built from integers only
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" width="100%" height="100%" '
        f'shape-rendering="crispEdges"><path fill="#000" d="{path}"/></svg>'
    )


def slot_anchor(name: str) -> str:
    """The id of a slot's box: WeasyPrint reports where each element with an id landed (`Page.anchors`)."""
    return f"slot-{name}"


def slot_html(letter: LetterData | None) -> dict[str, SafeString]:
    """Each slot's box as HTML: filled for the plain path, empty (`letter` None) for a variant."""
    lines = slot_lines(letter) if letter is not None else {}
    out = {}
    for name, spec in SLOTS.items():
        if spec.qr:
            inner = qr_svg(letter.qr_url) if letter is not None else ""
        else:
            inner = format_html_join("", '<span class="slot-line">{}</span>', ((line,) for line in lines.get(name, [])))
        out[name] = format_html(
            '<div class="slot slot-{}" id="{}" style="{}">{}</div>', name, slot_anchor(name), spec.css(), inner
        )
    return out
