"""One evidence pack: a zip of everything a laboratory's DPO gives the CNIL about one breach (issue 14).

Two versions of the same case file: the DPO's (patient-level summaries where useful: returned letters by
reference, the audit trail's rows) and the CNIL liaison's (aggregates only, no patient-level file). The zip is
saved in the private storage (`labs.storage`, key "evidence/…") by `evidence.services.evidence_pack_build`, its sha256 kept here.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from labs.models import BreachLaboratory


class EvidencePack(models.Model):
    class Kind(models.TextChoices):
        DPO = "dpo", "version du DPO"
        LIAISON = "liaison", "version de la liaison CNIL (sans donnée de patient)"

    class Status(models.TextChoices):
        PENDING = "pending", "en attente"
        BUILDING = "building", "en préparation"
        READY = "ready", "prêt"
        FAILED = "failed", "échec"

    case_file = models.ForeignKey(
        BreachLaboratory, on_delete=models.PROTECT, related_name="evidence_packs", verbose_name="dossier art. 33"
    )
    kind = models.CharField("version", max_length=8, choices=Kind.choices)
    status = models.CharField("état", max_length=8, choices=Status.choices, default=Status.PENDING)
    steps_done = models.PositiveSmallIntegerField("étapes faites", default=0)
    steps_total = models.PositiveSmallIntegerField("étapes en tout", default=0)
    file_name = models.CharField("fichier", max_length=100, blank=True)  # its private storage key, never a request's
    sha256 = models.CharField("empreinte SHA-256 du zip", max_length=64, blank=True)
    size = models.PositiveBigIntegerField("taille (octets)", null=True, blank=True)
    files = models.PositiveSmallIntegerField("fichiers dans le zip", null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name="demandé par",
    )  # fmt: skip
    created_at = models.DateTimeField("demandé le", auto_now_add=True)
    started_at = models.DateTimeField("commencé le", null=True, blank=True)
    finished_at = models.DateTimeField("terminé le", null=True, blank=True)
    error = models.TextField("erreur", blank=True)

    lab_path = "case_file__laboratory"

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "dossier de preuves"
        verbose_name_plural = "dossiers de preuves"

    def __str__(self) -> str:
        return f"dossier de preuves n°{self.pk} ({self.get_kind_display()}) — {self.case_file}"

    @property
    def progress_pct(self) -> int:
        return int(100 * self.steps_done / self.steps_total) if self.steps_total else 0
