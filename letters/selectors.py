"""Reads for the letters app: which patients to show the DPO before a campaign is approved."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Min
from django.utils import timezone

from patients.models import Patient, minors_on

from .slots import postal_block_of
from .versions import LANGUAGES


def preview_samples(*, breach, laboratory, limit: int = 100, on: dt.date | None = None) -> list[Patient]:
    """One patient per combination of exposure categories present (most frequent first), plus a minor on
    `on` (today: the sample letters' date) when the laboratory has any and none was picked. `limit` bounds
    the list for odd data."""
    on = on or timezone.localdate()
    patients = Patient.objects.filter(breach=breach, laboratory=laboratory)
    combinations = (
        patients.values("exposure_mask").annotate(first_id=Min("pk"), n=Count("pk")).order_by("-n", "exposure_mask")
    )
    ids = [row["first_id"] for row in combinations[:limit]]
    samples = list(Patient.objects.filter(pk__in=ids).select_related("laboratory", "breach"))
    samples.sort(key=lambda patient: ids.index(patient.pk))
    if not any(patient.minor_on(on) for patient in samples):
        minor = patients.filter(minors_on(on)).select_related("laboratory", "breach").order_by("pk").first()
        if minor is not None:
            samples.append(minor)
    return samples


def addresses_that_cannot_fit(
    *, breach, laboratory, on: dt.date | None = None
) -> list[tuple[Patient, tuple[str, ...]]]:
    """Patients of (breach, laboratory) whose recipient block cannot be laid out in 6 lines of 38 characters
    (AFNOR NF Z10-011) without cutting, in French or English, with the cut lines that would print."""
    on = on or timezone.localdate()
    out = []
    patients = Patient.objects.filter(breach=breach, laboratory=laboratory).exclude(address_line="").order_by("pk")
    for patient in patients.only(*_ADDRESS_FIELDS).iterator(chunk_size=2000):
        minor = patient.minor_on(on)
        # an adult's block reads the same in both languages; a minor's names the guardians in each
        for language in LANGUAGES if minor else LANGUAGES[:1]:
            block = postal_block_of(
                civility=patient.civility, first_name=patient.first_name, last_name=patient.last_name,
                is_minor=minor, language=language, address=tuple(patient.address_line.splitlines()), postcode=patient.postcode,
                city=patient.city, country=patient.country,
            )  # fmt: skip
            if not block.fits:
                out.append((patient, block.lines))
                break
    return out


_ADDRESS_FIELDS = (
    "pk", "civility", "first_name", "last_name", "birth_date", "address_line", "postcode", "city", "country",
)  # fmt: skip
