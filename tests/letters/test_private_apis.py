"""The private pypdf API print batches use, checked so that an upgrade of pypdf fails here, by name.

letters/printing.py calls `PdfWriter._add_object` (pypdf has no public way to add an object that is not a
page) and sets `PdfWriter._ID` (the public `generate_file_identifiers()` draws random bytes, and a re-run
batch must have the same checksums). Both work in the version pinned in requirements.txt.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pypdf
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, ByteStringObject, DecodedStreamObject, IndirectObject

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements.txt"
PRIVATE_USE = "letters/printing.py uses pypdf's private PdfWriter._add_object and PdfWriter._ID"


def _pinned(package: str) -> str:
    found = re.search(rf"^{re.escape(package)}==(\S+)", REQUIREMENTS.read_text(), re.MULTILINE | re.IGNORECASE)
    assert found, f"{package} is not pinned in requirements.txt: {PRIVATE_USE}, so it must be"
    return found.group(1)


def test_the_installed_pypdf_is_the_pinned_one():
    # given the pin, then the installed pypdf is that version
    assert pypdf.__version__ == _pinned("pypdf"), (
        f"pypdf {pypdf.__version__} is installed but {_pinned('pypdf')} is pinned. {PRIVATE_USE}: "
        "check them against this version (the next test), then update the pin."
    )


def test_pypdf_private_writer_api_still_does_what_printing_relies_on():
    # given a writer
    writer = PdfWriter()
    assert callable(getattr(writer, "_add_object", None)), f"PdfWriter._add_object is gone: {PRIVATE_USE}"
    assert hasattr(writer, "_ID"), f"PdfWriter._ID is gone: {PRIVATE_USE}"
    # when a stream is added with _add_object and the file identifier set through _ID
    stream = DecodedStreamObject()
    stream.set_data(b"q Q")
    reference = writer._add_object(stream)
    digest = ByteStringObject(bytes(range(200, 216)))  # not text, as an MD5 digest
    writer._ID = ArrayObject([digest, digest])
    writer.add_blank_page(10, 10)
    buffer = io.BytesIO()
    writer.write(buffer)
    # then the stream is an indirect object of the writer, and the written file carries that identifier
    assert isinstance(reference, IndirectObject) and reference.get_object() is stream, (
        f"PdfWriter._add_object no longer returns the added object's reference: {PRIVATE_USE}"
    )
    identifier = PdfReader(io.BytesIO(buffer.getvalue())).trailer["/ID"]
    assert [part.original_bytes for part in identifier] == [bytes(digest)] * 2, (
        f"PdfWriter._ID is no longer written as the file identifier: {PRIVATE_USE}"
    )
