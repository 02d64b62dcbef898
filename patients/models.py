"""Patients (one per breach, laboratory and person), their exposed records and import batches.

Minimised by design: no NIR in clear (a keyed hash links a person's rows, a masked form is shown),
no medical comment text (only its classes), no portal password (only the fact that it leaked).
"""

from __future__ import annotations

import datetime as dt

from django.db import models

from labs.models import Breach, Laboratory, TimeStampedModel

from . import categories
from .normalize import age_on

# Who is a minor: the ONE decision, by age on the letter date (the campaign's launch date, or today for a
# letter made on demand), from the birth date. The leak's civility ("Enfant", "Bébé") was typed when the
# sample was taken, years ago: many of those "children" are adults now and get their own letter. It is only
# a hint, used when the birth date is missing (the importer leaves an unreadable one empty): then the
# letter goes to the parents, because a guardian's letter says nothing about health while an adult's own
# letter, opened by the parents of a child, would say "a comment related to your health".
MAJORITY_AGE = 18
MINOR_CIVILITY_HINTS = frozenset({"enfant", "bebe", "bébé"})
_MINOR_CIVILITY_REGEX = r"^\s*(enfant|b[eé]b[eé])\.?\s*$"


def minor_on(*, birth_date: dt.date | None, civility: str, on: dt.date) -> bool:
    """True when the person is under 18 on `on`; the civility decides only when the birth date is missing."""
    if birth_date is not None:
        return age_on(birth_date, on) < MAJORITY_AGE
    return (civility or "").strip().lower().rstrip(".").strip() in MINOR_CIVILITY_HINTS


def minors_on(on: dt.date) -> models.Q:
    """`minor_on` as a database filter: `Patient.objects.filter(minors_on(day))`."""
    # Born after this day means not yet 18 on `on` (29 February: the 28th, as `age_on` counts it).
    day = 28 if (on.month, on.day) == (2, 29) else on.day
    born_after = on.replace(year=on.year - MAJORITY_AGE, day=day)
    return models.Q(birth_date__gt=born_after) | models.Q(
        birth_date__isnull=True, civility__iregex=_MINOR_CIVILITY_REGEX
    )


class ImportBatch(TimeStampedModel):
    """One import of one leaked file into one breach; a file (sha256) is imported once per breach."""

    class Status(models.TextChoices):
        RUNNING = "running", "en cours"
        SUCCEEDED = "succeeded", "terminé"
        FAILED = "failed", "échoué"

    breach = models.ForeignKey(
        Breach, on_delete=models.PROTECT, related_name="import_batches", verbose_name="violation"
    )
    file_name = models.CharField("fichier", max_length=255)
    sha256 = models.CharField("empreinte SHA-256", max_length=64)
    encoding = models.CharField("encodage", max_length=20, blank=True)
    delimiter = models.CharField("séparateur", max_length=4, blank=True)
    mapping = models.JSONField("correspondance des colonnes", default=dict)
    status = models.CharField("état", max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField("commencé le", null=True, blank=True)
    finished_at = models.DateTimeField("terminé le", null=True, blank=True)
    rows_read = models.PositiveIntegerField("enregistrements lus", default=0)
    rows_accepted = models.PositiveIntegerField("acceptés", default=0)
    rows_rejected = models.PositiveIntegerField("rejetés", default=0)
    patients_created = models.PositiveIntegerField("patients créés", default=0)
    rejects_file = models.CharField("fichier des rejets", max_length=500, blank=True)
    error = models.TextField("erreur", blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "import"
        verbose_name_plural = "imports"
        constraints = [
            models.UniqueConstraint(fields=["breach", "sha256"], name="importbatch_once_per_breach_and_file"),
            models.CheckConstraint(
                condition=~models.Q(status="succeeded")
                | models.Q(rows_read=models.F("rows_accepted") + models.F("rows_rejected")),
                name="importbatch_every_row_accounted_for",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"


class ImportRejection(models.Model):
    """Why a record was rejected: where it was and why, without its content (that goes to the 0600 file)."""

    class Reason(models.TextChoices):
        # The values are the importer's constants (patients/importer.py); the labels are what a person reads.
        FIELD_COUNT = "field_count", "nombre de colonnes inattendu"
        UNDECODABLE = "undecodable", "caractères illisibles (encodage)"
        UNPARSEABLE = "unparseable", "ligne CSV illisible"
        NO_LAB_CODE = "no_lab_code", "code de laboratoire absent"
        LAB_CODE_TOO_LONG = "lab_code_too_long", "code de laboratoire trop long"
        UNKNOWN_LAB_CODE = "unknown_lab_code", "code de laboratoire inconnu"
        NO_IDENTITY = "no_identity", "ni nom ni NIR"

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rejections", verbose_name="import")
    record_number = models.PositiveIntegerField("n° d'enregistrement")
    line_number = models.PositiveIntegerField("ligne")
    reason = models.CharField("motif", max_length=40, choices=Reason.choices)
    message = models.CharField("message", max_length=300)

    class Meta:
        ordering = ["batch", "record_number"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "record_number"], name="importrejection_once_per_record"),
        ]

    def __str__(self) -> str:
        return f"#{self.record_number} (ligne {self.line_number}) : {self.get_reason_display()}"


class Patient(TimeStampedModel):
    """A person whose data a laboratory held and lost in a breach: the one we must notify."""

    # No single-column indexes on these two: the unique (breach, laboratory, person_key) constraint and
    # the (laboratory, last_name, birth_date) index already start with them; fewer indexes, faster imports.
    breach = models.ForeignKey(
        Breach, on_delete=models.PROTECT, related_name="patients", db_index=False, verbose_name="violation"
    )
    laboratory = models.ForeignKey(
        Laboratory, on_delete=models.PROTECT, related_name="patients", db_index=False, verbose_name="laboratoire"
    )
    person_key = models.CharField(
        "clé de la personne",
        max_length=64,
        help_text="HMAC (secret à part) du NIR normalisé et de la date de naissance, ou des noms.",
    )
    civility = models.CharField("civilité", max_length=20, blank=True)
    first_name = models.CharField("prénom", max_length=100, blank=True)
    last_name = models.CharField("nom", max_length=100, blank=True)
    birth_name = models.CharField("nom de naissance", max_length=100, blank=True)
    birth_date = models.DateField("date de naissance", null=True, blank=True)
    # Minor on the day of the import (`minor_on`), for the admin's filter and exports; letters and the status
    # page decide again on the letter's date, since a 17-year-old at import may be 18 when the letter goes.
    is_minor = models.BooleanField("mineur", default=False)
    address_line = models.CharField("adresse", max_length=300, blank=True)
    postcode = models.CharField("code postal", max_length=10, blank=True)
    city = models.CharField("ville", max_length=100, blank=True)
    country = models.CharField("pays", max_length=2, default="FR")
    email = models.EmailField("courriel", blank=True)
    landline_phone = models.CharField("téléphone fixe", max_length=20, blank=True, help_text="E.164")
    mobile_phone = models.CharField("téléphone mobile", max_length=20, blank=True, help_text="E.164")
    nir_masked = models.CharField("NIR masqué", max_length=40, blank=True)
    nir_valid = models.BooleanField("clé NIR valide", null=True)
    exposure_mask = models.PositiveIntegerField("catégories exposées", default=0)
    sensitive_mask = models.PositiveIntegerField("classes sensibles", default=0)
    data_issues = models.JSONField(
        "anomalies", default=list, blank=True, help_text="Codes des problèmes de champ vus à l'import."
    )
    record_count = models.PositiveIntegerField("enregistrements", default=0)
    # Set when a letter comes back « décédé » (notifier.postal): no later campaign, follow-up or call list.
    deceased_reported_at = models.DateTimeField("décès signalé (retour courrier) le", null=True, blank=True)

    class Meta:
        ordering = ["laboratory", "last_name", "first_name"]
        verbose_name = "patient"
        verbose_name_plural = "patients"
        constraints = [
            models.UniqueConstraint(
                fields=["breach", "laboratory", "person_key"], name="patient_once_per_breach_lab_and_person"
            ),
        ]
        # No index on person_key alone: nothing looks a person up across breaches and laboratories, and the
        # unique constraint above serves the importer's lookups; one index fewer to fill per patient.
        indexes = [
            models.Index(fields=["laboratory", "last_name", "birth_date"]),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or f"patient #{self.pk}"

    @property
    def exposure_categories(self) -> list[str]:
        return categories.names(self.exposure_mask, categories.Exposure)

    @property
    def sensitive_classes(self) -> list[str]:
        return categories.names(self.sensitive_mask, categories.Sensitive)

    def minor_on(self, day: dt.date) -> bool:
        """A minor on `day` (a letter's date), by age; see `minor_on`."""
        return minor_on(birth_date=self.birth_date, civility=self.civility, on=day)

    @property
    def has_postal_address(self) -> bool:
        return bool(self.address_line and self.postcode and self.city)


class ExposedRecord(models.Model):
    """One accepted row of the leaked file, reduced to what notifying needs."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="records", verbose_name="patient")
    # Indexed through the unique (batch, record_number) constraint.
    batch = models.ForeignKey(
        ImportBatch, on_delete=models.CASCADE, related_name="records", db_index=False, verbose_name="import"
    )
    record_number = models.PositiveIntegerField(
        "n° d'enregistrement", help_text="Rang de l'enregistrement dans le fichier."
    )
    record_id = models.CharField("identifiant dans la fuite", max_length=64, blank=True)
    specimen_date = models.DateField("date de prélèvement", null=True, blank=True)
    exposure_mask = models.PositiveIntegerField("catégories exposées", default=0)
    sensitive_mask = models.PositiveIntegerField("classes sensibles", default=0)

    class Meta:
        verbose_name = "enregistrement exposé"
        verbose_name_plural = "enregistrements exposés"
        constraints = [
            models.UniqueConstraint(fields=["batch", "record_number"], name="exposedrecord_once_per_record"),
        ]

    def __str__(self) -> str:
        return f"{self.record_id or '#' + str(self.record_number)} ({self.specimen_date or '?'})"
