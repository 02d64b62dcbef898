"""The variant cache: each variant is laid out once per machine, shared by the worker processes.

A variant (see `letters.slots`) holds no patient data, so its layout is kept in memory (LRU) and on a
disk cache shared by the workers of a machine (settings.LETTERS_VARIANT_CACHE_DIR), keyed by everything
the layout depends on.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from weasyprint import __version__ as WEASYPRINT_VERSION

from .content import LetterData
from .layout import SlotBox, Variant, layout_variant
from .slots import variant_key

VARIANT_CACHE_SIZE = 256  # layouts kept per process (a few MB): bounded so memory stays flat
WAIT_FOR_OTHERS_SECONDS = 120  # past this, a variant another worker still holds is laid out on first use


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


@contextlib.contextmanager
def _claim(path: Path) -> Iterator[bool]:
    """Whether this process may lay out the variant cached at `path`: True while it holds the claim.

    A claim is an exclusive flock on a lock file next to the cache entry, not the file's existence: the
    kernel releases it when its process exits or is killed, so a dead worker never leaves a claim the
    others would have to time out. The lock files stay (empty, one per variant): removing one that
    another process has just opened would let two processes hold "the" lock."""
    lock = path.with_suffix(".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = True
        except BlockingIOError:
            held = False
        yield held  # a held lock is released when the file is closed


def prepare_variants(letters: list[LetterData], *, specimen: bool = False) -> None:
    """Lay out the variants `letters` need, sharing the work with concurrent workers.

    Workers starting batches at the same time need the same common variants (a layout costs ~100 ms, a
    campaign has hundreds): each claims the ones no one is laying out, then picks up the others' results
    from the disk cache, instead of all laying out all.
    """
    keys = list(dict.fromkeys(variant_key(letter) for letter in letters))
    pending = {key: _disk_cache_path(key, specimen) for key in keys}
    if any(path is None for path in pending.values()):
        return  # no shared cache: variants are laid out on first use
    deadline = time.monotonic() + WAIT_FOR_OTHERS_SECONDS
    while pending:
        for key, path in list(pending.items()):
            if not path.exists():
                with _claim(path) as mine:
                    if not mine:
                        continue  # another worker is laying it out: come back for its result
                    _cached_variant(key, specimen)  # reads the disk first: it may have been published meanwhile
            del pending[key]
        if pending:
            if time.monotonic() > deadline:
                return  # leave the rest to first use
            time.sleep(0.02)
