"""The bundled letter font, as used by the fast PDF step: metrics, fitting text, and a PDF font object.

WeasyPrint lays out the shared part of each letter with the bundled DejaVu Sans (static/letters/fonts);
the per-patient lines are drawn with the *same* font file, subset once per process to the characters a
letter may carry (Latin scripts, French punctuation). Characters outside that set are printed as '?'
by both rendering paths, so the fast path and the plain WeasyPrint path always print the same text.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass
from pathlib import Path

from fontTools import subset as ft_subset
from fontTools.ttLib import TTFont

FONT_DIR = Path(__file__).resolve().parent.parent / "static" / "letters" / "fonts"
FONT_FILES = {"regular": FONT_DIR / "DejaVuSans.ttf", "bold": FONT_DIR / "DejaVuSans-Bold.ttf"}

# Basic Latin, Latin-1, Latin Extended-A/B, the French quotes, dashes, apostrophes, bullet, ellipsis, €.
_RANGES = [(0x20, 0x7E), (0xA0, 0x24F), (0x2010, 0x2027), (0x2030, 0x203A), (0x20AC, 0x20AC)]
CHARSET = frozenset(chr(c) for lo, hi in _RANGES for c in range(lo, hi + 1))
ELLIPSIS = "…"
_SPACES = re.compile(r"[^\S\u00a0]+")


@dataclass(frozen=True)
class FontProgram:
    """A subset font ready for PDF embedding: bytes, glyph ids and advance widths (1/1000 em)."""

    name: str
    data: bytes
    gids: dict[str, int]
    widths: dict[int, int]  # gid -> advance in 1/1000 em
    ascent: int
    descent: int
    cap_height: int
    bbox: tuple[int, int, int, int]

    def width(self, text: str, size: float) -> float:
        """Advance width of `text` in points at `size` (no kerning, like the drawing step)."""
        gids, widths = self.gids, self.widths
        return sum(widths[gids[c]] for c in text) * size / 1000

    def encode(self, text: str) -> bytes:
        """Text as big-endian 2-byte glyph ids (Identity-H), hex for a PDF string."""
        return "".join(f"{self.gids[c]:04X}" for c in text).encode("ascii")


@functools.cache
def font(style: str = "regular") -> FontProgram:
    """The subset font program for `style` ("regular" or "bold"), built once per process."""
    source = FONT_FILES[style]
    options = ft_subset.Options()
    options.layout_features = []
    options.hinting = False
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6]
    options.notdef_outline = True
    subsetter = ft_subset.Subsetter(options)
    ttf = TTFont(source, recalcTimestamp=False)
    available = set(ttf.getBestCmap())
    subsetter.populate(unicodes=sorted(ord(c) for c in CHARSET if ord(c) in available))
    subsetter.subset(ttf)
    buffer = io.BytesIO()
    ttf.save(buffer)
    data = buffer.getvalue()
    sub = TTFont(io.BytesIO(data))
    upem = sub["head"].unitsPerEm
    cmap = sub.getBestCmap()
    glyph_order = sub.getGlyphOrder()
    gid_of = {name: i for i, name in enumerate(glyph_order)}
    gids = {chr(code): gid_of[name] for code, name in cmap.items()}
    widths = {gid_of[name]: round(adv * 1000 / upem) for name, (adv, _lsb) in sub["hmtx"].metrics.items()}
    head, hhea, os2 = sub["head"], sub["hhea"], sub["OS/2"]

    def scale(v: int) -> int:
        return round(v * 1000 / upem)

    return FontProgram(
        name=sub["name"].getDebugName(6) or source.stem,
        data=data,
        gids=gids,
        widths=widths,
        ascent=scale(hhea.ascent),
        descent=scale(hhea.descent),
        cap_height=scale(getattr(os2, "sCapHeight", hhea.ascent)),
        bbox=(scale(head.xMin), scale(head.yMin), scale(head.xMax), scale(head.yMax)),
    )


def printable(text: str) -> str:
    """`text` on one line, with characters the letter font cannot print replaced by '?'.

    Non-breaking spaces (French typography: « Référence : ») are kept; other white space becomes one space."""
    text = _SPACES.sub(" ", str(text)).strip(" ")
    return "".join(c if c in CHARSET else "?" for c in text)


def fit(text: str, *, size: float, max_width: float, style: str = "regular") -> str:
    """`text` made printable and cut (with '…') so it fits in `max_width` points at `size`."""
    text = printable(text)
    program = font(style)
    if program.width(text, size) <= max_width:
        return text
    budget = max_width - program.width(ELLIPSIS, size)
    out, used = [], 0.0
    for char in text:
        used += program.widths[program.gids[char]] * size / 1000
        if used > budget:
            break
        out.append(char)
    return "".join(out).rstrip() + ELLIPSIS
