"""Postal channel: print batches of letters, hand-over to the printer or post, returned mail.

A letter row goes pending → queued (assigned to a print batch) → sent (batch handed over) →
returned (NPAI import) — the same monotonic ranks as email. Batch files hold names and addresses: saved
in the private storage (labs/storage.py: 0600 files or a private bucket) under "print/campaign-N/", their
sha256 kept on the batch and checked before every download.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from labs.access import laboratories_for
from labs.storage import private_exists, private_open, private_save, private_sha256, private_size
from letters.content import LetterData, letter_common, letter_data_for
from letters.printing import build_print_batch
from patients.models import Patient
from patients.normalize import accentless_lower

from . import queue
from .campaigns import CampaignError, campaign_close_if_finished, campaign_trail
from .codes import status_code_for_ids, verification_phrase_for_ids
from .events import delivery_event_apply, delivery_event_record
from .models import Campaign, DeliveryEvent, Notification, PrintBatch
from .plans import print_batch_planned_day_check
from .resources import ReturnedMailLine
from .targets import first_notice_dates

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

Status = Notification.Status
PRINT_PREFIX = "print"  # the batches' folder in the private storage


def print_batches_enqueue(*, campaign: Campaign) -> int:
    """Put a running campaign's pending letters into new print batches and enqueue their rendering.

    Re-runnable: only letters without a batch are taken (rows locked, SKIP LOCKED), so two callers never
    put one letter in two batches. Returns the number of batches created.
    """
    created = 0
    while True:
        with transaction.atomic():
            locked = Campaign.objects.select_for_update().filter(pk=campaign.pk, status=Campaign.Status.RUNNING).first()
            if locked is None:
                return created
            ids = list(
                Notification.objects.select_for_update(skip_locked=True)
                .filter(campaign=campaign, channel=Notification.Channel.POST, status=Status.PENDING, print_batch=None)
                .order_by("pk")
                .values_list("pk", flat=True)[: settings.CAMPAIGN_PRINT_CHUNK]
            )
            if not ids:
                return created
            sequence = (PrintBatch.objects.filter(campaign=campaign).aggregate(m=Max("sequence"))["m"] or 0) + 1
            batch = PrintBatch.objects.create(campaign=campaign, sequence=sequence, letter_count=len(ids))
            now = timezone.now()
            Notification.objects.filter(pk__in=ids).update(
                print_batch=batch, status=Status.QUEUED, queued_at=now, updated_at=now
            )
            batch_id = batch.pk
            transaction.on_commit(lambda batch_id=batch_id: queue.print_batch_build_enqueue(batch_id=batch_id))
            created += 1


def letter_data_for_notification(
    *,
    notification: Notification,
    campaign: Campaign,
    language: str | None = None,
    first_notices: dict[int, dt.date] | None = None,
    commons: dict[str, dict] | None = None,
) -> LetterData:
    """The letter of one notification: the same content in its print batch, on the status page and in any
    reprint (code and phrase derived, template version pinned by the campaign, dated the day of launch).
    `commons`: a dict the caller keeps across one campaign's letters, where what they share (laboratory,
    breach, case file and measures) is kept by language instead of being read for every letter.

    A follow-up's letter says when the patient was first written to (`first_notices`: a batch's dates read
    at once with `targets.first_notice_dates`; read here for one letter)."""
    ids = {"breach_id": notification.patient.breach_id, "patient_id": notification.patient_id}
    if first_notices is None:
        first_notices = first_notice_dates(campaign=campaign, patient_ids=[notification.patient_id])
    language = language or notification.language
    sent_on = timezone.localdate(campaign.launched_at) if campaign.launched_at else None
    common = None
    if commons is not None:
        common = commons.get(language)
        if common is None:
            common = commons[language] = letter_common(
                laboratory=notification.patient.laboratory, breach=notification.patient.breach, language=language,
                template_version=campaign.letter_template or None, sent_on=sent_on,
            )  # fmt: skip
    return letter_data_for(
        patient=notification.patient,
        reference=notification.reference,
        status_code=status_code_for_ids(**ids),
        verification_phrase=verification_phrase_for_ids(**ids),
        language=language,
        template_version=campaign.letter_template or None,
        sent_on=sent_on,
        first_notice_on=first_notices.get(notification.patient_id),
        common=common,
    )


def print_batch_build(*, batch_id: int) -> bool:
    """Render one print batch (merged PDF + manifest) once; a built batch is left as it is."""
    batch = PrintBatch.objects.select_related("campaign").get(pk=batch_id)
    if batch.built_at is not None:
        return False
    rows = (
        Notification.objects.filter(print_batch=batch)
        .select_related("patient__laboratory", "patient__breach")
        .order_by("pk")
    )
    rows = list(rows)
    first_notices = first_notice_dates(campaign=batch.campaign, patient_ids=[row.patient_id for row in rows])
    commons: dict[str, dict] = {}  # a campaign is one laboratory and one breach: their texts read once
    letters = [
        letter_data_for_notification(
            notification=row, campaign=batch.campaign, first_notices=first_notices, commons=commons
        )
        for row in rows
    ]
    if not letters:
        PrintBatch.objects.filter(pk=batch.pk).update(error="lot vide / empty batch")
        return False
    try:
        files = build_print_batch(letters)
    except Exception as error:  # recorded on the batch for the operator; the tick tries again later
        PrintBatch.objects.filter(pk=batch.pk).update(error=f"{type(error).__name__}: {error}"[:1000])
        raise
    # Fixed keys: a rebuild after a killed worker overwrites its own half-finished files, nobody else's.
    folder = f"{PRINT_PREFIX}/campaign-{batch.campaign_id}"
    pdf_path = private_save(f"{folder}/batch-{batch.sequence:04d}.pdf", files.pdf)
    manifest_path = private_save(f"{folder}/batch-{batch.sequence:04d}.csv", files.manifest_csv.encode())
    return bool(
        PrintBatch.objects.filter(pk=batch.pk, built_at=None).update(
            built_at=timezone.now(),
            letter_count=len(letters),
            pdf_path=pdf_path,
            pdf_sha256=files.pdf_sha256,
            manifest_path=manifest_path,
            manifest_sha256=files.manifest_sha256,
            error="",
            updated_at=timezone.now(),
        )  # fmt: skip
    )


def print_batches_rebuild_stuck(*, campaign: Campaign, older_than: dt.datetime) -> int:
    """Re-enqueue batches whose rendering never finished (a lost task or a killed worker)."""
    stuck = list(
        PrintBatch.objects.filter(campaign=campaign, built_at=None, created_at__lt=older_than).values_list(
            "pk", flat=True
        )
    )
    for batch_id in stuck:
        queue.print_batch_build_enqueue(batch_id=batch_id)
    return len(stuck)


def print_batch_hand_over(*, batch: PrintBatch, by: AbstractBaseUser | None) -> int:
    """Mark a built batch handed over once: its letters become `sent`. Returns how many rows moved.

    Refused before the day the campaign's hand-over plan gives the batch (`notifier.plans`; no plan: any day)."""
    if batch.handed_over_at is None:
        print_batch_planned_day_check(batch=batch)
    now = timezone.now()
    with transaction.atomic():
        moved = PrintBatch.objects.filter(pk=batch.pk, handed_over_at__isnull=True, built_at__isnull=False).update(
            handed_over_at=now, handed_over_by=by, updated_at=now
        )
        if not moved:
            current = PrintBatch.objects.get(pk=batch.pk)
            if current.handed_over_at is not None:
                return 0  # already handed over: nothing to do twice
            raise CampaignError("Ce lot n'est pas encore fabriqué : il pourra être remis une fois prêt.")
        ids = list(
            Notification.objects.filter(print_batch=batch, status__in=[Status.QUEUED, Status.SENDING]).values_list(
                "pk", flat=True
            )
        )
        DeliveryEvent.objects.bulk_create(
            [
                DeliveryEvent(
                    notification_id=pk,
                    event_type="handed_over",
                    at=now,
                    source=DeliveryEvent.Source.PRINTER,
                    event_id=f"handover:{batch.pk}:{pk}",
                    applied=True,
                )
                for pk in ids
            ],  # fmt: skip
            ignore_conflicts=True,
        )
        sent = Notification.objects.filter(pk__in=ids).update(status=Status.SENT, sent_at=now, updated_at=now)
        campaign_trail(batch.campaign, "handover", by, batch=batch.pk, letters=sent)
        campaign_close_if_finished(campaign_id=batch.campaign_id)
    return sent


# --- the batch's files, for the printer ------------------------------------------------------------
class PrintBatchFileError(CampaignError):
    """A batch file that cannot be handed out; the message is French and says what to do."""


def _batch_key(batch: PrintBatch, kind: str) -> str | None:
    """The storage key of the batch's PDF or manifest, if it exists (a key outside "print/" is ignored)."""
    stored = batch.pdf_path if kind == "pdf" else batch.manifest_path
    if not stored or batch.built_at is None or not stored.startswith(f"{PRINT_PREFIX}/") or ".." in stored:
        return None
    return stored if private_exists(stored) else None


def print_batch_size(*, batch: PrintBatch) -> int | None:
    """The merged PDF's size in bytes (None before it is built)."""
    key = _batch_key(batch, "pdf")
    return private_size(key) if key else None


def print_batch_file_name(*, batch: PrintBatch, kind: str) -> str:
    """« lot-02-LAB01-campagne-7.pdf »: what the printer's folder will show."""
    extension = "pdf" if kind == "pdf" else "csv"
    suffix = "" if kind == "pdf" else "-manifeste"
    return f"lot-{batch.sequence:02d}-{batch.campaign.laboratory.code}-campagne-{batch.campaign_id}{suffix}.{extension}"


def print_batch_file_open(*, batch: PrintBatch, kind: str) -> Any:
    """The batch's PDF (`kind="pdf"`) or manifest, opened for streaming, after checking its checksum.

    Raises PrintBatchFileError when it is not built yet, missing, or changed since it was built."""
    if batch.built_at is None:
        raise PrintBatchFileError("Ce lot n'est pas encore fabriqué : réessayez dans quelques minutes.")
    key = _batch_key(batch, kind)
    if key is None:
        raise PrintBatchFileError(
            "Le fichier de ce lot est introuvable sur le serveur : prévenez l'exploitation (il doit être refabriqué)."
        )
    expected = batch.pdf_sha256 if kind == "pdf" else batch.manifest_sha256
    if expected and private_sha256(key) != expected:
        raise PrintBatchFileError(
            "Le fichier de ce lot a été modifié depuis sa fabrication (empreinte différente) : ne l'envoyez pas, "
            "prévenez l'exploitation."
        )
    return private_open(key)


def print_batch_letters_to_hand_over(*, batch: PrintBatch) -> int:
    """How many letters a hand-over of this batch would mark as sent."""
    if batch.built_at is None or batch.handed_over_at is not None:
        return 0
    return Notification.objects.filter(print_batch=batch, status__in=[Status.QUEUED, Status.SENDING]).count()


# --- returned mail ---------------------------------------------------------------------------------
Reason = Notification.ReturnReason

# Words in the reason column, compared without accents or case; the first match wins (a death first).
REASON_WORDS = (
    (Reason.DECEASED, ("decede", "deces", "dcd", "deceased", "died", "dead")),
    (Reason.REFUSED, ("refus", "refused")),
    (Reason.NO_LETTERBOX, ("boite", "bal ", "letterbox", "letter box", "mailbox")),
    (Reason.UNKNOWN_RECIPIENT, ("inconnu", "unknown")),
    (Reason.INCOMPLETE, ("incomplet", "insuffisant", "errone", "incorrect", "incomplete")),
    (Reason.MOVED, ("npai", "n'habite", "nhpai", "demenage", "parti", "psla", "moved", "no longer")),
)


class ReturnOutcome(models.TextChoices):
    APPLIED = "applied", "appliqué"
    UNKNOWN = "unknown", "inconnu"
    DUPLICATE = "duplicate", "doublon"
    INVALID = "invalid", "invalide"


# The report's counts, in French: « 2 appliqués, 1 inconnu… » (also the keys of `--json` and of the trail).
REPORT_KEYS = {
    ReturnOutcome.APPLIED: "appliqués",
    ReturnOutcome.UNKNOWN: "inconnus",
    ReturnOutcome.DUPLICATE: "doublons",
    ReturnOutcome.INVALID: "invalides",
}


@dataclass(frozen=True)
class ReturnedMailRow:
    """What one line of a returned-mail file does (preview) or did (report), with a French reason."""

    line: int
    reference: str
    returned_on: str
    reason: str
    outcome: ReturnOutcome
    detail: str


@dataclass
class ReturnedMailReport:
    rows: list[ReturnedMailRow]

    @property
    def counts(self) -> dict[str, int]:
        return {label: sum(1 for row in self.rows if row.outcome == outcome) for outcome, label in REPORT_KEYS.items()}

    def summary(self) -> list[str]:
        """« 2 appliqués », « 1 inconnu », « 0 doublon » (French: plural from 2)."""
        return [f"{n} {label if n >= 2 else label.removesuffix('s')}" for label, n in self.counts.items()]

    @property
    def not_applied(self) -> list[ReturnedMailRow]:
        return [row for row in self.rows if row.outcome != ReturnOutcome.APPLIED]


def return_reason_for(text: str) -> str:
    """The reason code of a reason as written (« Décédé », « NPAI », « refused »…); OTHER when unrecognised."""
    folded = f" {accentless_lower(text).strip()} "
    for code, words in REASON_WORDS:
        if any(word in folded for word in words):
            return code
    return Reason.OTHER


def date_read(text: str) -> dt.date | None:
    """A date as an operator writes it (JJ/MM/AAAA, AAAA-MM-JJ…); None when unreadable."""
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _letters_of(by: Any) -> QuerySet[Notification]:
    letters = Notification.objects.filter(channel=Notification.Channel.POST)
    return letters if by is None else letters.filter(campaign__laboratory__in=laboratories_for(by))


def _fallback_note(notification: Notification, code: str) -> str:
    if code == Reason.DECEASED:
        return "décès enregistré : aucun envoi de repli, patient retiré de la liste du centre d'appels"
    campaign, patient = notification.campaign, notification.patient
    if campaign.channel_policy == Campaign.ChannelPolicy.POST_THEN_EMAIL and patient.email:
        return "un courriel de repli sera envoyé"
    return "pas d'autre canal prévu : le patient ira sur la liste du centre d'appels s'il n'est joint autrement"


def _check(*, reference: str, returned_on: dt.date | None, text: str, by: Any) -> tuple[ReturnOutcome, str, Any]:
    """(outcome, French reason, letter) of one return, without writing anything."""
    if not reference:
        return ReturnOutcome.INVALID, "référence manquante", None
    if returned_on is None:
        return ReturnOutcome.INVALID, "date de retour manquante ou illisible (attendu JJ/MM/AAAA ou AAAA-MM-JJ)", None
    if returned_on > timezone.localdate():
        return ReturnOutcome.INVALID, f"date de retour dans le futur ({returned_on:%d/%m/%Y})", None
    notification = _letters_of(by).select_related("campaign", "patient").filter(reference=reference).first()
    if notification is None:
        return ReturnOutcome.UNKNOWN, "aucune lettre de vos laboratoires ne porte cette référence", None
    previous = DeliveryEvent.objects.filter(event_id=f"return:{notification.reference}").first()
    if previous is not None:
        when = timezone.localtime(previous.recorded_at)
        return ReturnOutcome.DUPLICATE, f"retour déjà enregistré le {when:%d/%m/%Y à %H:%M} : rien ne change", None
    if notification.status in (Status.PENDING, Status.QUEUED, Status.SENDING):
        return ReturnOutcome.INVALID, "lettre pas encore remise à La Poste (son lot n'a pas été remis)", None
    if notification.status == Status.CANCELLED:
        return ReturnOutcome.INVALID, "lettre annulée avant l'envoi", None
    if notification.sent_at and returned_on < timezone.localdate(notification.sent_at):
        sent = timezone.localdate(notification.sent_at)
        return ReturnOutcome.INVALID, f"date de retour antérieure à la remise à La Poste ({sent:%d/%m/%Y})", None
    code = return_reason_for(text)
    said = Reason(code).label if code != Reason.OTHER or not text.strip() else f"autre motif « {text.strip()[:80]} »"
    return ReturnOutcome.APPLIED, f"retour : {said} ; {_fallback_note(notification, code)}", notification


def returned_mail_record(*, reference: str, returned_on: dt.date, reason: str, by: Any = None) -> ReturnOutcome:
    """Apply one returned letter; the outcome says whether it moved (APPLIED) or why not.

    The event id is the reference: the same letter returned twice (or a re-imported file) applies once.
    With `by`, only letters of that person's laboratories are found (another lab's reference is UNKNOWN).
    """
    return _record(reference=reference.strip(), returned_on=returned_on, text=reason, by=by)[0]


def _record(*, reference: str, returned_on: dt.date | None, text: str, by: Any) -> tuple[ReturnOutcome, str]:
    outcome, detail, notification = _check(reference=reference, returned_on=returned_on, text=text, by=by)
    if outcome != ReturnOutcome.APPLIED:
        return outcome, detail
    code = return_reason_for(text)
    label = Reason(code).label if code != Reason.OTHER or not text.strip() else text.strip()
    at = timezone.make_aware(dt.datetime.combine(returned_on, dt.time(12, 0)))
    with transaction.atomic():
        event = delivery_event_record(
            notification=notification, event_type="returned", at=at, source=DeliveryEvent.Source.POSTAL_RETURN,
            reason=label, event_id=f"return:{notification.reference}",
        )  # fmt: skip
        if event is None:  # a concurrent import recorded it first
            return ReturnOutcome.DUPLICATE, "retour déjà enregistré : rien ne change"
        # Before applying: the fallback reads it (no fallback to a deceased patient).
        Notification.objects.filter(pk=notification.pk).update(return_reason=code)
        if code == Reason.DECEASED:
            # The patient, not only this letter: no later campaign, follow-up or call list writes to them.
            Patient.objects.filter(pk=notification.patient_id, deceased_reported_at__isnull=True).update(
                deceased_reported_at=at
            )
        delivery_event_apply(event=event)
    return ReturnOutcome.APPLIED, detail


def returned_mail_import(*, lines: Iterable[ReturnedMailLine], by: Any, apply: bool) -> ReturnedMailReport:
    """What each line of a returned-mail file does: a preview (`apply=False`, writes nothing) or the import.

    Re-runnable: a letter already returned is a DUPLICATE, so the same file twice changes nothing."""
    rows: list[ReturnedMailRow] = []
    seen: dict[str, int] = {}
    for line in lines:
        reference, returned_on = line.reference.strip(), date_read(line.returned_on)
        if line.returned_on.strip() and returned_on is None:
            outcome, detail = (
                ReturnOutcome.INVALID,
                f"date illisible « {line.returned_on[:40]} » (attendu JJ/MM/AAAA ou AAAA-MM-JJ)",
            )
        elif reference and reference in seen:
            outcome, detail = (
                ReturnOutcome.DUPLICATE,
                f"même référence plus haut dans ce fichier (ligne {seen[reference]})",
            )
        elif apply:
            outcome, detail = _record(reference=reference, returned_on=returned_on, text=line.reason, by=by)
        else:
            outcome, detail, _ = _check(reference=reference, returned_on=returned_on, text=line.reason, by=by)
        if outcome == ReturnOutcome.APPLIED:
            seen[reference] = line.line
        rows.append(ReturnedMailRow(line.line, reference, line.returned_on, line.reason, outcome, detail))
    return ReturnedMailReport(rows=rows)
