"""Writes on laboratories and breaches."""

from __future__ import annotations

import datetime as dt

from .models import Breach


def breach_create(
    *, slug: str, title: str, aware_at: dt.datetime, processor: str = "", description: str = ""
) -> tuple[Breach, bool]:
    """Create a breach once; calling again with the same slug changes nothing and returns (breach, False)."""
    existing = Breach.objects.filter(slug=slug).first()
    if existing is not None:
        return existing, False
    breach = Breach.objects.create(
        slug=slug, title=title, aware_at=aware_at, processor=processor, description=description
    )
    return breach, True
