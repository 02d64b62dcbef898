"""Right-of-access requests (GDPR Art. 15) made from the status page, queued for the laboratory's DPO.

The status page never names a health remark's class: whoever holds the letter and the birth date reads it
(a spouse, a parent). A patient who wants to know what their file said asks the laboratory's DPO here;
the DPO checks the requester's identity before disclosing anything, within one month (Art. 12(3)).
A request holds no health data: who asks, how to answer them, and the steps of the answer.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from labs.base import TimeStampedModel
from labs.models import Laboratory
from notifier.models import Campaign
from patients.models import Patient


class AccessRequest(TimeStampedModel):
    """One right-of-access request: received → identity checked → answered, or refused with a reason."""

    lab_path = "laboratory"

    class Requester(models.TextChoices):
        PATIENT = "patient", _("la personne concernée")
        REPRESENTATIVE = "representative", _("un parent, tuteur ou représentant légal")

    class Status(models.TextChoices):
        RECEIVED = "received", _("reçue")
        IDENTITY_CHECKED = "identity_checked", _("identité vérifiée")
        ANSWERED = "answered", _("répondue")
        REFUSED = "refused", _("refusée")

    OPEN_STATUSES = (Status.RECEIVED, Status.IDENTITY_CHECKED)

    patient = models.ForeignKey(
        Patient, verbose_name=_("patient"), on_delete=models.PROTECT, related_name="access_requests"
    )
    laboratory = models.ForeignKey(
        Laboratory, verbose_name=_("laboratoire"), on_delete=models.PROTECT, related_name="access_requests"
    )
    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campagne"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requester = models.CharField(_("demandeur"), max_length=20, choices=Requester.choices)
    # A minor may keep some care secret from their parents (Code de la santé publique, art. L.1111-5): the
    # DPO must know, before answering a parent, that the patient was a minor when the request came.
    patient_was_minor = models.BooleanField(_("patient mineur à la date de la demande"), default=False)
    contact_phone = models.CharField(_("téléphone pour la réponse"), max_length=20, blank=True)
    contact_email = models.EmailField(_("courriel pour la réponse"), blank=True)
    status = models.CharField(_("état"), max_length=20, choices=Status.choices, default=Status.RECEIVED)
    received_at = models.DateTimeField(_("reçue le"))
    due_on = models.DateField(_("réponse due le"), help_text=_("Un mois après la réception (RGPD, art. 12(3))."))
    dpo_notified_at = models.DateTimeField(_("DPO prévenu le"), null=True, blank=True)
    identity_checked_at = models.DateTimeField(_("identité vérifiée le"), null=True, blank=True)
    identity_checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("identité vérifiée par"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    identity_check_note = models.CharField(_("comment l'identité a été vérifiée"), max_length=300, blank=True)
    closed_at = models.DateTimeField(_("close le"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("close par"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    refusal_reason = models.TextField(_("motif du refus"), blank=True)

    class Meta:
        ordering = ["due_on", "pk"]
        verbose_name = _("demande d'accès")
        verbose_name_plural = _("demandes d'accès")
        indexes = [models.Index(fields=["laboratory", "status", "due_on"])]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(contact_phone="", contact_email=""), name="accessrequest_has_a_contact"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="refused") | ~models.Q(refusal_reason=""),
                name="accessrequest_refusal_has_a_reason",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="answered") | models.Q(identity_checked_at__isnull=False),
                name="accessrequest_answered_after_identity_check",
            ),
            # The same request sent twice (a double click, a reload) is one request.
            models.UniqueConstraint(
                fields=["patient", "contact_phone", "contact_email"],
                condition=models.Q(status__in=["received", "identity_checked"]),
                name="accessrequest_one_open_per_patient_and_contact",
            ),
        ]

    def __str__(self) -> str:
        return f"{_('Demande d’accès')} n° {self.pk} ({self.get_status_display()})"
