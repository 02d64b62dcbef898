"""Right-of-access requests (GDPR Art. 15): recorded from the status page, answered by the laboratory's DPO.

Every step is a conditional update (a step taken twice, or by two DPOs at once, happens once) and lands in
the audit trail. The DPO's notification is neutral: a reference, a due date and a link to the admin; no
name, no health data.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.mail import mail_admins, send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from labs.audit import audit_record
from notifier.models import Campaign
from patients.models import Patient

from .models import AccessRequest

logger = logging.getLogger(__name__)

Status = AccessRequest.Status
NOTIFY_TASK = "status_page.tasks.access_request_dpo_notify_task"


class AccessRequestError(Exception):
    """A step the request's state does not allow; the message is French and shown as it is."""


def access_due_on(received_on: dt.date) -> dt.date:
    """One month after receipt (Art. 12(3)): the same day next month, or that month's last day (31 Jan → 28 Feb)."""
    year, month = (received_on.year + 1, 1) if received_on.month == 12 else (received_on.year, received_on.month + 1)
    return dt.date(year, month, min(received_on.day, calendar.monthrange(year, month)[1]))


def laboratory_of_patient(*, patient_id: int):
    """The laboratory a request goes to (the data controller of the patient's file)."""
    return Patient.objects.select_related("laboratory").get(pk=patient_id).laboratory


def access_request_create(
    *,
    patient_id: int,
    campaign_id: int | None,
    requester: str,
    contact_phone: str,
    contact_email: str,
    request: Any = None,
) -> tuple[AccessRequest, bool]:
    """Record a patient's request and notify the DPO after commit; (request, created).

    Idempotent by the database: while a request of this patient with the same contact is open, it is
    returned and nothing is recorded or sent again.
    """
    patient = Patient.objects.select_related("laboratory").get(pk=patient_id)
    same = {"patient": patient, "contact_phone": contact_phone, "contact_email": contact_email}
    existing = AccessRequest.objects.filter(status__in=AccessRequest.OPEN_STATUSES, **same).first()
    if existing is not None:
        return existing, False
    now = timezone.now()
    today = timezone.localdate(now)
    try:
        with transaction.atomic():
            access_request = AccessRequest.objects.create(
                **same,
                laboratory=patient.laboratory,
                campaign=Campaign.objects.filter(pk=campaign_id).first() if campaign_id else None,
                requester=requester,
                patient_was_minor=patient.minor_on(today),
                received_at=now,
                due_on=access_due_on(today),
            )
            audit_record(
                actor=None,
                action="access_request.received",
                obj=access_request,
                request=request,
                via="status_page",
                patient=patient.pk,
                requester=requester,
            )
            transaction.on_commit(lambda: access_request_dpo_notify_enqueue(access_request_id=access_request.pk))
    except IntegrityError:  # the same request, sent at the same moment from a second tab
        return AccessRequest.objects.get(status__in=AccessRequest.OPEN_STATUSES, **same), False
    return access_request, True


def access_request_dpo_notify_enqueue(*, access_request_id: int) -> None:
    # By name, as notifier/queue.py does: the task module calls this one (StatusPageConfig.ready registers it).
    current_app.tasks[NOTIFY_TASK].delay(access_request_id)


def access_request_dpo_notify(*, access_request_id: int) -> bool:
    """Email the laboratory's DPO that a request waits (neutral); once per request, True when this call sent it.

    The row is claimed before the send and released if the send fails, so a retry sends it then.
    """
    now = timezone.now()
    claimed = AccessRequest.objects.filter(pk=access_request_id, dpo_notified_at=None).update(
        dpo_notified_at=now, updated_at=now
    )
    if claimed != 1:
        return False
    access_request = AccessRequest.objects.select_related("laboratory").get(pk=access_request_id)
    laboratory = access_request.laboratory
    context = {
        "access_request": access_request,
        "laboratory": laboratory,
        "admin_url": settings.PUBLIC_BASE_URL.rstrip("/")
        + reverse("admin:status_page_accessrequest_change", args=[access_request.pk]),
    }
    subject = " ".join(render_to_string("status/emails/access_request_dpo.subject.txt", context).split())
    body = render_to_string("status/emails/access_request_dpo.txt", context)
    try:
        if laboratory.dpo_email:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [laboratory.dpo_email])
        else:  # no DPO address on file: the people running the service get it instead
            mail_admins(subject, body)
    except Exception:
        AccessRequest.objects.filter(pk=access_request_id).update(dpo_notified_at=None)
        raise
    audit_record(actor=None, action="access_request.dpo_notified", obj=access_request)
    return True


def _step(
    access_request: AccessRequest, *, allowed: tuple[str, ...], changes: dict[str, Any], action: str, by: Any,
    request: Any, **extra: Any,
) -> AccessRequest:  # fmt: skip
    with transaction.atomic():
        moved = AccessRequest.objects.filter(pk=access_request.pk, status__in=allowed).update(
            **changes, updated_at=timezone.now()
        )
        if moved != 1:
            current = AccessRequest.objects.get(pk=access_request.pk)
            raise AccessRequestError(
                f"Cette demande est déjà « {current.get_status_display()} » : cette étape n'est plus possible."
            )
        access_request.refresh_from_db()
        audit_record(actor=by, action=action, obj=access_request, request=request, via="admin", **extra)
    return access_request


def access_request_identity_check(*, access_request: AccessRequest, by: Any, note: str, request: Any = None):
    """The DPO has checked who asks (a call back on the file's number, an ID document…); once per request."""
    note = " ".join((note or "").split())
    if not note:
        raise AccessRequestError("Indiquez comment l'identité a été vérifiée.")
    return _step(
        access_request,
        allowed=(Status.RECEIVED,),
        changes={
            "status": Status.IDENTITY_CHECKED,
            "identity_checked_at": timezone.now(),
            "identity_checked_by": by,
            "identity_check_note": note[:300],
        },
        action="access_request.identity_checked",
        by=by,
        request=request,
    )


def access_request_answer(*, access_request: AccessRequest, by: Any, request: Any = None):
    """The DPO has answered; only after the identity check, so nothing is disclosed to an unknown person."""
    if access_request.status == Status.RECEIVED:
        raise AccessRequestError("Vérifiez d'abord l'identité du demandeur : rien ne doit être communiqué avant.")
    return _step(
        access_request,
        allowed=(Status.IDENTITY_CHECKED,),
        changes={"status": Status.ANSWERED, "closed_at": timezone.now(), "closed_by": by},
        action="access_request.answered",
        by=by,
        request=request,
    )


def access_request_refuse(*, access_request: AccessRequest, by: Any, reason: str, request: Any = None):
    """The DPO refuses (identity not established, a minor's secret under CSP art. L.1111-5…), with a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise AccessRequestError("Un refus doit être motivé : indiquez le motif.")
    return _step(
        access_request,
        allowed=AccessRequest.OPEN_STATUSES,
        changes={"status": Status.REFUSED, "closed_at": timezone.now(), "closed_by": by, "refusal_reason": reason},
        action="access_request.refused",
        by=by,
        request=request,
    )
