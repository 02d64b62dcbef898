"""A WeasyPrint URL fetcher that serves only the project's own static files.

Letters are rendered from data that came out of a leaked file: a name like `url(file:///etc/passwd)` or
an address pointing at a cloud metadata service must never make the renderer read a file or open a
connection. Only `static:` style paths under the letters' static directory (and `data:` images we
build ourselves) are served; everything else is refused with a clear error.
"""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

STATIC_ROOT = (Path(__file__).resolve().parent.parent / "static").resolve()
# The base URL templates are rendered against: relative URLs ("letters/v1/letter.css") resolve here.
BASE_URL = "https://letters.invalid/static/"
_ALLOWED_DATA_TYPES = {"image/svg+xml", "image/png", "image/jpeg"}


class RefusedURL(ValueError):
    """The letter asked for something outside the project's static files."""


def static_path(url: str) -> Path:
    """The file under static/ that `url` names, or RefusedURL."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}/" != "https://letters.invalid/" or not parts.path.startswith("/static/"):
        raise RefusedURL(f"Adresse refusée dans une lettre : {url[:200]!r}")
    relative = unquote(parts.path.removeprefix("/static/"))
    path = (STATIC_ROOT / relative).resolve()
    if not path.is_relative_to(STATIC_ROOT) or not path.is_file():
        raise RefusedURL(f"Fichier statique introuvable ou hors du projet : {relative[:200]!r}")
    return path


def _data_url(url: str) -> tuple[bytes, str]:
    header, _, payload = url[5:].partition(",")
    media_type = header.split(";")[0].lower()
    if media_type not in _ALLOWED_DATA_TYPES:
        raise RefusedURL(f"Type de donnée refusé dans une lettre : {media_type!r}")
    body = base64.b64decode(payload) if header.endswith(";base64") else unquote(payload).encode()
    return body, media_type


class StaticOnlyURLFetcher(URLFetcher):
    """Serve static files of this project and our own data: images; refuse anything else."""

    def __init__(self) -> None:
        super().__init__(timeout=1, allow_redirects=False, fail_on_errors=False)

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        if url.lower().startswith("data:"):
            body, media_type = _data_url(url)
            return URLFetcherResponse(url, body, {"Content-Type": media_type})
        path = static_path(url)
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix == ".ttf":
            media_type = "font/ttf"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": media_type})
