"""Print batches: the merged PDF and its manifest agree, letters start on odd pages, re-runs are identical."""

from __future__ import annotations

import base64
import csv
import dataclasses
import io
import json

import pytest
from pypdf import PdfReader

from letters.printing import MANIFEST_COLUMNS, build_print_batch
from letters.render import render_letter_pdf
from patients.categories import Exposure

from .conftest import ALL_CATEGORIES, CHILD_BIRTH, pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def letters(make_letter):
    """Four letters of different variants (languages, minor, categories), one with an odd page count."""
    few = int(Exposure.IDENTITY | Exposure.POSTAL_ADDRESS)
    made = [
        make_letter(exposure_mask=ALL_CATEGORIES)[1],
        make_letter(language="en", birth_date=CHILD_BIRTH, exposure_mask=few)[1],
        make_letter(exposure_mask=few)[1],
        make_letter(exposure_mask=ALL_CATEGORIES, country="BE", city="Bruxelles", postcode="1000")[1],
    ]
    # a long breach description makes one letter run to 3 pages: the next must still start on an odd page
    made[2] = dataclasses.replace(made[2], breach_description="Une phrase d'explication assez longue. " * 120)
    return made


def _pages_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_manifest_matches_the_merged_pdf_page_counts_order_and_odd_starts(letters):
    # given letters of several variants
    # when they are built into a print batch
    batch = build_print_batch(letters)
    rows = list(csv.DictReader(io.StringIO(batch.manifest_csv)))
    pages = _pages_text(batch.pdf)
    # then the manifest lists every letter in order with its page count and first page
    assert list(rows[0]) == MANIFEST_COLUMNS
    assert [row["reference"] for row in rows] == [letter.reference for letter in letters]
    assert [int(row["pages"]) for row in rows] == list(batch.page_counts)
    assert 3 in batch.page_counts
    assert all(int(row["first_page"]) % 2 == 1 for row in rows)
    assert len(pages) == batch.total_pages
    for row, letter in zip(rows, letters, strict=True):
        first = int(row["first_page"]) - 1
        # each letter's first page carries its own reference, its last page its own code
        assert letter.reference in pages[first]
        assert letter.status_code in pages[first + int(row["pages"]) - 1]
        assert row["postcode"] == letter.postcode and row["country"] == letter.country
    # and the padding pages after odd-length letters are blank
    for row in rows:
        end = int(row["first_page"]) - 1 + int(row["pages"])
        if int(row["pages"]) % 2:
            assert pages[end].strip() == ""
    # and the manifest carries the printed address block, country line included
    assert "BELGIQUE" in [rows[3][f"address_{i}"] for i in range(1, 7)]


def test_a_rerun_batch_has_byte_identical_files_and_checksums(letters):
    # given a batch built once
    first = build_print_batch(letters)
    # when the same letters are built again
    second = build_print_batch(letters)
    # then the files and their checksums are identical, and differ for other letters
    assert first.pdf == second.pdf and first.manifest_csv == second.manifest_csv
    assert (first.pdf_sha256, first.manifest_sha256) == (second.pdf_sha256, second.manifest_sha256)
    assert build_print_batch(letters[:2]).pdf_sha256 != first.pdf_sha256


def test_the_on_demand_letter_is_the_letter_printed_in_the_batch(letters):
    # given a batch
    batch = build_print_batch(letters)
    pages = _pages_text(batch.pdf)
    # when one patient's letter is rendered on demand
    index = 1
    alone = _pages_text(render_letter_pdf(letters[index]))
    # then it has the same pages, with the same text, as in the batch
    first = batch.first_pages[index] - 1
    assert alone == pages[first : first + batch.page_counts[index]]


def test_an_empty_batch_is_refused_with_a_clear_message():
    # given no letters, when a batch is built, then the message says why
    with pytest.raises(ValueError, match="au moins une lettre"):
        build_print_batch([])


def test_batch_text_is_extractable_with_poppler(letters):
    # given a batch, then poppler extracts each patient's name as printed
    text = pdf_text(build_print_batch(letters[:1]).pdf)
    assert letters[0].recipient_last_name.upper() in text


def test_letters_differing_only_in_personal_fields_share_one_variant(letters):
    # given two letters of the same variant, differing in every personal field
    from letters.slots import variant_key

    other = dataclasses.replace(
        letters[0], reference="X-2", recipient_last_name="Autre", address_lines=("1 rue B",), status_code="ZZ"
    )
    # then they share a variant key, and a different language does not
    assert variant_key(other) == variant_key(letters[0])
    assert variant_key(dataclasses.replace(other, language="en")) != variant_key(letters[0])


def test_a_laid_out_variant_is_reused_from_the_shared_cache_by_a_fresh_process(letters, tmp_path):
    # given the private storage (the test's var dir) and a letter rendered once
    from letters.variants import _cached_variant

    _cached_variant.cache_clear()
    first = render_letter_pdf(letters[0])
    cached = list((tmp_path / "letters" / "variants").rglob("*.json"))
    # when a fresh process (empty in-memory cache) renders it again
    _cached_variant.cache_clear()
    second = render_letter_pdf(letters[0])
    # then the layout came from the shared cache, holds no personal data, and gives the same letter
    assert len(cached) == 1
    layout_text = pdf_text(base64.b64decode(json.loads(cached[0].read_text())["pdf"]))
    assert "Ce qui s'est passé" in layout_text
    for personal in (letters[0].reference, letters[0].status_code, letters[0].recipient_last_name.upper()):
        assert personal not in layout_text
    assert second == first


@pytest.mark.parametrize(("index", "status_path"), [(0, "/verifier/#"), (1, "/check/#")])
def test_the_printed_qr_code_is_the_status_url_with_the_code_after_the_hash(letters, tmp_path, index, status_path):
    # given a letter rendered by the fast path, French (/verifier/) or English (/check/)
    import shutil
    import subprocess

    import segno
    from PIL import Image

    from letters.slots import SLOTS
    from letters.variants import variant_for

    letter = letters[index]
    variant = variant_for(letter)
    box = variant.slots["qr"]
    (tmp_path / "letter.pdf").write_bytes(render_letter_pdf(letter))
    # when its QR page is rasterised at 300 dpi and each module's centre is sampled
    page = box.page + 1
    command = [shutil.which("pdftoppm") or "pdftoppm", "-r", "300", "-gray", "-f", str(page), "-l", str(page)]
    subprocess.run([*command, "-png", str(tmp_path / "letter.pdf"), str(tmp_path / "p")], check=True)  # noqa: S603
    image = Image.open(next(tmp_path.glob("p*.png"))).convert("L")
    expected = segno.make(letter.qr_url, error="m", mode="byte", micro=False, mask=0, boost_error=False).matrix
    modules = len(expected) + 4  # 2-module quiet zone on each side
    unit = SLOTS["qr"].width / modules * 300 / 72
    left, top = box.x * 300 / 72, box.top * 300 / 72
    sampled = [
        tuple(
            int(image.getpixel((int(left + (c + 2.5) * unit), int(top + (r + 2.5) * unit))) < 128)
            for c in range(len(expected))
        )
        for r in range(len(expected))
    ]
    # then the printed modules are exactly the QR code of the status URL with the code after '#'
    assert sampled == [tuple(row) for row in expected]
    assert letter.qr_url.endswith(status_path + letter.status_code)


def test_workers_share_variant_layouts_and_a_killed_workers_claim_is_released(letters, monkeypatch):
    # given a shared variant cache (embedded shape: claims are flocks on local lock files), a layout counter
    import fcntl
    import subprocess
    import sys
    import threading
    import time

    from labs.storage import private_exists
    from letters import variants

    variants._cached_variant.cache_clear()
    laid_out = []
    real_layout = variants.layout_variant
    monkeypatch.setattr(variants, "layout_variant", lambda key, **kw: laid_out.append(key) or real_layout(key, **kw))
    key = variants.variant_key(letters[0])
    cache_key = variants._cache_key(key, False)
    lock_path = variants._local_lock_path(cache_key)
    # when another worker holds the claim and publishes the layout a moment later
    lock_path.parent.mkdir(parents=True)
    claimed = threading.Event()

    def other_worker():
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            claimed.set()
            time.sleep(0.3)
            variants._store(cache_key, real_layout(key))

    thread = threading.Thread(target=other_worker)
    thread.start()
    claimed.wait()
    variants.prepare_variants([letters[0]])
    thread.join()
    # then this worker waited and laid out nothing itself
    assert laid_out == [] and private_exists(cache_key)

    # when the worker holding a claim is killed before publishing
    other = variants.variant_key(letters[2])
    other_key = variants._cache_key(other, False)
    killed = subprocess.run(  # noqa: S603 - fixed argv
        [
            sys.executable,
            "-c",
            "import fcntl, os, signal, sys; lock = open(sys.argv[1], 'a'); fcntl.flock(lock, fcntl.LOCK_EX); "
            "os.kill(os.getpid(), signal.SIGKILL)",
            str(variants._local_lock_path(other_key)),
        ],
        check=False,
    )
    assert killed.returncode == -9 and variants._local_lock_path(other_key).exists()
    started = time.monotonic()
    variants.prepare_variants([letters[2]])
    # then its claim died with it: laid out here at once, and published
    assert laid_out == [other] and private_exists(other_key)
    assert time.monotonic() - started < variants.WAIT_FOR_OTHERS_SECONDS / 2
