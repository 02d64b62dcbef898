"""Rendering letters to PDF.

Two paths that print the same words in the same places:
- the plain path (`render_letter_pdf_plain`): WeasyPrint lays out the whole letter (≈100 ms);
- the fast path (`render_letter_pdf`, and print batches): WeasyPrint lays out each *variant* once
  (the letter without its personal lines), and `letters.stamping` draws the patient's slots onto it.
The on-demand letter uses the fast path so it is the very same content as the letter in the batch.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import io
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.formats import date_format
from weasyprint import CSS, HTML
from weasyprint import __version__ as WEASYPRINT_VERSION
from weasyprint.formatting_structure import boxes
from weasyprint.text.fonts import FontConfiguration

from patients.categories import Exposure

from . import wording
from .content import LetterData
from .fetcher import BASE_URL, StaticOnlyURLFetcher
from .slots import SLOTS, slot_html, variant_key
from .versions import template_version

PX = 0.75  # CSS px to PDF points
VARIANT_CACHE_SIZE = 256  # layouts kept per process (a few MB): bounded so memory stays flat


def letter_html(letter: LetterData, *, filled: bool, specimen: bool = False) -> str:
    """The letter's HTML: slots filled with `letter`'s lines (plain path) or left empty (variant)."""
    version = template_version(letter.template_version)
    place = letter.lab_address_lines[-1].split(" ", 1)[-1] if letter.lab_address_lines else ""
    with translation.override(letter.language):
        day = date_format(letter.sent_on, "j F Y")
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
                "exposure_labels": labels,
                "nir_label": nir_label,
                "nir_exposed": letter.exposes(Exposure.NIR),
                "password_exposed": letter.exposes(Exposure.PORTAL_PASSWORD),
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


def _render(letter: LetterData, *, filled: bool, specimen: bool):
    stylesheet = _stylesheet(template_version(letter.template_version).stylesheet)
    source = letter_html(letter, filled=filled, specimen=specimen)
    return _html(source).render(stylesheets=[stylesheet], font_config=_fonts())


def render_letter_pdf_plain(letter: LetterData, *, specimen: bool = False) -> bytes:
    """The whole letter laid out by WeasyPrint: the reference the fast path is checked against."""
    return _render(letter, filled=True, specimen=specimen).write_pdf()


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
    found: dict[str, SlotBox] = {}
    for index, page in enumerate(document.pages):
        for box in page._page_box.descendants(placeholders=True):
            box = getattr(box, "_box", box)  # an absolutely positioned box sits behind a placeholder
            element = getattr(box, "element", None)
            if element is None or not isinstance(box, boxes.BlockBox):
                continue
            name = element.get("data-slot")
            if name and name not in found:
                found[name] = SlotBox(page=index, x=box.content_box_x() * PX, top=box.content_box_y() * PX)
    return found


def layout_variant(key: LetterData, *, specimen: bool = False) -> Variant:
    """Lay out one variant with WeasyPrint (slots empty) and record the slot positions."""
    document = _render(key, filled=False, specimen=specimen)
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


@functools.cache
def layout_fingerprint() -> str:
    """Hash of everything a variant's layout depends on besides its data: templates, stylesheet, fonts,
    this app's code (wording, slot sizes), WeasyPrint's version. A change never reuses a stale layout."""
    digest = hashlib.sha256(WEASYPRINT_VERSION.encode())
    root = Path(__file__).resolve().parent.parent
    for folder in (root / "letters", root / "templates" / "letters", root / "static" / "letters"):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _disk_cache_path(key: LetterData, specimen: bool) -> Path | None:
    folder = getattr(settings, "LETTERS_VARIANT_CACHE_DIR", None)
    if not folder:
        return None
    name = hashlib.sha256(f"{layout_fingerprint()}|{specimen}|{key!r}".encode()).hexdigest()
    return Path(folder) / name[:2] / f"{name}.json"


def _load(path: Path) -> Variant | None:
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return Variant(
        pdf=base64.b64decode(raw["pdf"]),
        pages=raw["pages"],
        page_height=raw["page_height"],
        slots={name: SlotBox(**box) for name, box in raw["slots"].items()},
    )


def _store(path: Path, variant: Variant) -> None:
    """Write atomically (temp file + rename): concurrent workers may lay out the same variant."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "pdf": base64.b64encode(variant.pdf).decode(),
        "pages": variant.pages,
        "page_height": variant.page_height,
        "slots": {name: dataclasses.asdict(box) for name, box in variant.slots.items()},
    }
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(handle, "w") as out:
        json.dump(payload, out)
    os.replace(temporary, path)


@functools.lru_cache(maxsize=VARIANT_CACHE_SIZE)
def _cached_variant(key: LetterData, specimen: bool) -> Variant:
    """In-process LRU over a disk cache shared by the workers of a machine (variants hold no patient data)."""
    path = _disk_cache_path(key, specimen)
    if path is not None and path.exists() and (variant := _load(path)) is not None:
        return variant
    variant = layout_variant(key, specimen=specimen)
    if path is not None:
        _store(path, variant)
    return variant


def variant_for(letter: LetterData, *, specimen: bool = False) -> Variant:
    """The (cached) variant `letter` belongs to."""
    return _cached_variant(variant_key(letter), specimen)


STALE_CLAIM_SECONDS = 60


def _claim(path: Path) -> bool:
    """Claim the layout of one variant for this process (a lock file next to its cache entry)."""
    lock = path.with_suffix(".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        return True
    except FileExistsError:
        try:
            stale = time.time() - lock.stat().st_mtime > STALE_CLAIM_SECONDS  # its worker died
        except FileNotFoundError:
            return False
        if stale:
            lock.unlink(missing_ok=True)
        return False


def prepare_variants(letters: list[LetterData], *, specimen: bool = False) -> None:
    """Lay out the variants `letters` need, sharing the work with concurrent workers.

    Workers starting batches at the same time need the same common variants: each claims the ones no one
    is laying out, then picks up the others' results from the disk cache, instead of all laying out all.
    """
    keys = list(dict.fromkeys(variant_key(letter) for letter in letters))
    pending = {key: _disk_cache_path(key, specimen) for key in keys}
    if any(path is None for path in pending.values()):
        return  # no shared cache: variants are laid out on first use
    deadline = time.monotonic() + STALE_CLAIM_SECONDS * 2
    while pending:
        progressed = False
        for key, path in list(pending.items()):
            if path.exists():
                del pending[key]
            elif _claim(path):
                try:
                    _cached_variant(key, specimen)
                finally:
                    path.with_suffix(".lock").unlink(missing_ok=True)
                del pending[key]
                progressed = True
        if pending and not progressed:
            if time.monotonic() > deadline:
                return  # leave the rest to first use
            time.sleep(0.02)


def render_letter_pdf(letter: LetterData, *, specimen: bool = False) -> bytes:
    """One patient's letter (on demand): the same stamped pages as in a print batch, without padding."""
    from .printing import assemble

    return assemble([letter], duplex=False, specimen=specimen).pdf
