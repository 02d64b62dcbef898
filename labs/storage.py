"""Where the app's files live: the "private" storage of settings.STORAGES, for every app.

Print batches, laid-out letter variants, import rejects files and CNIL receipts are saved under keys such
as "print/campaign-7/batch-0003.pdf", never as server paths. The embedded shape keeps them on the file
system under NOTIFIER_VAR_DIR (files 0600, folders 0700); the server shape in an S3-compatible bucket
(django-storages, private ACL, optional server-side encryption), so that every host — web, workers, beat —
reads what any other wrote. Nothing here is served by a web server: downloads go through audited views.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from typing import IO

from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage, storages

PRIVATE = "private"
CHUNK = 1 << 20


def private_storage() -> Storage:
    return storages[PRIVATE]


def private_save(key: str, content: bytes | IO[bytes]) -> str:
    """Write `content` under `key`, replacing what was there; returns the key. Both backends overwrite
    (file_overwrite / allow_overwrite): the keys are chosen by the app, never derived from an upload's name."""
    body = ContentFile(content) if isinstance(content, bytes) else File(content)
    saved = private_storage().save(key, body)
    if saved != key:  # a backend renaming it would leave the database pointing at another file
        raise RuntimeError(f"storage saved {key!r} as {saved!r}: configure it to overwrite")
    return saved


def private_open(key: str) -> File:
    """The file under `key`, opened for reading in binary mode (streamed: S3 reads it in ranges)."""
    return private_storage().open(key, "rb")


def private_read(key: str) -> bytes:
    with private_open(key) as handle:
        return handle.read()


def private_exists(key: str) -> bool:
    return bool(key) and private_storage().exists(key)


def private_size(key: str) -> int:
    return private_storage().size(key)


def private_delete(key: str) -> None:
    """Delete `key`; a key already gone is not an error (purges and clean-ups may run twice)."""
    if key:
        private_storage().delete(key)


def private_sha256(key: str) -> str:
    """The SHA-256 of the stored file, read in chunks."""
    digest = hashlib.sha256()
    with private_open(key) as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def private_files_older_than(prefix: str, cutoff: dt.datetime) -> Iterator[str]:
    """Keys of the files directly under `prefix` last written before `cutoff` (retention purges)."""
    storage = private_storage()
    try:
        _folders, names = storage.listdir(prefix)
    except FileNotFoundError:  # the file system has no such folder yet (S3 lists nothing instead)
        return
    for name in names:
        key = f"{prefix.rstrip('/')}/{name}"
        try:
            if storage.get_modified_time(key) < cutoff:
                yield key
        except FileNotFoundError:  # gone meanwhile: another purge got there first
            continue
