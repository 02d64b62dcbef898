"""Writes on laboratories, breaches and their Art. 33 case files and filings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .audit import AuditEvent, audit_record
from .deadlines import format_paris
from .models import Breach, BreachLaboratory, BreachMeasure, CnilFiling, DeadlineReminder, Laboratory
from .roles import DPO
from .selectors import case_file_missing, data_categories_text, filing_snapshot, laboratory_import_estimates


def breach_create(
    *, slug: str, title: str, aware_at: dt.datetime, processor: str = "", description: str = ""
) -> tuple[Breach, bool]:
    """Create a breach once; calling again with the same slug changes nothing and returns (breach, False)."""
    existing = Breach.objects.filter(slug=slug).first()
    if existing is not None:
        return existing, False
    breach = Breach.objects.create(
        slug=slug, title=title, aware_at=aware_at, processor=processor, description=description
    )
    return breach, True


# --- Art. 33 case files ----------------------------------------------------------------------------
def case_files_sync(*, breach: Breach) -> int:
    """One case file per laboratory with patients in the breach (aware_at = the breach's), estimates pre-filled;
    re-running creates nothing new and leaves edited estimates alone. Returns how many were created."""
    try:
        patient_model = apps.get_model("patients", "Patient")
        lab_ids = set(patient_model.objects.filter(breach=breach).values_list("laboratory_id", flat=True).distinct())
    except LookupError:
        lab_ids = set()
    created = 0
    for lab in Laboratory.objects.filter(pk__in=lab_ids):
        case_file, was_created = BreachLaboratory.objects.get_or_create(
            breach=breach, laboratory=lab, defaults={"aware_at": breach.aware_at}
        )
        if was_created:
            created += 1
            case_file_prefill_estimates(case_file=case_file)
    return created


def case_file_prefill_estimates(*, case_file: BreachLaboratory, overwrite: bool = False) -> BreachLaboratory:
    """Fill people/records/categories/health flag from the import (in the DB); keeps the DPO's edits unless overwrite."""
    found = laboratory_import_estimates(breach=case_file.breach, laboratory=case_file.laboratory)
    if overwrite or case_file.people_estimate is None:
        case_file.people_estimate = found["people"]
    if overwrite or case_file.records_estimate is None:
        case_file.records_estimate = found["records"]
    if overwrite or not case_file.data_categories:
        case_file.data_categories = data_categories_text(found["categories"])
    case_file.health_data = case_file.health_data or found["health_data"]
    case_file.estimates_prefilled_at = timezone.now()
    case_file.save()
    return case_file


def case_file_decide(
    *, case_file: BreachLaboratory, decision: str, reason: str, by: Any, request: Any = None
) -> BreachLaboratory:
    """Record whether the CNIL is notified, by whom, when and why (the register keeps it either way)."""
    if decision not in BreachLaboratory.Decision.values:
        raise ValidationError(f"Décision inconnue : {decision!r}")
    if decision != BreachLaboratory.Decision.UNDECIDED and not reason.strip():
        raise ValidationError("Le motif de la décision est obligatoire / a reason is required.")
    case_file.cnil_decision, case_file.cnil_decision_reason = decision, reason
    case_file.cnil_decided_by = by if getattr(by, "is_authenticated", False) else None
    case_file.cnil_decided_at = timezone.now()
    case_file.save()
    audit_record(actor=by, action=AuditEvent.Action.CHANGE, obj=case_file, request=request, decision=decision)
    return case_file


def breach_measure_add(*, case_file: BreachLaboratory, text: str, kind: str = "taken", by: Any = None) -> BreachMeasure:
    """Append a timestamped measure (Art. 33(3)(d))."""
    if not text.strip():
        raise ValidationError("Décrivez la mesure / describe the measure.")
    return BreachMeasure.objects.create(
        case_file=case_file, text=text, kind=kind, recorded_by=by if getattr(by, "is_authenticated", False) else None
    )


def cnil_filing_record(
    *,
    case_file: BreachLaboratory,
    submitted_at: dt.datetime,
    by: Any,
    cnil_reference: str = "",
    delay_reasons: str = "",
    request: Any = None,
) -> CnilFiling:
    """Record a filing with the CNIL: the first is the initial one, later ones are complementary (Art. 33(4)).

    Refused while Art. 33(3) elements are missing, and for a late first filing without delay reasons.
    Lateness is decided at the first filing and frozen on the case file; the snapshot freezes what was filed.
    A correction is a new complementary filing: a filing is never edited."""
    if timezone.is_naive(submitted_at):
        raise ValidationError("La date de dépôt doit comporter son fuseau / submitted_at needs an offset.")
    if submitted_at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError("La date de dépôt est dans le futur / submitted_at is in the future.")
    with transaction.atomic():
        locked = BreachLaboratory.objects.select_for_update().get(pk=case_file.pk)
        missing = case_file_missing(locked)
        if missing:
            raise ValidationError("Éléments manquants (art. 33(3)) : " + " ; ".join(missing))
        previous = locked.filings.order_by("-sequence").first()
        sequence = previous.sequence + 1 if previous else 1
        late = previous is None and submitted_at > locked.due_at
        if late and not delay_reasons.strip():
            raise ValidationError(
                f"Notification hors délai (échéance {format_paris(locked.due_at)}) : "
                "indiquez les motifs du retard (art. 33(1)) / give the reasons for the delay."
            )
        kind = CnilFiling.Kind.COMPLEMENTARY if previous else CnilFiling.Kind.INITIAL
        meta = {
            "kind": kind.value,
            "kind_label": kind.label,
            "sequence": sequence,
            "submitted_at": submitted_at.isoformat(),
            "cnil_reference": cnil_reference,
            "late": late,
            "delay_reasons": delay_reasons,
        }
        filing = CnilFiling.objects.create(
            case_file=locked,
            sequence=sequence,
            kind=kind,
            submitted_at=submitted_at,
            cnil_reference=cnil_reference,
            delay_reasons=delay_reasons,
            late=late,
            snapshot=filing_snapshot(locked, **meta),
            filed_by=by if getattr(by, "is_authenticated", False) else None,
        )
        if previous is None:
            locked.first_filed_at, locked.filed_late = submitted_at, late
            if locked.cnil_decision != BreachLaboratory.Decision.NOTIFY:
                # Filing is notifying: an earlier "undecided" or "not to notify" stays in the case file's history.
                locked.cnil_decision = BreachLaboratory.Decision.NOTIFY
                locked.cnil_decision_reason = "Notification déposée."
                locked.cnil_decided_by = filing.filed_by
                locked.cnil_decided_at = timezone.now()
            locked.save()
        audit_record(
            actor=by, action=AuditEvent.Action.FILE, obj=filing, laboratory=locked.laboratory, request=request, **meta
        )
    case_file.refresh_from_db()
    return filing


# --- deadline reminders ----------------------------------------------------------------------------
REMINDER_OFFSETS = [
    (DeadlineReminder.Kind.BEFORE_24H, dt.timedelta(hours=24)),
    (DeadlineReminder.Kind.BEFORE_6H, dt.timedelta(hours=6)),
    (DeadlineReminder.Kind.OVERDUE, dt.timedelta(0)),
]


def _dpo_recipients(case_file: BreachLaboratory) -> list[str]:
    emails = {case_file.laboratory.dpo_email} if case_file.laboratory.dpo_email else set()
    users = (
        get_user_model()
        .objects.filter(is_active=True, groups__name=DPO, lab_memberships__laboratory=case_file.laboratory)
        .exclude(email="")
    )
    emails.update(users.values_list("email", flat=True))
    return sorted(emails)


def deadline_reminders_send(*, now: dt.datetime | None = None) -> int:
    """Email each open case file's DPO at T−24 h, T−6 h and once overdue; returns how many emails went out.

    Exactly once each: a reminder row (unique per case file, kind and deadline) is claimed before sending,
    so a re-run (or a second beat) sends nothing new. When several are due at once (the beat was down),
    only the most urgent is sent and the others are recorded as skipped. A failed send releases its claim
    so the next run retries it."""
    now = now or timezone.now()
    open_files = (
        BreachLaboratory.objects.filter(first_filed_at=None, due_at__lte=now + REMINDER_OFFSETS[0][1])
        .exclude(cnil_decision=BreachLaboratory.Decision.NOT_NOTIFY)
        .select_related("laboratory", "breach")
    )
    sent = 0
    for case_file in open_files:
        due_kinds = [kind for kind, before in REMINDER_OFFSETS if now >= case_file.due_at - before]
        for kind in due_kinds:
            try:
                with transaction.atomic():
                    reminder = DeadlineReminder.objects.create(
                        case_file=case_file, kind=kind, due_at=case_file.due_at, skipped=kind != due_kinds[-1]
                    )
            except IntegrityError:
                continue  # already claimed by an earlier run
            if reminder.skipped:
                continue
            recipients = _dpo_recipients(case_file)
            context = {
                "case_file": case_file,
                "kind": kind,
                "overdue": kind == DeadlineReminder.Kind.OVERDUE,
                "due": format_paris(case_file.due_at),
                "url": settings.PUBLIC_BASE_URL.rstrip("/")
                + reverse("admin:labs_breachlaboratory_change", args=[case_file.pk]),
            }
            subject = render_to_string("labs/emails/deadline_reminder.subject.txt", context).strip()
            body = render_to_string("labs/emails/deadline_reminder.txt", context)
            try:
                if recipients:
                    send_mail(subject, body, None, recipients)
            except Exception:
                reminder.delete()  # release the claim: the next run retries this reminder
                raise
            reminder.sent_at, reminder.recipients = timezone.now(), recipients
            reminder.save(update_fields=["sent_at", "recipients"])
            sent += 1 if recipients else 0
    return sent
