"""A zip written entry by entry, each entry hashed as it is written, closed by its manifest.

`manifest.json` (every file: path, sha256, size, what it is) and `MANIFEST.sha256` (the lines `sha256sum -c`
reads, manifest.json and README.txt included) are the last two entries: whoever receives the zip checks every
file without notifier (`unzip pack.zip -d pack && cd pack && sha256sum -c MANIFEST.sha256`).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import IO, Any

from labs.exports import formula_safe

MANIFEST_JSON = "manifest.json"
MANIFEST_SHA256 = "MANIFEST.sha256"
README = "README.txt"


@dataclass(frozen=True)
class Entry:
    path: str
    sha256: str
    size: int
    description: str


class _HashingWriter(io.RawIOBase):
    """Passes bytes to the zip entry and to sha256 at once (a large audit extract is never held in memory)."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target, self.digest, self.size = target, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        data = bytes(data)
        self.target.write(data)
        self.digest.update(data)
        self.size += len(data)
        return len(data)


class EvidenceZip:
    """`add_bytes` / `add_csv` the files, then `close(readme=..., metadata=...)`: the manifest comes last."""

    def __init__(self, handle: IO[bytes], *, written_at: dt.datetime) -> None:
        self.zip = zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED)
        self.entries: list[Entry] = []
        self._date_time = written_at.timetuple()[:6]

    def _info(self, path: str) -> zipfile.ZipInfo:
        if path in {e.path for e in self.entries}:
            raise ValueError(f"fichier en double dans le dossier : {path}")
        info = zipfile.ZipInfo(path, date_time=self._date_time)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16  # unzipped readable by its owner only
        return info

    @contextmanager
    def open(self, path: str, description: str) -> Iterator[_HashingWriter]:
        with self.zip.open(self._info(path), "w") as target:
            writer = _HashingWriter(target)
            yield writer
        self.entries.append(Entry(path, writer.digest.hexdigest(), writer.size, description))

    def add_bytes(self, path: str, data: bytes, description: str) -> None:
        with self.open(path, description) as out:
            out.write(data)

    def add_text(self, path: str, text: str, description: str) -> None:
        self.add_bytes(path, text.encode("utf-8"), description)

    def add_csv(self, path: str, header: list[str], rows: Iterable[Iterable[Any]], description: str) -> None:
        """UTF-8 with a BOM and `;` (what a French spreadsheet opens as is), every cell formula-safe."""
        with self.open(path, description) as out:
            text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
            writer = csv.writer(text, delimiter=";")
            writer.writerow(header)
            for row in rows:
                writer.writerow([formula_safe("" if cell is None else cell) for cell in row])
            text.flush()
            text.detach()

    def close(self, *, readme: str, metadata: dict[str, Any]) -> list[Entry]:
        """Write README.txt, manifest.json and MANIFEST.sha256, close the zip; returns every entry."""
        if {README, MANIFEST_JSON, MANIFEST_SHA256} & {entry.path for entry in self.entries}:
            raise ValueError("README.txt, manifest.json et MANIFEST.sha256 sont écrits à la fermeture du dossier")
        self.add_text(README, readme, "ce que contient le dossier et comment le vérifier")
        manifest = {**metadata, "files": [asdict(entry) for entry in self.entries]}
        self.add_text(
            MANIFEST_JSON,
            json.dumps(manifest, ensure_ascii=False, indent=2),
            "la liste des fichiers et leurs empreintes",
        )
        lines = "".join(f"{entry.sha256}  {entry.path}\n" for entry in self.entries)
        info = self._info(MANIFEST_SHA256)
        self.zip.writestr(info, lines.encode("utf-8"))
        self.zip.close()
        return self.entries
