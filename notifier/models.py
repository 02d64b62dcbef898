"""Campaigns, notifications, delivery events and print batches (the campaign engine).

The database is the source of truth: a `Notification` row per (campaign, patient, channel) says what
was sent; the broker only carries ids of rows to look at.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models

from labs.models import Breach, Laboratory, TimeStampedModel
from patients.models import Patient


class Campaign(TimeStampedModel):
    """One laboratory's Art. 34 communication for one breach: who gets what, on which channel."""

    class Status(models.TextChoices):
        DRAFT = "draft", "brouillon"
        APPROVED = "approved", "approuvée"
        RUNNING = "running", "en cours"
        PAUSED = "paused", "en pause"
        COMPLETED = "completed", "terminée"
        CANCELLED = "cancelled", "annulée"

    class ChannelPolicy(models.TextChoices):
        POST = "post", "courrier seulement"
        EMAIL = "email", "courriel seulement"
        POST_AND_EMAIL = "post_and_email", "courrier, et courriel s'il existe"
        POST_THEN_EMAIL = "post_then_email", "courrier, puis courriel si retour NPAI"
        EMAIL_THEN_POST = "email_then_post", "courriel, puis courrier si rejet"

    class FollowUpTarget(models.TextChoices):
        ALL = "all", "tous les patients de la violation"
        NOT_REACHED = "not_reached", "les patients non joints"
        NOT_READ = "not_read", "les patients joints qui n'ont pas lu"
        BOTH = "both", "non joints et joints sans lecture"

    breach = models.ForeignKey(Breach, on_delete=models.PROTECT, related_name="campaigns", verbose_name="violation")
    laboratory = models.ForeignKey(
        Laboratory, on_delete=models.PROTECT, related_name="campaigns", verbose_name="laboratoire"
    )
    name = models.CharField("nom", max_length=200)
    language = models.CharField("langue par défaut", max_length=2, choices=settings.LANGUAGES, default="fr")
    channel_policy = models.CharField(
        "politique de canaux", max_length=20, choices=ChannelPolicy.choices, default=ChannelPolicy.POST_AND_EMAIL
    )
    letter_template = models.CharField(
        "modèle de lettre",
        max_length=20,
        blank=True,
        help_text="Version (letters.versions) ; vide = la version en cours.",
    )
    email_template = models.CharField("modèle de courriel", max_length=40, default="breach_notice")
    # Without it, patients already told by another campaign of the breach are left out of the launch.
    is_follow_up = models.BooleanField(
        "campagne de suivi",
        default=False,
        help_text="Cochée : écrit aussi aux patients déjà informés par une autre campagne de cette violation "
        "(même code de vérification). Sinon ils sont exclus du lancement.",
    )
    # Whom a follow-up writes to (notifier.targets); ignored unless is_follow_up. "all" keeps the first behaviour.
    follow_up_target = models.CharField(
        "destinataires du suivi",
        max_length=12,
        choices=FollowUpTarget.choices,
        default=FollowUpTarget.ALL,
        help_text="Pour une campagne de suivi : non joints (courrier revenu, courriel rejeté, injoignables), "
        "joints mais sans lecture sur la page de statut après le délai, les deux, ou tous.",
    )
    # The call centre's declared capacity and the first hand-over day: with them the print hand-over is spread
    # over days (notifier.plans); without them (no plan) every batch is handed over as soon as it is built.
    call_centre_agents = models.PositiveIntegerField(
        "centre d'appels : agents", null=True, blank=True,
        help_text="Nombre d'agents qui répondent aux appels des patients. Vide : pas de plan de remise.",
    )  # fmt: skip
    calls_per_agent_per_day = models.PositiveIntegerField(
        "centre d'appels : appels par agent et par jour", null=True, blank=True,
        help_text="Ce qu'un agent traite en une journée (par exemple 60).",
    )  # fmt: skip
    hand_over_start = models.DateField(
        "première remise à La Poste prévue le", null=True, blank=True,
        help_text="Vide : le jour du lancement.",
    )  # fmt: skip
    status = models.CharField("état", max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="créée par"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="approuvée par",
    )  # fmt: skip
    approved_at = models.DateTimeField("approuvée le", null=True, blank=True)
    launched_at = models.DateTimeField("lancée le", null=True, blank=True)
    completed_at = models.DateTimeField("terminée le", null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "campagne"
        verbose_name_plural = "campagnes"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(approved_by__isnull=True) | ~models.Q(approved_by=models.F("created_by")),
                name="campaign_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"

    @property
    def call_capacity(self) -> int | None:
        """Calls the call centre answers per day, as declared; None without a declaration (no plan)."""
        if self.call_centre_agents is None or self.calls_per_agent_per_day is None:
            return None
        return self.call_centre_agents * self.calls_per_agent_per_day


class PrintBatch(TimeStampedModel):
    """A merged PDF of letters and its manifest, handed over once to the printer or post."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="print_batches", verbose_name="campagne"
    )
    sequence = models.PositiveIntegerField("numéro")
    letter_count = models.PositiveIntegerField("lettres", default=0)
    pdf_path = models.CharField("fichier PDF", max_length=500, blank=True)
    pdf_sha256 = models.CharField("empreinte SHA-256 du PDF", max_length=64, blank=True)
    manifest_path = models.CharField("manifeste", max_length=500, blank=True)
    manifest_sha256 = models.CharField("empreinte SHA-256 du manifeste", max_length=64, blank=True)
    built_at = models.DateTimeField("construit le", null=True, blank=True)
    handed_over_at = models.DateTimeField("remis le", null=True, blank=True)
    handed_over_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="remis par",
    )  # fmt: skip
    error = models.TextField("erreur", blank=True)

    class Meta:
        ordering = ["campaign", "sequence"]
        verbose_name = "lot d'impression"
        verbose_name_plural = "lots d'impression"
        constraints = [
            models.UniqueConstraint(fields=["campaign", "sequence"], name="printbatch_sequence_per_campaign"),
        ]

    def __str__(self) -> str:
        # « lot 2 sur 5 — campagne « Information des patients » (LAB01) »: which batch of how many, of what.
        # The admin annotates `batches_in_campaign`; elsewhere one count query.
        total = getattr(self, "batches_in_campaign", None)
        if total is None:
            total = PrintBatch.objects.filter(campaign_id=self.campaign_id).count()
        campaign = self.campaign
        return f"lot {self.sequence} sur {total} — campagne «\u00a0{campaign.name}\u00a0» ({campaign.laboratory.code})"


class Notification(TimeStampedModel):
    """One patient told once on one channel in one campaign; its status is the truth about that send."""

    class Channel(models.TextChoices):
        POST = "post", "courrier"
        EMAIL = "email", "courriel"

    class Status(models.TextChoices):
        PENDING = "pending", "en attente"
        QUEUED = "queued", "en file"
        SENDING = "sending", "envoi en cours"
        SENT = "sent", "envoyée"
        DELIVERED = "delivered", "distribuée"
        BOUNCED = "bounced", "rejetée"
        RETURNED = "returned", "courrier revenu"  # the reason (moved, deceased…) is return_reason
        FAILED = "failed", "échec"
        UNREACHABLE = "unreachable", "injoignable"
        CANCELLED = "cancelled", "annulée"

    class ReturnReason(models.TextChoices):
        """Why La Poste brought a letter back (PND): a death is not an address problem."""

        MOVED = "moved", "n'habite pas à l'adresse indiquée (NPAI)"
        INCOMPLETE = "incomplete", "adresse incomplète ou erronée"
        UNKNOWN_RECIPIENT = "unknown_recipient", "destinataire inconnu à l'adresse"
        REFUSED = "refused", "refusé par le destinataire"
        NO_LETTERBOX = "no_letterbox", "boîte aux lettres absente ou inaccessible"
        DECEASED = "deceased", "destinataire décédé"
        OTHER = "other", "autre motif"

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="notifications", verbose_name="campagne"
    )
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="notifications", verbose_name="patient")
    channel = models.CharField("canal", max_length=5, choices=Channel.choices)
    status = models.CharField("état", max_length=12, choices=Status.choices, default=Status.PENDING)
    # Reference printed on the letter (returned-mail CSVs quote it); not secret, not the status code.
    reference = models.CharField("référence", max_length=32, unique=True)
    # HMAC of the patient's status code: the status page looks codes up here; the code is never stored.
    code_digest = models.CharField("empreinte du code", max_length=64, db_index=True)
    language = models.CharField("langue", max_length=2, default="fr")
    is_fallback = models.BooleanField("envoi de repli", default=False)
    attempts = models.PositiveSmallIntegerField("tentatives", default=0)
    last_error = models.CharField("dernière erreur", max_length=300, blank=True)
    provider_message_id = models.CharField("identifiant fournisseur", max_length=200, blank=True, db_index=True)
    print_batch = models.ForeignKey(
        PrintBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="notifications",
        verbose_name="lot d'impression",
    )  # fmt: skip
    # Set by a returned-mail import: « décédé » keeps the patient off the call-centre list and gets no fallback.
    # db_default: the launch's COPY leaves the column out.
    return_reason = models.CharField(
        "motif du retour", max_length=20, choices=ReturnReason.choices, blank=True, default="", db_default=""
    )
    queued_at = models.DateTimeField("mise en file le", null=True, blank=True)
    sending_at = models.DateTimeField("envoi commencé le", null=True, blank=True)
    # The claim of the worker sending the row (host/process/random, new at each claim) and until when it
    # holds: the tick takes back a row whose lease ran out, and the "sent" mark checks the claim, so a
    # late worker's mark is refused and its message dropped (notifier/sending.py). db_default: the
    # launch's COPY leaves the column out.
    claimed_by = models.CharField("réservée par", max_length=100, blank=True, default="", db_default="")
    lease_until = models.DateTimeField("réservée jusqu'à", null=True, blank=True)
    sent_at = models.DateTimeField("envoyée le", null=True, blank=True)
    final_at = models.DateTimeField("état final le", null=True, blank=True)

    # Terminal states: the campaign is complete when every row is in one of them.
    TERMINAL = (
        Status.SENT, Status.DELIVERED, Status.BOUNCED, Status.RETURNED, Status.FAILED, Status.UNREACHABLE,
        Status.CANCELLED,
    )  # fmt: skip
    # Failure states: a patient whose rows are all here has not been reached (call-centre list).
    UNREACHED = (Status.BOUNCED, Status.RETURNED, Status.FAILED, Status.UNREACHABLE)

    class Meta:
        ordering = ["campaign", "id"]
        verbose_name = "notification"
        verbose_name_plural = "notifications"
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "patient", "channel"], name="notification_once_per_campaign_patient_channel"
            ),
        ]
        indexes = [models.Index(fields=["campaign", "channel", "status"])]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_channel_display()}, {self.get_status_display()})"

    @staticmethod
    def reference_for(*, campaign_id: int, patient_id: int, channel: str) -> str:
        """The printed, non-secret reference of a notification (returned-mail files quote it)."""
        return f"N{campaign_id}-{patient_id}-{'C' if channel == Notification.Channel.POST else 'E'}"


def claim_expired(*, now: dt.datetime) -> models.Q:
    """Rows (in `sending`) whose claim no longer holds: its lease ran out, or, claimed before leases
    existed, it is older than CAMPAIGN_STUCK_SECONDS. The tick takes them back; status calls them stalled."""
    stale = now - dt.timedelta(seconds=settings.CAMPAIGN_STUCK_SECONDS)
    return models.Q(lease_until__lt=now) | models.Q(lease_until__isnull=True, sending_at__lt=stale)


class DeliveryEvent(models.Model):
    """Append-only: something that happened to a notification, as told by its source."""

    class Source(models.TextChoices):
        ESP = "esp", "fournisseur de courriel"
        SMTP = "smtp", "serveur SMTP"
        POSTAL_RETURN = "postal_return", "retour postal"
        PRINTER = "printer", "imprimeur / remise à La Poste"
        OPERATOR = "operator", "opérateur"
        STATUS_PAGE = "status_page", "page de statut"

    class EventType(models.TextChoices):
        # What the sources say (anymail's normalised types, the SMTP outcome, the printer, returned mail, the
        # status page), in words; a type not listed here is still recorded and shown as it came.
        QUEUED = "queued", "pris en charge par le fournisseur"
        SENT = "sent", "envoyé"
        DELIVERED = "delivered", "distribué"
        DEFERRED = "deferred", "retardé par le serveur du destinataire"
        BOUNCED = "bounced", "rejeté par le serveur du destinataire"
        REJECTED = "rejected", "refusé par le fournisseur"
        FAILED = "failed", "échec de l'envoi"
        AUTORESPONDED = "autoresponded", "réponse automatique"
        OPENED = "opened", "ouvert"
        CLICKED = "clicked", "lien suivi"
        COMPLAINED = "complained", "signalé comme indésirable"
        UNSUBSCRIBED = "unsubscribed", "désinscription"
        SUBSCRIBED = "subscribed", "inscription"
        UNKNOWN = "unknown", "événement inconnu du fournisseur"
        HANDED_OVER = "handed_over", "remis à l'imprimeur / La Poste"
        RETURNED = "returned", "retour de courrier (NPAI)"
        ACKNOWLEDGED = "acknowledged", "lu par le patient"

    notification = models.ForeignKey(
        Notification, on_delete=models.PROTECT, related_name="events", verbose_name="notification"
    )
    event_type = models.CharField("type", max_length=20, choices=EventType.choices)
    at = models.DateTimeField("survenu le")
    recorded_at = models.DateTimeField("enregistré le", auto_now_add=True)
    source = models.CharField("source", max_length=15, choices=Source.choices)
    reason = models.CharField("motif", max_length=300, blank=True)
    # The provider's own event id (or an import's key): a replayed webhook is recorded once.
    event_id = models.CharField("identifiant de l'événement", max_length=200, null=True, blank=True, unique=True)
    applied = models.BooleanField("appliqué", default=False)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "événement de distribution"
        verbose_name_plural = "événements de distribution"

    def __str__(self) -> str:
        return f"{self.get_event_type_display()} ({self.get_source_display()})"
