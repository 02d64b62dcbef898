"""Art. 34(3)(c) public communications: recorded with the figures that justify them, frozen at that moment.

The row lives in labs (`labs.filings.PublicCommunication`, read by the register and the case file); the
figures come from the campaign engine (`selectors.unreachable_by_reason`), which labs may not import: this
service computes them and stores a snapshot on the row, the honest record of what was known when it was
published."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils import timezone

from labs.models import BreachLaboratory, PublicCommunication

from .selectors import unreachable_by_reason

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Medium = PublicCommunication.Medium


def public_communication_check(
    *, published_at: dt.datetime | None, medium: str, url: str, where: str, text: str
) -> None:
    """ValidationError (French, per field) unless the publication can be recorded as evidence."""
    errors = {}
    if published_at is None:
        errors["published_at"] = "Indiquez la date et l'heure de la publication."
    elif published_at > timezone.now():
        errors["published_at"] = "Une publication se consigne une fois faite : la date est dans le futur."
    if medium not in Medium.values:
        errors["medium"] = "Choisissez le support de la publication (site web, presse, affichage…)."
    if medium in (Medium.WEBSITE, Medium.SOCIAL) and not url.strip():
        errors["url"] = "Une publication en ligne se prouve par son lien : indiquez l'adresse de la page."
    if medium in (Medium.PRESS, Medium.POSTER, Medium.OTHER) and not where.strip():
        errors["where"] = "Précisez où elle a paru (titre du journal, lieu de l'affichage…)."
    if not text.strip():
        errors["text"] = "Collez le texte publié : il fait partie de la preuve."
    if errors:
        raise ValidationError(errors)


def public_communication_record(
    *, case_file: BreachLaboratory, published_at: dt.datetime, medium: str, where: str = "", url: str = "",
    text: str, by: AbstractBaseUser | None,
) -> PublicCommunication:  # fmt: skip
    """Record one publication with today's unreachable figures frozen on it; the same publication (case file,
    date, support, link) recorded twice is the first row, unchanged."""
    public_communication_check(published_at=published_at, medium=medium, url=url, where=where, text=text)
    existing = PublicCommunication.objects.filter(
        case_file=case_file, published_at=published_at, medium=medium, url=url.strip()
    ).first()
    if existing is not None:
        return existing
    figures = unreachable_by_reason(breach_id=case_file.breach_id, laboratory_id=case_file.laboratory_id)
    return PublicCommunication.objects.create(
        case_file=case_file, published_at=published_at, medium=medium, where=where.strip(), url=url.strip(),
        text=text.strip(), figures=figures, recorded_by=by,
    )  # fmt: skip
