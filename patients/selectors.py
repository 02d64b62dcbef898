"""Reads on patients: what a breach exposed, in aggregate (no patient row leaves this function)."""

from __future__ import annotations

from collections import Counter

from django.db.models import Count, Q

from labs.models import Breach

from .categories import Exposure, Sensitive
from .models import Patient


def breach_exposure_summary(*, breach: Breach) -> dict:
    """Counts over every patient of the breach: per laboratory, per sensitive class, per contact channel."""
    patients = Patient.objects.filter(breach=breach)
    by_lab = dict(patients.values_list("laboratory__code").annotate(n=Count("id")).order_by("laboratory__code"))
    masks = patients.values_list("exposure_mask", "sensitive_mask").annotate(n=Count("id")).order_by()
    sensitive: Counter[str] = Counter({flag.name.lower(): 0 for flag in Sensitive})
    exposed: Counter[str] = Counter()
    for exposure_mask, sensitive_mask, n in masks:
        for flag in Sensitive:
            if sensitive_mask & flag:
                sensitive[flag.name.lower()] += n
        for flag in (Exposure.NIR, Exposure.PORTAL_PASSWORD):
            if exposure_mask & flag:
                exposed[flag.name.lower()] += n
    channels = patients.aggregate(
        total=Count("id"),
        email=Count("id", filter=~Q(email="")),
        phone=Count("id", filter=~Q(landline_phone="") | ~Q(mobile_phone="")),
        postal=Count("id", filter=~Q(address_line="") & ~Q(postcode="") & ~Q(city="")),
    )
    return {
        "patients": channels["total"],
        "laboratories": len(by_lab),
        "patients_by_lab": by_lab,
        "sensitive_patients": dict(sensitive),
        "patients_with_email": channels["email"],
        "patients_with_postal_address": channels["postal"],
        "patients_with_phone": channels["phone"],
        "patients_with_nir_exposed": exposed["nir"],
        "patients_with_password_exposed": exposed["portal_password"],
    }
