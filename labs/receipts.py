"""The authority's acknowledgement of a filing (accusé de réception): a PDF, checked, kept private.

Saved in the private storage under "cnil-receipts/" (labs/storage.py: 0600 files or a private bucket; not
served by the web server: downloaded through the admin, audited), named by a random name, never by the
uploaded one; its SHA-256 is kept with the filing.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .filings import RECEIPT_MAX_BYTES_DEFAULT
from .storage import private_delete, private_read, private_save

PDF_MAGIC = b"%PDF-"


RECEIPTS_PREFIX = "cnil-receipts"


def _key(name: str) -> str:
    # The name comes from the database (written by receipt_store), never from a request.
    return f"{RECEIPTS_PREFIX}/{PurePosixPath(name).name}"


def receipt_max_bytes() -> int:
    return int(getattr(settings, "CNIL_RECEIPT_MAX_BYTES", RECEIPT_MAX_BYTES_DEFAULT))


def receipt_read(upload: Any) -> bytes:
    """The uploaded file's bytes once checked to be a PDF of reasonable size; a French ValidationError otherwise."""
    name = str(getattr(upload, "name", "") or "")
    limit = receipt_max_bytes()
    if getattr(upload, "size", 0) > limit:
        raise ValidationError(
            _("L'accusé de réception dépasse la taille autorisée (%(max)d Mo).") % {"max": limit // (1024 * 1024)}
        )
    content = upload.read(limit + 1)
    if len(content) > limit:
        raise ValidationError(
            _("L'accusé de réception dépasse la taille autorisée (%(max)d Mo).") % {"max": limit // (1024 * 1024)}
        )
    if not name.lower().endswith(".pdf") or not content.startswith(PDF_MAGIC) or b"%%EOF" not in content[-2048:]:
        raise ValidationError(
            _(
                "L'accusé de réception doit être un fichier PDF (celui envoyé par la CNIL) ; « %(name)s » n'en est pas un."
            )
            % {"name": name or "?"}
        )
    return content


def receipt_store(content: bytes) -> tuple[str, str]:
    """Save the receipt in the private storage under a random name; returns (name, sha256)."""
    digest = hashlib.sha256(content).hexdigest()
    name = f"{digest[:16]}-{uuid.uuid4().hex}.pdf"
    private_save(_key(name), content)
    return name, digest


def receipt_discard(name: str) -> None:
    """Remove a receipt written for a filing whose transaction failed."""
    private_delete(_key(name))


def receipt_bytes(name: str) -> bytes:
    return private_read(_key(name))
