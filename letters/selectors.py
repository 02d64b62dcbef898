"""Reads for the letters app: which patients to show the DPO before a campaign is approved."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Min
from django.utils import timezone

from patients.models import Patient, minors_on


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
