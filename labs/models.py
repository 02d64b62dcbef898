"""Laboratories (data controllers) and breaches; the app's models registry.

Django registers the models of an app when it imports `<app>.models`, so this module also imports the
models that live with their concept: the audit trail (`labs.audit`), the Art. 33 case files and
filings (`labs.filings`) and the obligations per regime (`labs.obligations`). Those modules never import
this one (they refer to Laboratory and Breach as
"labs.Laboratory", "labs.Breach"), so there is no import cycle.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .audit import AuditEvent
from .base import TimeStampedModel
from .filings import (
    AuthorityNotification,
    BreachLaboratory,
    BreachMeasure,
    CnilFiling,
    DeadlineReminder,
    PublicCommunication,
)
from .obligations import Obligation


class Laboratory(TimeStampedModel):
    """A medical laboratory: a data controller with its own duties towards the CNIL and its patients."""

    code = models.CharField(_("code dans la fuite"), max_length=64, unique=True)
    name = models.CharField(_("nom"), max_length=200)
    finess_ej = models.CharField(_("FINESS EJ"), max_length=9, blank=True)
    finess_eg = models.CharField(_("FINESS EG"), max_length=9, blank=True)
    siren = models.CharField(_("SIREN"), max_length=9, blank=True)
    address_line = models.CharField(_("adresse"), max_length=200, blank=True)
    postcode = models.CharField(_("code postal"), max_length=10, blank=True)
    city = models.CharField(_("ville"), max_length=100, blank=True)
    dpo_name = models.CharField(_("nom du DPO"), max_length=200, blank=True)
    dpo_email = models.EmailField(_("courriel du DPO"), blank=True)
    dpo_phone = models.CharField(_("téléphone du DPO"), max_length=32, blank=True)
    # The CNIL form asks for both a contact person (the DPO) and a legal representative.
    legal_representative_name = models.CharField(_("représentant légal"), max_length=200, blank=True)
    legal_representative_title = models.CharField(_("qualité du représentant légal"), max_length=200, blank=True)
    # Where the call centre sends a journalist (issue 14's call script): never the DPO's own line.
    communication_contact = models.CharField(
        _("contact communication (presse)"),
        max_length=300,
        blank=True,
        help_text=_("Nom, téléphone ou courriel du service de communication, donné aux journalistes."),
    )

    lab_path = "pk"

    class Meta:
        ordering = ["code"]
        verbose_name = _("laboratoire")
        verbose_name_plural = _("laboratoires")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})" if self.name and self.name != self.code else self.code


class LaboratoryMembership(TimeStampedModel):
    """A staff user (DPO or operator) working for a laboratory; what `labs.access` scopes on."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="lab_memberships",
        verbose_name=_("utilisateur"),
    )
    laboratory = models.ForeignKey(
        Laboratory, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("laboratoire")
    )

    lab_path = "laboratory"

    class Meta:
        verbose_name = _("rattachement à un laboratoire")
        verbose_name_plural = _("rattachements aux laboratoires")
        constraints = [models.UniqueConstraint(fields=["user", "laboratory"], name="membership_once_per_user_and_lab")]

    def __str__(self) -> str:
        return f"{self.user} → {self.laboratory}"


class Breach(TimeStampedModel):
    """A personal-data breach at a processor (Art. 33), shared by the laboratories it touched.

    Each laboratory (controller) has its own case file — `BreachLaboratory` — with its own awareness time,
    deadline, Art. 33(3) facts, decisions and CNIL filings."""

    slug = models.SlugField(_("identifiant court"), max_length=80, unique=True)
    title = models.CharField(_("titre"), max_length=200)
    processor = models.CharField(_("sous-traitant"), max_length=200, blank=True)
    aware_at = models.DateTimeField(_("connaissance de la violation"))
    description = models.TextField(_("description"), blank=True)
    # "When" of Art. 34(2)'s plain-language description: the letters print it (letters.content._period).
    period_start = models.DateField(_("période concernée : début"), null=True, blank=True)
    period_end = models.DateField(_("période concernée : fin"), null=True, blank=True)
    # English letters print these (letters.english): a missing one shows on the preview and holds the launch.
    title_en = models.CharField(_("titre en anglais"), max_length=200, blank=True)
    description_en = models.TextField(_("description en anglais"), blank=True)
    laboratories = models.ManyToManyField(
        Laboratory, through="BreachLaboratory", related_name="breaches", verbose_name=_("laboratoires"), blank=True
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-aware_at"]
        verbose_name = _("violation")
        verbose_name_plural = _("violations")

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.period_start and self.period_end and self.period_start > self.period_end:
            raise ValidationError(
                {"period_end": _("La période concernée se termine avant de commencer : vérifiez les deux dates.")}
            )


__all__ = [
    "AuditEvent",
    "AuthorityNotification",
    "Breach",
    "BreachLaboratory",
    "BreachMeasure",
    "CnilFiling",
    "DeadlineReminder",
    "Laboratory",
    "LaboratoryMembership",
    "Obligation",
    "PublicCommunication",
    "TimeStampedModel",
]
