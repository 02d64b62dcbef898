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

from .ars import authority_report_snapshot
from .audit import AuditEvent, audit_record
from .deadlines import format_elapsed, format_paris
from .filing_states import initial_filing_late
from .models import (
    AuthorityNotification,
    Breach,
    BreachLaboratory,
    BreachMeasure,
    CnilFiling,
    DeadlineReminder,
    Laboratory,
    Obligation,
)
from .obligation_services import obligations_open
from .obligation_states import obligation_clocks
from .obligations import regimes
from .receipts import receipt_discard, receipt_read, receipt_store
from .roles import DPO
from .selectors import data_categories_text, laboratory_import_estimates
from .snapshots import filing_snapshot, filing_text, snapshot_changes


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
    """One case file per laboratory with patients in the breach (aware_at = the breach's), estimates pre-filled,
    its obligations opened (one per enabled regime); re-running creates nothing new (but the obligations of a
    regime enabled since) and leaves edited estimates alone. Returns how many case files were created."""
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
    for case_file in breach.case_files.all():
        obligations_open(case_file=case_file)  # triage: one obligation per enabled regime, missing ones only
    return created


def case_file_prefill_estimates(*, case_file: BreachLaboratory, overwrite: bool = False) -> BreachLaboratory:
    """Fill people/records (minors among them)/categories/health flag from the import (in the DB); keeps the DPO's
    edits unless overwrite."""
    found = laboratory_import_estimates(breach=case_file.breach, laboratory=case_file.laboratory)
    for field, key in (
        ("people_estimate", "people"),
        ("records_estimate", "records"),
        ("minors_estimate", "minors"),
        ("minors_records_estimate", "minors_records"),
    ):
        if overwrite or getattr(case_file, field) is None:
            setattr(case_file, field, found[key])
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
    receipt: Any = None,
    request: Any = None,
) -> CnilFiling:
    """Record a filing with the CNIL, in phases (Art. 33(4)): the first is the initial one, filed with what is known
    (the Art. 33(3) items still missing are frozen into it as « à compléter »); later ones are complementary: they
    cite the initial's CNIL reference and date and carry what changed since the previous filing.

    Refused: a late first filing without delay reasons; a complementary one while the initial has no CNIL
    reference; a receipt that is not a PDF. Lateness is decided at the first filing and frozen on the case file;
    the snapshot and the text sent are frozen in the filing. A correction is a new complementary filing: a filing
    is never edited (only its reference and receipt, once, when they arrive)."""
    if timezone.is_naive(submitted_at):
        raise ValidationError("La date de dépôt doit comporter son fuseau horaire.")
    if submitted_at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError("La date de dépôt est dans le futur.")
    receipt_content = receipt_read(receipt) if receipt else None
    with transaction.atomic():
        locked = BreachLaboratory.objects.select_for_update().get(pk=case_file.pk)
        previous = locked.filings.order_by("-sequence").first()
        initial = locked.filings.filter(kind=CnilFiling.Kind.INITIAL).first()
        if previous is not None and not initial.cnil_reference:
            raise ValidationError(
                "La notification initiale n'a pas encore de référence CNIL : ajoutez-la d'abord (avec l'accusé de "
                "réception) — la notification complémentaire la cite."
            )
        if previous is not None and submitted_at < previous.submitted_at:
            raise ValidationError(
                f"La date de dépôt précède celle de la notification précédente ({format_paris(previous.submitted_at)})."
            )
        late = initial_filing_late(locked, at=submitted_at)
        if late and not delay_reasons.strip():
            raise ValidationError(
                f"Notification hors délai (échéance {format_paris(locked.due_at)}) : "
                "indiquez les motifs du retard (art. 33(1))."
            )
        sequence = previous.sequence + 1 if previous else 1
        kind = CnilFiling.Kind.COMPLEMENTARY if previous else CnilFiling.Kind.INITIAL
        meta: dict[str, Any] = {
            "kind": kind.value,
            "kind_label": kind.label,
            "sequence": sequence,
            "submitted_at": submitted_at.isoformat(),
            "submitted_at_paris": format_paris(submitted_at),
            "cnil_reference": cnil_reference,
            "late": late,
            "delay_reasons": delay_reasons,
        }
        if initial is not None:
            meta["initial"] = {
                "sequence": initial.sequence,
                "cnil_reference": initial.cnil_reference,
                "submitted_at": initial.submitted_at.isoformat(),
                "submitted_at_paris": format_paris(initial.submitted_at),
            }
            meta["previous_sequence"] = previous.sequence
        snapshot = filing_snapshot(locked, **meta)
        if previous is not None:
            snapshot["filing"]["changes"] = snapshot_changes(previous.snapshot, snapshot)
        receipt_name, receipt_sha256 = receipt_store(receipt_content) if receipt_content else ("", "")
        try:
            filing = _filing_create(
                locked, meta=meta, snapshot=snapshot, by=by, request=request,
                receipt_name=receipt_name, receipt_sha256=receipt_sha256,
            )  # fmt: skip
        except Exception:
            if receipt_name:
                receipt_discard(receipt_name)  # the transaction is rolled back: no filing owns the file
            raise
    case_file.refresh_from_db()
    return filing


def _filing_create(
    locked: BreachLaboratory,
    *,
    meta: dict[str, Any],
    snapshot: dict[str, Any],
    by: Any,
    request: Any,
    receipt_name: str,
    receipt_sha256: str,
) -> CnilFiling:
    filing = CnilFiling.objects.create(
        case_file=locked,
        sequence=meta["sequence"],
        kind=meta["kind"],
        submitted_at=dt.datetime.fromisoformat(meta["submitted_at"]),
        cnil_reference=meta["cnil_reference"],
        delay_reasons=meta["delay_reasons"],
        late=meta["late"],
        snapshot=snapshot,
        text=filing_text(snapshot),
        receipt_name=receipt_name,
        receipt_sha256=receipt_sha256,
        receipt_attached_at=timezone.now() if receipt_name else None,
        filed_by=by if getattr(by, "is_authenticated", False) else None,
    )
    if meta["sequence"] == 1:
        locked.first_filed_at, locked.filed_late = filing.submitted_at, meta["late"]
        if locked.cnil_decision != BreachLaboratory.Decision.NOTIFY:
            # Filing is notifying: an earlier "undecided" or "not to notify" stays in the case file's history.
            locked.cnil_decision = BreachLaboratory.Decision.NOTIFY
            locked.cnil_decision_reason = "Notification déposée."
            locked.cnil_decided_by = filing.filed_by
            locked.cnil_decided_at = timezone.now()
        locked.save()
    audit_record(
        actor=by, action=AuditEvent.Action.FILE, obj=filing, laboratory=locked.laboratory, request=request,
        missing=len(snapshot["missing"]), changes=len(snapshot["filing"].get("changes", [])), **meta,
    )  # fmt: skip
    return filing


def cnil_filing_receipt_attach(
    *, filing: CnilFiling, by: Any, cnil_reference: str = "", receipt: Any = None, request: Any = None
) -> CnilFiling:
    """Add the authority's case number and/or acknowledgement (PDF) to a filing, once each: a value already
    recorded is never replaced (calling again with the same reference changes nothing)."""
    cnil_reference = cnil_reference.strip()
    if not cnil_reference and not receipt:
        raise ValidationError("Indiquez la référence CNIL ou joignez l'accusé de réception (PDF).")
    receipt_content = receipt_read(receipt) if receipt else None
    with transaction.atomic():
        locked = CnilFiling.objects.select_for_update().get(pk=filing.pk)
        fields: list[str] = []
        if cnil_reference and cnil_reference != locked.cnil_reference:
            if locked.cnil_reference:
                raise ValidationError(
                    f"Cette notification a déjà la référence CNIL « {locked.cnil_reference} » : elle ne change plus."
                )
            locked.cnil_reference = cnil_reference
            fields.append("cnil_reference")
        if receipt_content is not None:
            if locked.receipt_name:
                raise ValidationError("Cette notification a déjà son accusé de réception : il ne se remplace pas.")
            locked.receipt_name, locked.receipt_sha256 = receipt_store(receipt_content)
            locked.receipt_attached_at = timezone.now()
            fields += ["receipt_name", "receipt_sha256", "receipt_attached_at"]
        if fields:
            try:
                locked.save(update_fields=fields)
            except Exception:
                if "receipt_name" in fields:
                    receipt_discard(locked.receipt_name)
                raise
            audit_record(
                actor=by, action=AuditEvent.Action.CHANGE, obj=locked, laboratory=locked.case_file.laboratory,
                request=request, fields=fields, cnil_reference=locked.cnil_reference,
            )  # fmt: skip
    filing.refresh_from_db()
    return filing


def case_file_people_informed_record(
    *,
    case_file: BreachLaboratory,
    count: int,
    first_at: dt.datetime | None,
    last_at: dt.datetime | None,
    channels: list[str],
    finished: bool,
) -> BreachLaboratory:
    """Record whether, when and how the persons were told, from figures the campaign engine computes (labs sits
    below notifier and does not read campaigns). Idempotent: the same figures write the same fields."""
    if count < 0:
        raise ValidationError("Le nombre de personnes informées ne peut pas être négatif.")
    informed = BreachLaboratory.Informed
    case_file.people_informed = (
        informed.DONE if count and finished else informed.IN_PROGRESS if count else case_file.people_informed
    )
    case_file.people_informed_count = count
    case_file.people_informed_first_at, case_file.people_informed_last_at = first_at, last_at
    case_file.people_informed_channels = ", ".join(channels)
    case_file.people_informed_synced_at = timezone.now()
    case_file.save()
    return case_file


def authority_notification_add(
    *,
    case_file: BreachLaboratory,
    authority: str,
    notified_at: dt.datetime,
    reference: str = "",
    authority_name: str = "",
    by: Any = None,
) -> AuthorityNotification:
    """Record that another authority (ARS, CERT Santé, police…) was told, when, with its reference; a report to
    the ARS or CERT Santé keeps the report as sent (frozen, see authority_notification_freeze)."""
    if authority not in AuthorityNotification.Authority.values:
        raise ValidationError(f"Autorité inconnue : {authority!r}")
    if authority == AuthorityNotification.Authority.OTHER and not authority_name.strip():
        raise ValidationError("Précisez le nom de l'autorité.")
    notification = AuthorityNotification(
        case_file=case_file, authority=authority, notified_at=notified_at, reference=reference,
        authority_name=authority_name, recorded_by=by if getattr(by, "is_authenticated", False) else None,
    )  # fmt: skip
    return authority_notification_freeze(notification=notification)


def authority_notification_freeze(*, notification: AuthorityNotification) -> AuthorityNotification:
    """Save a notification, freezing the ARS / CERT Santé report on it the first time (never overwritten after:
    a later correction of the date or reference keeps the report as it was sent)."""
    if notification.snapshot is None:
        notification.snapshot = authority_report_snapshot(notification)
    notification.save()
    return notification


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
    """Email each open case file's DPO at T−24 h, T−6 h and once overdue, for the CNIL clock and for every step of
    every other obligation still open (daily for a « sans délai » step); returns how many emails went out.

    Exactly once each: a reminder row (unique per case file, regime, step, kind and deadline) is claimed before
    sending, so a re-run (or a second beat) sends nothing new. When several are due at once (the beat was
    down), only the most urgent is sent and the others are recorded as skipped. A failed send releases its
    claim so the next run retries it."""
    now = now or timezone.now()
    open_files = (
        BreachLaboratory.objects.filter(first_filed_at=None, due_at__lte=now + REMINDER_OFFSETS[0][1])
        .exclude(cnil_decision=BreachLaboratory.Decision.NOT_NOTIFY)
        .select_related("laboratory", "breach")
    )
    sent = 0
    for case_file in open_files:
        due_kinds = [kind for kind, before in REMINDER_OFFSETS if now >= case_file.due_at - before]
        context = {"due": format_paris(case_file.due_at), "case_file": case_file}
        url = reverse("admin:labs_breachlaboratory_change", args=[case_file.pk])
        sent += _remind(
            case_file, regime="cnil_art33", step="initial", kinds=[(kind, case_file.due_at) for kind in due_kinds],
            template="labs/emails/deadline_reminder", url=url, context=context,
        )  # fmt: skip
    return sent + _obligation_reminders_send(now=now)


def _obligation_reminders_send(*, now: dt.datetime) -> int:
    # The CNIL obligation's clock is the case file's own, reminded above.
    obligations = (
        Obligation.objects.exclude(assessment=Obligation.Assessment.NOT_REQUIRED)
        .select_related("case_file__laboratory", "case_file__breach")
        .prefetch_related("filings")
    )
    sent = 0
    for obligation in obligations:
        config = regimes().get(obligation.regime)
        if config is None or config["evidence"] == "cnil_filing":
            continue
        for clock in obligation_clocks(obligation):
            if clock.filed_at is not None or clock.in_progress or clock.started_at is None:
                continue
            if clock.due_at is not None:
                kinds = [(kind, clock.due_at) for kind, before in REMINDER_OFFSETS if now >= clock.due_at - before]
            else:
                days = int((now - clock.started_at) / dt.timedelta(hours=24))
                kinds = [(DeadlineReminder.Kind.ELAPSED, clock.started_at + dt.timedelta(days=days))] if days else []
            context = {
                "case_file": obligation.case_file, "obligation": obligation, "clock": clock,
                "regime": config, "due": format_paris(clock.due_at), "since": format_paris(clock.started_at),
                "elapsed": format_elapsed(clock.started_at, now=now),
            }  # fmt: skip
            url = reverse("admin:labs_obligation_change", args=[obligation.pk])
            sent += _remind(
                obligation.case_file, regime=obligation.regime, step=clock.step, kinds=kinds,
                template="labs/emails/obligation_reminder", url=url, context=context,
            )  # fmt: skip
    return sent


def _remind(
    case_file: BreachLaboratory,
    *,
    regime: str,
    step: str,
    kinds: list[tuple[str, dt.datetime]],
    template: str,
    url: str,
    context: dict[str, Any],
) -> int:
    """Claim each due reminder of one clock, send the most urgent (the last), skip the others; 1 if an email went."""
    sent = 0
    for kind, due_at in kinds:
        try:
            with transaction.atomic():
                reminder = DeadlineReminder.objects.create(
                    case_file=case_file, regime=regime, step=step, kind=kind, due_at=due_at,
                    skipped=kind != kinds[-1][0],
                )  # fmt: skip
        except IntegrityError:
            continue  # already claimed by an earlier run
        if reminder.skipped:
            continue
        recipients = _dpo_recipients(case_file)
        full = {
            **context,
            "kind": kind,
            "overdue": kind == DeadlineReminder.Kind.OVERDUE,
            "url": settings.PUBLIC_BASE_URL.rstrip("/") + url,
        }
        subject = render_to_string(f"{template}.subject.txt", full).strip()
        body = render_to_string(f"{template}.txt", full)
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
