"""The variant cache: each variant is laid out once across all workers of all hosts.

A variant (see `letters.slots`) holds no patient data, so its layout is kept in memory (LRU) and in the
private storage (labs/storage.py, under settings.LETTERS_VARIANT_CACHE_PREFIX: the file system of the
machine, or a bucket every host shares), keyed by everything the layout depends on. Who lays out a
variant is decided by the database (`_claim`), so two workers never lay out the same one twice.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from weasyprint import __version__ as WEASYPRINT_VERSION

from labs.storage import private_exists, private_read, private_save

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


def _cache_key(key: LetterData, specimen: bool) -> str | None:
    """The variant's key in the private storage (None: no shared cache configured)."""
    prefix = getattr(settings, "LETTERS_VARIANT_CACHE_PREFIX", "")
    if not prefix:
        return None
    name = hashlib.sha256(f"{layout_fingerprint()}|{specimen}|{key!r}".encode()).hexdigest()
    return f"{prefix.rstrip('/')}/{name[:2]}/{name}.json"


def _load(cache_key: str) -> Variant | None:
    try:
        raw = json.loads(private_read(cache_key))
    except (OSError, ValueError):  # absent, or being written (file system): lay it out or wait
        return None
    return Variant(
        pdf=base64.b64decode(raw["pdf"]),
        pages=raw["pages"],
        page_height=raw["page_height"],
        slots={name: SlotBox(**box) for name, box in raw["slots"].items()},
    )


def _store(cache_key: str, variant: Variant) -> None:
    payload = {
        "pdf": base64.b64encode(variant.pdf).decode(),
        "pages": variant.pages,
        "page_height": variant.page_height,
        "slots": {name: dataclasses.asdict(box) for name, box in variant.slots.items()},
    }
    private_save(cache_key, json.dumps(payload).encode())


@functools.lru_cache(maxsize=VARIANT_CACHE_SIZE)
def _cached_variant(key: LetterData, specimen: bool) -> Variant:
    """In-process LRU over the shared cache in the private storage (variants hold no patient data)."""
    cache_key = _cache_key(key, specimen)
    if cache_key is not None and (variant := _load(cache_key)) is not None:
        return variant
    variant = layout_variant(key, specimen=specimen)
    if cache_key is not None:
        _store(cache_key, variant)
    return variant


def variant_for(letter: LetterData, *, specimen: bool = False) -> Variant:
    """The (cached) variant `letter` belongs to."""
    return _cached_variant(variant_key(letter), specimen)


@contextlib.contextmanager
def _claim(cache_key: str) -> Iterator[bool]:
    """Whether this process may lay out the variant stored at `cache_key`: True while it holds the claim.

    On PostgreSQL (server shape, any number of hosts) a claim is a transaction-level advisory lock: the
    database releases it at the end of the transaction, or when a killed worker's connection drops, so a
    dead worker never leaves a claim the others would have to time out (and it holds under PgBouncer's
    transaction pooling). The embedded shape (SQLite, one machine) takes an exclusive flock on a local lock
    file instead, which the kernel releases the same way; the lock files stay (empty, one per variant):
    removing one that another process has just opened would let two processes hold "the" lock."""
    if connection.vendor == "postgresql":
        lock_id = int.from_bytes(hashlib.sha256(cache_key.encode()).digest()[:8], "big", signed=True)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [lock_id])
            yield bool(cursor.fetchone()[0])
        return
    lock = _local_lock_path(cache_key)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = True
        except BlockingIOError:
            held = False
        yield held  # a held lock is released when the file is closed


def _local_lock_path(cache_key: str) -> Path:
    return Path(settings.VAR_DIR) / "locks" / f"{hashlib.sha256(cache_key.encode()).hexdigest()}.lock"


def prepare_variants(letters: list[LetterData], *, specimen: bool = False) -> None:
    """Lay out the variants `letters` need, sharing the work with concurrent workers (of any host).

    Workers starting batches at the same time need the same common variants (a layout costs ~100 ms, a
    campaign has hundreds): each claims the ones no one is laying out, then picks up the others' results
    from the shared cache, instead of all laying out all.
    """
    keys = list(dict.fromkeys(variant_key(letter) for letter in letters))
    pending = {key: _cache_key(key, specimen) for key in keys}
    if any(cache_key is None for cache_key in pending.values()):
        return  # no shared cache: variants are laid out on first use
    deadline = time.monotonic() + WAIT_FOR_OTHERS_SECONDS
    while pending:
        for key, cache_key in list(pending.items()):
            if not private_exists(cache_key):
                with _claim(cache_key) as mine:
                    if not mine:
                        continue  # another worker is laying it out: come back for its result
                    _cached_variant(key, specimen)  # reads the cache first: it may have been published meanwhile
            del pending[key]
        if pending:
            if time.monotonic() > deadline:
                return  # leave the rest to first use
            time.sleep(0.02)
