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

# The receipt's file is a CNIL acknowledgement: a small PDF. Bigger is a wrong file (a scan of the whole case).
RECEIPT_MAX_BYTES_DEFAULT = 5 * 1024 * 1024


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

    class Cause(models.TextChoices):
        # The CNIL form's "origine de l'incident".
        UNKNOWN = "unknown", _("inconnue à ce stade")
        EXTERNAL_MALICIOUS = "external_malicious", _("acte externe malveillant")
        EXTERNAL_ACCIDENTAL = "external_accidental", _("acte externe accidentel")
        INTERNAL_MALICIOUS = "internal_malicious", _("acte interne malveillant")
        INTERNAL_ACCIDENTAL = "internal_accidental", _("acte interne accidentel")
        OTHER = "other", _("autre")

    class Informed(models.TextChoices):
        NOT_YET = "not_yet", _("pas encore")
        IN_PROGRESS = "in_progress", _("en cours")
        DONE = "done", _("oui, informées")
        NOT_PLANNED = "not_planned", _("non (pas de risque élevé, ou exemption)")

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
    started_at = models.DateTimeField(_("début de la violation"), null=True, blank=True)
    ended_at = models.DateTimeField(
        _("fin de la violation"), null=True, blank=True, help_text=_("Vide : en cours ou inconnue.")
    )
    discovered_at = models.DateTimeField(_("découverte de la violation"), null=True, blank=True)
    discovery = models.TextField(_("circonstances de la découverte"), blank=True)
    cause = models.CharField(_("origine (cause)"), max_length=24, choices=Cause.choices, blank=True)
    cause_text = models.TextField(_("cause : précisions"), blank=True)
    description = models.TextField(_("description détaillée"), blank=True)
    data_categories = models.TextField(_("catégories de données"), blank=True)
    health_data = models.BooleanField(_("données de santé (art. 9)"), default=False)
    # Categories of persons (Art. 33(3)(a)): patients (minors among them), others (prescribers, spouses…).
    people_estimate = models.PositiveIntegerField(
        _("patients : nombre approximatif de personnes"), null=True, blank=True
    )
    records_estimate = models.PositiveIntegerField(
        _("patients : nombre approximatif d'enregistrements"), null=True, blank=True
    )
    minors_estimate = models.PositiveIntegerField(_("dont mineurs : personnes"), null=True, blank=True)
    minors_records_estimate = models.PositiveIntegerField(_("dont mineurs : enregistrements"), null=True, blank=True)
    others_description = models.CharField(
        _("autres personnes concernées"), max_length=200, blank=True, help_text=_("Ex. : médecins prescripteurs.")
    )
    others_estimate = models.PositiveIntegerField(_("autres : personnes"), null=True, blank=True)
    others_records_estimate = models.PositiveIntegerField(_("autres : enregistrements"), null=True, blank=True)
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
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", editable=False,
        verbose_name=_("décidé par"),
    )  # fmt: skip
    cnil_decided_at = models.DateTimeField(_("décidé le"), null=True, blank=True, editable=False)
    # Art. 34: high risk to the people, exemptions, CNIL instructions.
    high_risk = models.CharField(_("risque élevé"), max_length=10, choices=HighRisk.choices, default=HighRisk.UNDECIDED)
    high_risk_justification = models.TextField(_("justification (risque élevé ou non)"), blank=True)
    exemption = models.CharField(_("exemption art. 34(3)"), max_length=4, choices=Exemption.choices, default="none")
    exemption_justification = models.TextField(_("justification de l'exemption"), blank=True)
    # The Art. 34(3)(c) public communications are rows of their own (PublicCommunication): there may be several.
    cnil_instructions = models.TextField(_("instructions de la CNIL (art. 34(4))"), blank=True)
    # Whether, when and how the persons were told: filled by the campaign engine (a higher layer) through
    # services.case_file_people_informed_record, or by the DPO for a communication made outside notifier.
    people_informed = models.CharField(
        _("personnes informées"), max_length=12, choices=Informed.choices, default=Informed.NOT_YET
    )
    people_informed_count = models.PositiveIntegerField(_("personnes informées : nombre"), null=True, blank=True)
    people_informed_first_at = models.DateTimeField(_("personnes informées : premier envoi"), null=True, blank=True)
    people_informed_last_at = models.DateTimeField(_("personnes informées : dernier envoi"), null=True, blank=True)
    people_informed_channels = models.CharField(
        _("personnes informées : moyens"), max_length=200, blank=True, help_text=_("Ex. : courrier, courriel.")
    )
    people_informed_synced_at = models.DateTimeField(
        _("repris des campagnes le"), null=True, blank=True, editable=False
    )
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
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        verbose_name=_("enregistrée par"),
    )

    lab_path = "case_file__laboratory"

    class Meta:
        ordering = ["recorded_at", "id"]
        verbose_name = _("mesure")
        verbose_name_plural = _("mesures prises ou proposées")

    def __str__(self) -> str:
        return f"{self.recorded_at:%Y-%m-%d} {self.get_kind_display()} : {self.text[:60]}"


class AuthorityNotification(models.Model):
    """Another authority told of the breach (ARS and CERT Santé for health establishments, a complaint…)."""

    class Authority(models.TextChoices):
        ARS = "ars", _("ARS (agence régionale de santé)")
        CERT_SANTE = "cert_sante", _("CERT Santé (Agence du numérique en santé)")
        ANSSI = "anssi", _("ANSSI")
        POLICE = "police", _("police ou gendarmerie (plainte)")
        OTHER = "other", _("autre")

    case_file = models.ForeignKey(
        BreachLaboratory, on_delete=models.CASCADE, related_name="authority_notifications", verbose_name=_("dossier")
    )
    authority = models.CharField(_("autorité"), max_length=12, choices=Authority.choices)
    authority_name = models.CharField(_("précision"), max_length=200, blank=True)
    notified_at = models.DateTimeField(_("informée le"))
    reference = models.CharField(_("référence"), max_length=100, blank=True)
    # The ARS / CERT Santé report as sent (labs.ars), frozen when the notification is recorded; null for others.
    snapshot = models.JSONField(_("signalement transmis (figé)"), null=True, blank=True, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        verbose_name=_("enregistrée par"),
    )
    # When it files a step of an obligation (ARS / CERT Santé, NIS2): which one, and whether it was late
    # then (frozen at recording, like a CNIL filing's).
    obligation = models.ForeignKey(
        "labs.Obligation", null=True, blank=True, on_delete=models.PROTECT, related_name="filings",
        editable=False, verbose_name=_("obligation"),
    )  # fmt: skip
    step = models.CharField(_("étape"), max_length=20, blank=True, editable=False)
    late = models.BooleanField(_("hors délai"), null=True, editable=False)

    lab_path = "case_file__laboratory"

    class Meta:
        ordering = ["notified_at", "id"]
        verbose_name = _("autre autorité informée")
        verbose_name_plural = _("autres autorités informées")

    def __str__(self) -> str:
        name = self.authority_name or self.get_authority_display()
        return f"{name} ({self.notified_at:%d/%m/%Y})" + (f" réf. {self.reference}" if self.reference else "")


class PublicCommunication(models.Model):
    """An Art. 34(3)(c) public communication: its text, where and when it was published, and the figures that
    justified it, frozen when recorded (unreachable patients by reason, computed by the campaign engine).

    Recorded once through `notifier.public_communications` (which computes the figures); never edited: a
    correction is a new publication."""

    class Medium(models.TextChoices):
        WEBSITE = "website", _("site web")
        PRESS = "press", _("presse")
        POSTER = "poster", _("affichage")
        SOCIAL = "social", _("réseaux sociaux")
        OTHER = "other", _("autre")

    case_file = models.ForeignKey(
        BreachLaboratory, on_delete=models.PROTECT, related_name="public_communications", verbose_name=_("dossier")
    )
    published_at = models.DateTimeField(_("publiée le"))
    medium = models.CharField(_("support"), max_length=10, choices=Medium.choices)
    where = models.CharField(
        _("précision"), max_length=200, blank=True, help_text=_("Ex. : titre du journal, page du site, lieu.")
    )
    url = models.URLField(_("lien"), max_length=500, blank=True)
    text = models.TextField(_("texte publié"), blank=True)
    figures = models.JSONField(_("chiffres qui la justifient (figés)"), default=dict, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("enregistrée par"),
    )  # fmt: skip
    recorded_at = models.DateTimeField(_("enregistrée le"), auto_now_add=True)

    lab_path = "case_file__laboratory"

    class Meta:
        ordering = ["case_file", "published_at", "id"]
        verbose_name = _("communication publique (art. 34(3)(c))")
        verbose_name_plural = _("communications publiques (art. 34(3)(c))")

    def __str__(self) -> str:
        where = f" — {self.where}" if self.where else ""
        return f"{self.get_medium_display()}{where} ({self.published_at:%d/%m/%Y})"

    @property
    def figures_lines(self) -> list[tuple[str, int]]:
        """The frozen figures as (French label, count): patients written to, unreachable, then each reason."""
        figures = self.figures or {}
        if not figures:
            return []
        return [
            (str(_("patients à qui les campagnes ont écrit")), figures.get("patients", 0)),
            (str(_("patients injoignables")), figures.get("unreachable", 0)),
            *((f"— {reason['label']}", reason["patients"]) for reason in figures.get("reasons", [])),
            (str(_("patients décédés (retour de courrier), à part")), figures.get("deceased", 0)),
        ]


class FilingImmutableError(Exception):
    """A filing is never edited or deleted: a correction is a new complementary filing."""


# What the authority sends back after a filing: written once when it arrives (a filing is recorded as soon as
# it is submitted, its case number and acknowledgement may come later), never overwritten.
FILING_SET_ONCE_FIELDS = frozenset({"cnil_reference", "receipt_name", "receipt_sha256", "receipt_attached_at"})


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
    cnil_reference = models.CharField(_("référence CNIL (n° de dossier)"), max_length=100, blank=True)
    delay_reasons = models.TextField(_("motifs du retard (art. 33(1))"), blank=True)
    late = models.BooleanField(_("hors délai"))
    snapshot = models.JSONField(_("contenu déposé (figé)"))
    text = models.TextField(_("texte déposé (figé)"), blank=True)
    receipt_name = models.CharField(_("accusé de réception (PDF)"), max_length=200, blank=True)
    receipt_sha256 = models.CharField(_("empreinte SHA-256 de l'accusé"), max_length=64, blank=True)
    receipt_attached_at = models.DateTimeField(_("accusé joint le"), null=True, blank=True)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("enregistrée par"),
    )
    created_at = models.DateTimeField(_("enregistrée dans notifier le"), auto_now_add=True)

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
            self._refuse_unless_set_once(kwargs.get("update_fields"))
        super().save(*args, **kwargs)

    def _refuse_unless_set_once(self, update_fields: Any) -> None:
        """Only the authority's answer may be written afterwards, and only into fields still empty."""
        if not update_fields or not set(update_fields) <= FILING_SET_ONCE_FIELDS:
            raise FilingImmutableError(
                "Une notification déposée ne se modifie pas : déposez une notification complémentaire."
            )
        stored = type(self)._base_manager.filter(pk=self.pk).values(*update_fields).get()
        if any(stored[name] not in ("", None) for name in update_fields):
            raise FilingImmutableError("La référence et l'accusé de réception, une fois enregistrés, ne changent plus.")

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise FilingImmutableError("Une notification déposée ne se supprime pas.")

    @property
    def has_receipt(self) -> bool:
        return bool(self.receipt_name)


class DeadlineReminder(models.Model):
    """One reminder of a case file's clock (T−24 h, T−6 h, overdue; daily for a « sans délai » step), per regime
    and step: the unique row makes it once each."""

    class Kind(models.TextChoices):
        BEFORE_24H = "t-24h", _("J−1 (24 h avant)")
        BEFORE_6H = "t-6h", _("6 h avant")
        OVERDUE = "overdue", _("échéance dépassée")
        ELAPSED = "elapsed", _("« sans délai » : rappel quotidien")

    case_file = models.ForeignKey(
        BreachLaboratory, on_delete=models.CASCADE, related_name="reminders", verbose_name=_("dossier")
    )
    kind = models.CharField(_("rappel"), max_length=10, choices=Kind.choices)
    # Which clock: the regime and step of settings.NOTIFIER_REGIMES (the CNIL Art. 33 one before obligations).
    regime = models.CharField(_("régime"), max_length=32, default="cnil_art33")
    step = models.CharField(_("étape"), max_length=20, default="initial")
    due_at = models.DateTimeField(_("échéance rappelée"))
    created_at = models.DateTimeField(_("créé le"), auto_now_add=True)
    sent_at = models.DateTimeField(_("envoyé le"), null=True, blank=True)
    recipients = models.JSONField(_("destinataires"), default=list, blank=True)
    skipped = models.BooleanField(
        _("non envoyé"), default=False, help_text=_("Dépassé par un rappel plus urgent : non envoyé.")
    )

    lab_path = "case_file__laboratory"

    class Meta:
        ordering = ["case_file", "created_at"]
        verbose_name = _("rappel d'échéance")
        verbose_name_plural = _("rappels d'échéance")
        constraints = [
            models.UniqueConstraint(
                fields=["case_file", "regime", "step", "kind", "due_at"], name="reminder_once_per_clock_kind_and_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_file} : {self.get_kind_display()}"
