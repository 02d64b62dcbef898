"""Obligations: what a laboratory owes an authority for a breach, one row per (case file, regime).

The regimes are data (settings.NOTIFIER_REGIMES: CNIL Art. 33, Art. 34 communication, ARS / CERT Santé,
NIS2), read here; the row keeps the assessment (to assess → required, or "not required" with a written
rationale approved by a second person). What was filed, and so whether it is late, is read from the
evidence the regime names (the CNIL filings, the people informed by the campaigns, the authority
notifications linked to the obligation): labs/obligation_states.py. Writes: labs/obligation_services.py.
Registered through labs/models.py; refers to the case file by name so this module does not import it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .base import TimeStampedModel

# What files a regime's steps: the kinds of evidence the code knows; which regime uses which is data.
EVIDENCE_KINDS = ("cnil_filing", "people_informed", "authority_notification")
STEP_LABELS = {
    "initial": _("déclaration"),
    "communication": _("information des personnes"),
    "early_warning": _("alerte précoce"),
    "notification": _("notification d'incident"),
    "final_report": _("rapport final"),
}


def regimes() -> dict[str, dict[str, Any]]:
    """Every configured regime by key, enabled or not (an obligation opened earlier keeps its regime)."""
    return settings.NOTIFIER_REGIMES


def regime(key: str) -> dict[str, Any]:
    try:
        return regimes()[key]
    except KeyError:
        raise LookupError(f"Régime inconnu : {key!r} (absent de NOTIFIER_REGIMES).") from None


def enabled_regime_keys() -> list[str]:
    return [key for key, config in regimes().items() if config.get("enabled")]


def regime_label(key: str) -> str:
    return str(regimes().get(key, {}).get("label", key))


def regime_short(key: str) -> str:
    config = regimes().get(key, {})
    return str(config.get("short") or config.get("label") or key)


def regime_choices() -> list[tuple[str, str]]:
    """Django calls it when it needs the choices (a callable: migrations do not freeze the settings)."""
    return [(key, str(config.get("label", key))) for key, config in regimes().items()]


def step_label(step: str) -> str:
    return str(STEP_LABELS.get(step, step))


class Obligation(TimeStampedModel):
    """One regime's obligation for one laboratory's case file: opened at triage, assessed, filed."""

    class Assessment(models.TextChoices):
        TO_ASSESS = "to_assess", _("à évaluer")
        REQUIRED = "required", _("requise")
        PENDING_APPROVAL = "pending_approval", _("« non requise » : en attente d'approbation")
        NOT_REQUIRED = "not_required", _("non requise (motivée, approuvée)")

    case_file = models.ForeignKey(
        "labs.BreachLaboratory", on_delete=models.CASCADE, related_name="obligations", verbose_name=_("dossier")
    )
    regime = models.CharField(_("régime"), max_length=32, choices=regime_choices)
    assessment = models.CharField(
        _("évaluation"), max_length=20, choices=Assessment.choices, default=Assessment.TO_ASSESS
    )
    rationale = models.TextField(_("motif (« non requise »)"), blank=True)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        editable=False, verbose_name=_("évaluée par"),
    )  # fmt: skip
    assessed_at = models.DateTimeField(_("évaluée le"), null=True, blank=True, editable=False)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        editable=False, verbose_name=_("« non requise » approuvée par"),
    )  # fmt: skip
    approved_at = models.DateTimeField(_("approuvée le"), null=True, blank=True, editable=False)

    history = HistoricalRecords()
    lab_path = "case_file__laboratory"

    class Meta:
        ordering = ["case_file", "regime"]
        verbose_name = _("obligation")
        verbose_name_plural = _("obligations (par régime)")
        constraints = [
            models.UniqueConstraint(fields=["case_file", "regime"], name="obligation_once_per_case_file_and_regime"),
            # Four eyes, held by the database too: "not required" takes effect only with a rationale and an
            # approver who is not the assessor.
            models.CheckConstraint(
                condition=~Q(assessment="not_required")
                | (
                    ~Q(rationale="")
                    & Q(assessed_by__isnull=False, approved_by__isnull=False)
                    & ~Q(approved_by=F("assessed_by"))
                ),
                name="obligation_not_required_is_reasoned_and_approved_by_another",
            ),
        ]

    def __str__(self) -> str:
        return f"{regime_label(self.regime)} — {self.case_file}"

    @property
    def regime_config(self) -> dict[str, Any]:
        return regime(self.regime)

    @property
    def regime_label(self) -> str:
        return regime_label(self.regime)
