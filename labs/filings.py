"""Art. 33 models: a laboratory's case file for a breach, its measures, its CNIL filings and reminders.

Registered through labs/models.py, which imports this module; Laboratory and Breach are referred to by
name ("labs.Laboratory") so this module does not import labs.models back. Deadline arithmetic lives in
labs/deadlines.py, writes in labs/services.py.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .base import TimeStampedModel
from .deadlines import deadline_for

# Consequences the DPO may tick (Art. 33(3)(c)); the free text completes them.
CONSEQUENCES = [
    ("phishing", _("hameçonnage ciblé (courriels, SMS, appels citant les données)")),
    ("identity_theft", _("usurpation d'identité")),
    ("fraud", _("fraude (assurance maladie, mutuelle, paiement)")),
    ("health_disclosure", _("divulgation d'informations de santé")),
    ("discrimination", _("discrimination, atteinte à la réputation")),
    ("account_takeover", _("prise de contrôle de comptes (mot de passe du portail)")),
    ("distress", _("détresse psychologique")),
]
CONSEQUENCE_LABELS = dict(CONSEQUENCES)


class BreachLaboratory(TimeStampedModel):
    """One laboratory's (controller's) case file for a breach: awareness, deadline, Art. 33(3) facts, decisions."""

    class Decision(models.TextChoices):
        UNDECIDED = "undecided", _("non décidé")
        NOTIFY = "notify", _("notifier la CNIL")
        NOT_NOTIFY = "not_notify", _("ne pas notifier (risque improbable)")

    class HighRisk(models.TextChoices):
        UNDECIDED = "undecided", _("non décidé")
        YES = "yes", _("oui : risque élevé, information des personnes (art. 34)")
        NO = "no", _("non")

    class Exemption(models.TextChoices):
        NONE = "none", _("aucune")
        A = "a", _("art. 34(3)(a) : données rendues incompréhensibles")
        B = "b", _("art. 34(3)(b) : mesures ultérieures supprimant le risque élevé")
        C = "c", _("art. 34(3)(c) : efforts disproportionnés — communication publique")

    breach = models.ForeignKey(
        "labs.Breach", on_delete=models.PROTECT, related_name="case_files", verbose_name=_("violation")
    )
    laboratory = models.ForeignKey(
        "labs.Laboratory", on_delete=models.PROTECT, related_name="case_files", verbose_name=_("laboratoire")
    )
    # Art. 33(1)-(2): when this controller became aware, e.g. from the processor's notice.
    processor_notice_received_at = models.DateTimeField(_("avis du sous-traitant reçu le"), null=True, blank=True)
    aware_at = models.DateTimeField(_("connaissance de la violation"))
    due_at = models.DateTimeField(_("échéance CNIL"), db_index=True, editable=False)
    # Art. 33(3)(a): nature, categories and approximate numbers.
    nature_confidentiality = models.BooleanField(_("atteinte à la confidentialité"), default=False)
    nature_integrity = models.BooleanField(_("atteinte à l'intégrité"), default=False)
    nature_availability = models.BooleanField(_("atteinte à la disponibilité"), default=False)
    discovery = models.TextField(_("circonstances de la découverte"), blank=True)
    description = models.TextField(_("description détaillée"), blank=True)
    data_categories = models.TextField(_("catégories de données"), blank=True)
    health_data = models.BooleanField(_("données de santé (art. 9)"), default=False)
    people_estimate = models.PositiveIntegerField(_("nombre approximatif de personnes"), null=True, blank=True)
    records_estimate = models.PositiveIntegerField(_("nombre approximatif d'enregistrements"), null=True, blank=True)
    estimates_prefilled_at = models.DateTimeField(_("estimations reprises de l'import le"), null=True, blank=True)
    # Art. 33(3)(c): likely consequences.
    consequences = models.JSONField(_("conséquences probables"), default=list, blank=True)
    consequences_text = models.TextField(_("conséquences : précisions"), blank=True)
    # Decision to notify (the register keeps who decided, when, why — also when not notifying).
    cnil_decision = models.CharField(
        _("notification à la CNIL"), max_length=12, choices=Decision.choices, default=Decision.UNDECIDED
    )
    cnil_decision_reason = models.TextField(_("motif de la décision"), blank=True)
    cnil_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )
    cnil_decided_at = models.DateTimeField(_("décidé le"), null=True, blank=True, editable=False)
    # Art. 34: high risk to the people, exemptions, CNIL instructions.
    high_risk = models.CharField(_("risque élevé"), max_length=10, choices=HighRisk.choices, default=HighRisk.UNDECIDED)
    high_risk_justification = models.TextField(_("justification (risque élevé ou non)"), blank=True)
    exemption = models.CharField(_("exemption art. 34(3)"), max_length=4, choices=Exemption.choices, default="none")
    exemption_justification = models.TextField(_("justification de l'exemption"), blank=True)
    public_notice_where = models.CharField(_("communication publique : support"), max_length=200, blank=True)
    public_notice_at = models.DateTimeField(_("communication publique : date"), null=True, blank=True)
    public_notice_url = models.URLField(_("communication publique : lien"), blank=True)
    cnil_instructions = models.TextField(_("instructions de la CNIL (art. 34(4))"), blank=True)
    # Art. 33(1): frozen at the first filing, never recomputed afterwards.
    first_filed_at = models.DateTimeField(_("première notification le"), null=True, blank=True, editable=False)
    filed_late = models.BooleanField(_("notifiée hors délai"), null=True, editable=False)

    history = HistoricalRecords()
    lab_path = "laboratory"

    class Meta:
        ordering = ["due_at", "laboratory__code"]
        verbose_name = _("dossier de violation (laboratoire)")
        verbose_name_plural = _("dossiers de violation (art. 33)")
        constraints = [
            models.UniqueConstraint(fields=["breach", "laboratory"], name="casefile_once_per_breach_and_lab"),
        ]

    def __str__(self) -> str:
        return f"{self.breach} — {self.laboratory}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A derived column kept in step with aware_at (stored so it can be indexed, filtered and sorted).
        self.due_at = deadline_for(self.aware_at)
        if kwargs.get("update_fields") is not None and "aware_at" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "due_at"}
        super().save(*args, **kwargs)

    @property
    def consequence_labels(self) -> list[str]:
        return [str(CONSEQUENCE_LABELS.get(code, code)) for code in self.consequences]

    @property
    def natures(self) -> list[str]:
        return [
            label
            for flag, label in (
                (self.nature_confidentiality, "confidentialité"),
                (self.nature_integrity, "intégrité"),
                (self.nature_availability, "disponibilité"),
            )
            if flag
        ]

    @property
    def is_filed(self) -> bool:
        return self.first_filed_at is not None


class BreachMeasure(models.Model):
    """A measure taken or proposed (Art. 33(3)(d)), timestamped; reused in the letters' "what we did"."""

    class Kind(models.TextChoices):
        TAKEN = "taken", _("prise")
        PROPOSED = "proposed", _("proposée")

    case_file = models.ForeignKey(BreachLaboratory, on_delete=models.CASCADE, related_name="measures")
    recorded_at = models.DateTimeField(_("date"), default=timezone.now)
    kind = models.CharField(_("mesure"), max_length=10, choices=Kind.choices, default=Kind.TAKEN)
    text = models.TextField(_("description"))
    text_en = models.TextField(
        _("description en anglais"), blank=True, help_text=_("Imprimée sur les lettres en anglais.")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False
    )

    lab_path = "case_file__laboratory"

    class Meta:
        ordering = ["recorded_at", "id"]
        verbose_name = _("mesure")
        verbose_name_plural = _("mesures prises ou proposées")

    def __str__(self) -> str:
        return f"{self.recorded_at:%Y-%m-%d} {self.get_kind_display()} : {self.text[:60]}"


class FilingImmutableError(Exception):
    """A filing is never edited or deleted: a correction is a new complementary filing."""


class CnilFilingQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise FilingImmutableError(
            "Une notification déposée ne se modifie pas : déposez une notification complémentaire."
        )

    def delete(self) -> tuple[int, dict[str, int]]:
        raise FilingImmutableError("Une notification déposée ne se supprime pas.")


class CnilFiling(models.Model):
    """A notification filed with the CNIL (initial, then complementary ones), with a frozen snapshot."""

    class Kind(models.TextChoices):
        INITIAL = "initial", _("initiale")
        COMPLEMENTARY = "complementary", _("complémentaire")

    case_file = models.ForeignKey(
        BreachLaboratory, on_delete=models.PROTECT, related_name="filings", verbose_name=_("dossier")
    )
    sequence = models.PositiveSmallIntegerField(_("n°"))
    kind = models.CharField(_("type"), max_length=14, choices=Kind.choices)
    submitted_at = models.DateTimeField(_("déposée le"))
    cnil_reference = models.CharField(_("référence CNIL"), max_length=100, blank=True)
    delay_reasons = models.TextField(_("motifs du retard (art. 33(1))"), blank=True)
    late = models.BooleanField(_("hors délai"))
    snapshot = models.JSONField(_("contenu déposé (figé)"))
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CnilFilingQuerySet.as_manager()
    history = HistoricalRecords()
    lab_path = "case_file__laboratory"

    class Meta:
        ordering = ["case_file", "sequence"]
        verbose_name = _("notification à la CNIL")
        verbose_name_plural = _("notifications à la CNIL")
        constraints = [
            models.UniqueConstraint(fields=["case_file", "sequence"], name="filing_sequence_once_per_case_file"),
            models.UniqueConstraint(
                fields=["case_file"], condition=models.Q(kind="initial"), name="filing_one_initial_per_case_file"
            ),
            models.CheckConstraint(
                condition=models.Q(kind="initial", sequence=1) | (~models.Q(kind="initial") & models.Q(sequence__gt=1)),
                name="filing_initial_is_first",
            ),
            models.CheckConstraint(
                condition=models.Q(late=False) | ~models.Q(delay_reasons=""), name="filing_late_has_delay_reasons"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} n°{self.sequence} ({self.submitted_at:%Y-%m-%d})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise FilingImmutableError(
                "Une notification déposée ne se modifie pas : déposez une notification complémentaire."
            )
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise FilingImmutableError("Une notification déposée ne se supprime pas.")


class DeadlineReminder(models.Model):
    """One reminder of a case file's deadline (T−24 h, T−6 h, overdue): the unique row makes it once each."""

    class Kind(models.TextChoices):
        BEFORE_24H = "t-24h", _("J−1 (24 h avant)")
        BEFORE_6H = "t-6h", _("6 h avant")
        OVERDUE = "overdue", _("échéance dépassée")

    case_file = models.ForeignKey(BreachLaboratory, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    due_at = models.DateTimeField(_("échéance rappelée"))
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    recipients = models.JSONField(default=list, blank=True)
    skipped = models.BooleanField(default=False, help_text=_("Dépassé par un rappel plus urgent : non envoyé."))

    lab_path = "case_file__laboratory"

    class Meta:
        ordering = ["case_file", "created_at"]
        verbose_name = _("rappel d'échéance")
        verbose_name_plural = _("rappels d'échéance")
        constraints = [
            models.UniqueConstraint(fields=["case_file", "kind", "due_at"], name="reminder_once_per_kind_and_due"),
        ]

    def __str__(self) -> str:
        return f"{self.case_file} : {self.get_kind_display()}"
