"""Rendering one letter to PDF, two ways that print the same words in the same places.

- the plain path (`render_letter_pdf_plain`): WeasyPrint lays out the whole letter (≈100 ms), the
  reference the fast path is checked against;
- the fast path (`render_letter_pdf`, and print batches): WeasyPrint lays out each *variant* once
  (`letters.variants`), and `letters.printing` draws the patient's slots onto it.
The on-demand letter uses the fast path so it is the very same content as the letter in the batch.
"""

from __future__ import annotations

from .content import LetterData
from .layout import lay_out
from .printing import assemble


def render_letter_pdf_plain(letter: LetterData, *, specimen: bool = False) -> bytes:
    """The whole letter laid out by WeasyPrint: the reference the fast path is checked against."""
    return lay_out(letter, filled=True, specimen=specimen).write_pdf()


def render_letter_pdf(letter: LetterData, *, specimen: bool = False) -> bytes:
    """One patient's letter (on demand): the same stamped pages as in a print batch, without padding."""
    return assemble([letter], duplex=False, specimen=specimen).pdf
