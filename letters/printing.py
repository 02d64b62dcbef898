"""Print batches: many letters merged into one PDF for a print-and-mail provider, plus its manifest.

Fast path: each variant (see `letters.slots`) is laid out once by WeasyPrint; its pages' content and
resources are copied into the batch once and shared by every letter of that variant; each letter's
pages then add one small content stream drawing its personal lines (with the same bundled font) and
its QR code. Text stays extractable (Type 0 font with a ToUnicode map). Each letter starts on an odd
page (duplex: a blank back is added after an odd-page letter). Output is deterministic: no dates,
and a document id derived from the content, so a re-run batch has the same checksums.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DecodedStreamObject,
    DictionaryObject,
    EncodedStreamObject,
    FloatObject,
    IndirectObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from labs.exports import formula_safe

from . import fonts
from .content import LetterData
from .layout import Variant
from .slots import SLOTS, qr_modules, slot_lines
from .variants import prepare_variants, variant_for

MANIFEST_COLUMNS = [
    "sequence",
    "reference",
    "first_page",
    "pages",
    *(f"address_{i}" for i in range(1, 7)),
    "postcode",
    "city",
    "country",
]
FONT_RESOURCES = {"regular": "/NtfR", "bold": "/NtfB"}


@dataclass(frozen=True)
class PrintBatchFiles:
    """The files of one print batch and their checksums (what the campaign's PrintBatch stores)."""

    pdf: bytes
    manifest_csv: str
    page_counts: tuple[int, ...]  # pages of each letter, in batch order (without blank backs)
    first_pages: tuple[int, ...]  # 1-based page of the batch PDF where each letter starts
    total_pages: int
    pdf_sha256: str
    manifest_sha256: str


# Two private pypdf APIs, with the version pinned and tests/letters/test_private_apis.py failing on an upgrade
# that changes them: `PdfWriter._add_object` (no public way to add an object that is not a page) and
# `PdfWriter._ID` (the public generate_file_identifiers() is random; a re-run batch must be byte-identical).


def _stream(writer: PdfWriter, data: bytes, extra: dict | None = None, *, compress: bool = True) -> IndirectObject:
    """Add a content or font stream to the batch, Flate-compressed unless `compress` is False."""
    stream = DecodedStreamObject()
    stream.set_data(data)
    if compress:
        stream = stream.flate_encode(level=6)
    for key, value in (extra or {}).items():
        stream[NameObject(key)] = value
    return writer._add_object(stream)


def _flated_stream(writer: PdfWriter, flated: bytes, extra: dict | None = None) -> IndirectObject:
    """Add a stream already Flate-compressed (the fonts: compressed once per process, not once per batch)."""
    stream = EncodedStreamObject()
    stream._data = flated  # what `set_data` would store after compressing again
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    for key, value in (extra or {}).items():
        stream[NameObject(key)] = value
    return writer._add_object(stream)


@functools.cache
def _font_file_flated(style: str) -> bytes:
    return zlib.compress(fonts.font(style).data, 6)


@functools.cache
def _to_unicode_flated(style: str) -> bytes:
    return zlib.compress(_to_unicode_cmap(fonts.font(style)), 6)


def _to_unicode_cmap(program: fonts.FontProgram) -> bytes:
    pairs = sorted((gid, char) for char, gid in program.gids.items())
    lines = [
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        b"/CMapName /Adobe-Identity-UCS def /CMapType 2 def",
        b"1 begincodespacerange <0000> <FFFF> endcodespacerange",
    ]
    for start in range(0, len(pairs), 100):
        chunk = pairs[start : start + 100]
        lines.append(f"{len(chunk)} beginbfchar".encode())
        lines.extend(f"<{gid:04X}> <{ord(char):04X}>".encode() for gid, char in chunk)
        lines.append(b"endbfchar")
    lines.append(b"endcmap CMapName currentdict /CMap defineresource pop end end")
    return b"\n".join(lines)


def _font_object(writer: PdfWriter, style: str) -> IndirectObject:
    """The bundled font as a Type 0 / CIDFontType2 font (Identity-H) with a ToUnicode map."""
    program = fonts.font(style)
    base_name = NameObject(f"/NTFLTR+{program.name}-{style.capitalize()}")
    file_ref = _flated_stream(writer, _font_file_flated(style), {"/Length1": NumberObject(len(program.data))})
    descriptor = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/FontDescriptor"),
            NameObject("/FontName"): base_name,
            NameObject("/Flags"): NumberObject(32),
            NameObject("/FontBBox"): ArrayObject(NumberObject(v) for v in program.bbox),
            NameObject("/ItalicAngle"): NumberObject(0),
            NameObject("/Ascent"): NumberObject(program.ascent),
            NameObject("/Descent"): NumberObject(program.descent),
            NameObject("/CapHeight"): NumberObject(program.cap_height),
            NameObject("/StemV"): NumberObject(80),
            NameObject("/FontFile2"): file_ref,
        }
    )
    widths = ArrayObject()
    for gid in sorted(program.widths):
        widths.extend([NumberObject(gid), ArrayObject([NumberObject(program.widths[gid])])])
    cid_font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/CIDFontType2"),
            NameObject("/BaseFont"): base_name,
            NameObject("/CIDSystemInfo"): DictionaryObject(
                {
                    NameObject("/Registry"): TextStringObject("Adobe"),
                    NameObject("/Ordering"): TextStringObject("Identity"),
                    NameObject("/Supplement"): NumberObject(0),
                }
            ),
            NameObject("/FontDescriptor"): writer._add_object(descriptor),
            NameObject("/W"): widths,
            NameObject("/CIDToGIDMap"): NameObject("/Identity"),
        }
    )
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type0"),
            NameObject("/BaseFont"): base_name,
            NameObject("/Encoding"): NameObject("/Identity-H"),
            NameObject("/DescendantFonts"): ArrayObject([writer._add_object(cid_font)]),
            NameObject("/ToUnicode"): _flated_stream(writer, _to_unicode_flated(style)),
        }
    )
    return writer._add_object(font)


def _baseline_offset(size: float, leading: float, style: str) -> float:
    """Distance from a line box's top to its baseline, as WeasyPrint/Pango places it (half-leading)."""
    program = fonts.font(style)
    ascent, descent = program.ascent * size / 1000, -program.descent * size / 1000
    return (leading - (ascent + descent)) / 2 + ascent


def overlay_stream(letter: LetterData, variant: Variant, lines: dict[str, list[str]] | None = None) -> dict[int, bytes]:
    """PDF drawing operators for `letter`'s personal lines (`slot_lines`, given or made here) and QR code,
    by page of the variant."""
    lines = lines if lines is not None else slot_lines(letter)
    ops: dict[int, list[str]] = {}
    for name, box in variant.slots.items():
        spec = SLOTS[name]
        page_ops = ops.setdefault(box.page, [])
        if spec.qr:
            # one module = one unit after `cm`: integer rectangles are quick to write and compress well
            modules, runs = qr_modules(letter.qr_url)
            unit = spec.width / modules
            bottom = variant.page_height - box.top - spec.width
            rects = " ".join(f"{col} {modules - row - 1} {width} 1 re" for row, col, width in runs)
            page_ops.append(f"q {unit:.5f} 0 0 {unit:.5f} {box.x:.3f} {bottom:.3f} cm 0 g {rects} f Q")
            continue
        program = fonts.font(spec.style)
        offset = _baseline_offset(spec.size, spec.leading, spec.style)
        text = [f"BT {FONT_RESOURCES[spec.style]} {spec.size:g} Tf 0 g"]
        for index, line in enumerate(lines[name][: spec.lines]):
            y = variant.page_height - (box.top + index * spec.leading + offset)
            text.append(f"1 0 0 1 {box.x:.3f} {y:.3f} Tm <{program.encode(line).decode()}> Tj")
        text.append("ET")
        page_ops.append(" ".join(text))
    return {page: ("q " + "\n".join(parts) + " Q").encode("latin-1") for page, parts in ops.items()}


_TYPE, _PAGE, _PARENT = NameObject("/Type"), NameObject("/Page"), NameObject("/Parent")
_MEDIA_BOX, _RESOURCES, _CONTENTS = NameObject("/MediaBox"), NameObject("/Resources"), NameObject("/Contents")

_READERS: dict[int, tuple[Variant, PdfReader]] = {}
_READERS_MAX = 256


def _reader(variant: Variant) -> PdfReader:
    """The variant's PDF parsed once per process, not once per batch (bounded like the variant cache)."""
    entry = _READERS.get(id(variant))
    if entry is None or entry[0] is not variant:
        if len(_READERS) >= _READERS_MAX:
            del _READERS[next(iter(_READERS))]
        entry = _READERS[id(variant)] = (variant, PdfReader(io.BytesIO(variant.pdf)))
    return entry[1]


class _Assembler:
    """Copies each variant's pages into the writer once, then adds stamped pages that share them."""

    def __init__(self, specimen: bool) -> None:
        self.writer = PdfWriter()
        self.specimen = specimen
        self.fonts = {style: _font_object(self.writer, style) for style in FONT_RESOURCES}
        self.push = _stream(self.writer, b"q\n", compress=False)
        self.pop = _stream(self.writer, b"\nQ\n", compress=False)
        # keyed by id(): `self.variants` keeps each variant alive for the batch, so ids are not reused
        self.templates: dict[int, list[tuple[DictionaryObject, ArrayObject, ArrayObject]]] = {}
        self.variants: list[Variant] = []
        self.addresses: list[list[str]] = []  # each letter's recipient block, in order
        # Pages go straight into the page tree's /Kids: `PdfWriter.add_page` clones every page dictionary
        # (a tenth of a batch's time) to protect pages read from another file, which these are not.
        self.pages_ref = self.writer._pages
        self.kids = self.pages_ref.get_object()[NameObject("/Kids")]

    def _template(self, variant: Variant) -> list[tuple[DictionaryObject, ArrayObject, ArrayObject]]:
        pages = self.templates.get(id(variant))
        if pages is None:
            pages = []
            for page in _reader(variant).pages:
                resources = page["/Resources"].get_object().clone(self.writer)
                font_dict = resources.get("/Font")
                font_dict = font_dict.get_object() if font_dict is not None else DictionaryObject()
                font_dict = DictionaryObject({**font_dict})
                for style, name in FONT_RESOURCES.items():
                    font_dict[NameObject(name)] = self.fonts[style]
                resources[NameObject("/Font")] = font_dict
                contents = page["/Contents"]
                contents = contents if isinstance(contents, ArrayObject) else ArrayObject([contents])
                refs = ArrayObject(c.clone(self.writer) if isinstance(c, IndirectObject) else c for c in contents)
                media_box = ArrayObject(FloatObject(float(v)) for v in page.mediabox)
                pages.append((self.writer._add_object(resources), refs, media_box))
            self.templates[id(variant)] = pages
            self.variants.append(variant)
        return pages

    def _page(self, media_box: ArrayObject, resources=None, contents=None) -> None:
        page = DictionaryObject()
        page[_TYPE] = _PAGE
        page[_PARENT] = self.pages_ref
        page[_MEDIA_BOX] = media_box
        if resources is not None:
            page[_RESOURCES] = resources
            page[_CONTENTS] = contents
        else:
            page[_RESOURCES] = DictionaryObject()
        self.kids.append(self.writer._add_object(page))

    def add_letter(self, letter: LetterData, *, pad_to_even: bool) -> int:
        variant = variant_for(letter, specimen=self.specimen)
        template = self._template(variant)
        lines = slot_lines(letter)
        self.addresses.append(lines["address"])  # for the manifest: the AFNOR block is worked out once
        overlays = overlay_stream(letter, variant, lines)
        for index, (resources, contents, media_box) in enumerate(template):
            stream = [self.push, *contents, self.pop]
            if index in overlays:
                stream.append(_stream(self.writer, overlays[index]))
            self._page(media_box, resources, ArrayObject(stream))
        if pad_to_even and len(template) % 2:
            self._page(template[-1][2])
        return len(template)

    def finish(self, seed: bytes) -> bytes:
        self.pages_ref.get_object()[NameObject("/Count")] = NumberObject(len(self.kids))
        digest = ByteStringObject(hashlib.md5(seed, usedforsecurity=False).digest())
        self.writer._ID = ArrayObject([digest, digest])
        self.writer.add_metadata({"/Producer": "notifier letters", "/Creator": "notifier"})
        buffer = io.BytesIO()
        self.writer.write(buffer)
        return buffer.getvalue()


def _manifest(
    letters: list[LetterData], page_counts: list[int], first_pages: list[int], addresses: list[list[str]]
) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MANIFEST_COLUMNS)
    rows = zip(letters, page_counts, first_pages, addresses, strict=True)
    for sequence, (letter, pages, first, address) in enumerate(rows, 1):
        lines = (address + [""] * 6)[:6]
        # Formula-safe like every export: the address is leaked text the provider opens in a spreadsheet.
        cells = [sequence, letter.reference, first, pages, *lines, letter.postcode, letter.city, letter.country]
        writer.writerow([formula_safe(cell) for cell in cells])
    return out.getvalue()


def assemble(letters: Iterable[LetterData], *, duplex: bool = True, specimen: bool = False) -> PrintBatchFiles:
    """Merge `letters` (in order) into one PDF and its manifest; see module docstring."""
    letters = list(letters)
    if not letters:
        raise ValueError("Un lot d'impression doit contenir au moins une lettre.")
    prepare_variants(letters, specimen=specimen)
    assembler = _Assembler(specimen)
    page_counts, first_pages, page = [], [], 1
    for letter in letters:
        first_pages.append(page)
        count = assembler.add_letter(letter, pad_to_even=duplex)
        page_counts.append(count)
        page += count + (count % 2 if duplex else 0)
    manifest = _manifest(letters, page_counts, first_pages, assembler.addresses)
    pdf = assembler.finish(manifest.encode())
    return PrintBatchFiles(
        pdf=pdf,
        manifest_csv=manifest,
        page_counts=tuple(page_counts),
        first_pages=tuple(first_pages),
        total_pages=page - 1,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        manifest_sha256=hashlib.sha256(manifest.encode()).hexdigest(),
    )


def build_print_batch(letters: Iterable[LetterData]) -> PrintBatchFiles:
    """A print batch of `letters`: each starts on an odd page; same letters → byte-identical files."""
    return assemble(letters, duplex=True)
