"""Writes on obligations: open them at triage, assess them (four eyes for "not required"), file their steps.

The admin's obligation page, its "approve" action and its filing page call these; so do `case_files_sync`
(opening) and the tests. Refusals are ValidationErrors in French.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from . import access
from .audit import AuditEvent, audit_record
from .deadlines import format_paris
from .filings import AuthorityNotification, BreachLaboratory
from .obligation_states import ObligationState, obligation_clocks, obligation_state
from .obligations import Obligation, enabled_regime_keys, regime_label, step_label

ASSESS_PERMISSION = "labs.edit_breach"  # the DPO of the laboratory, or a superuser (labs/access.py)


def _user(by: Any) -> Any:
    return by if getattr(by, "is_authenticated", False) else None


def obligations_open(*, case_file: BreachLaboratory) -> int:
    """One obligation per enabled regime for the case file, "to assess"; re-running opens only the missing ones
    (a regime enabled later) and never touches an existing one. Returns how many were opened."""
    existing = set(case_file.obligations.values_list("regime", flat=True))
    missing = [key for key in enabled_regime_keys() if key not in existing]
    Obligation.objects.bulk_create(
        [Obligation(case_file=case_file, regime=key) for key in missing], ignore_conflicts=True
    )
    return len(missing)


def _refuse_unless_may_assess(obligation: Obligation, by: Any) -> None:
    if not (access.may(by, ASSESS_PERMISSION) and access.can_access(by, obligation, Obligation.lab_path)):
        raise ValidationError(
            "Seul un DPO du laboratoire (ou un superutilisateur) peut évaluer ou approuver une obligation."
        )


def obligation_assess(
    *, obligation: Obligation, required: bool, by: Any, rationale: str = "", request: Any = None
) -> Obligation:
    """Assess an obligation: "required" takes effect at once; "not required" needs a written rationale and waits
    for a second person's approval (`obligation_approve`). Assessing again replaces an earlier assessment."""
    _refuse_unless_may_assess(obligation, by)
    rationale = rationale.strip()
    if not required and not rationale:
        raise ValidationError("« Non requise » exige un motif écrit / a written rationale is required.")
    with transaction.atomic():
        locked = Obligation.objects.select_for_update().select_related("case_file").get(pk=obligation.pk)
        if obligation_state(locked, now=timezone.now()) in (ObligationState.FILED, ObligationState.FILED_LATE):
            raise ValidationError("Cette obligation est déjà déposée : son évaluation ne change plus.")
        assessment = Obligation.Assessment
        locked.assessment = assessment.REQUIRED if required else assessment.PENDING_APPROVAL
        locked.rationale = rationale
        locked.assessed_by, locked.assessed_at = _user(by), timezone.now()
        locked.approved_by, locked.approved_at = None, None
        locked.save()
        if required and locked.regime_config["evidence"] == "cnil_filing":
            _cnil_decision_follow(
                locked, BreachLaboratory.Decision.NOTIFY, rationale or "Obligation évaluée : requise.", by
            )
        audit_record(
            actor=by, action=AuditEvent.Action.CHANGE, obj=locked, laboratory=locked.case_file.laboratory,
            request=request, regime=locked.regime, assessment=locked.assessment,
        )  # fmt: skip
    obligation.refresh_from_db()
    return obligation


def obligation_approve(*, obligation: Obligation, by: Any, request: Any = None) -> Obligation:
    """The second person's approval of a "not required" assessment, which then takes effect. Refused to the
    assessor, to anyone who may not assess it, and when nothing awaits approval. Approving twice: refused."""
    _refuse_unless_may_assess(obligation, by)
    with transaction.atomic():
        locked = Obligation.objects.select_for_update().select_related("case_file").get(pk=obligation.pk)
        if locked.assessment != Obligation.Assessment.PENDING_APPROVAL:
            raise ValidationError("Aucune évaluation « non requise » n'attend d'approbation pour cette obligation.")
        if locked.assessed_by_id is None or locked.assessed_by_id == getattr(by, "pk", None):
            raise ValidationError(
                "Une seconde personne doit approuver : l'auteur de l'évaluation ne peut pas l'approuver lui-même."
            )
        locked.assessment = Obligation.Assessment.NOT_REQUIRED
        locked.approved_by, locked.approved_at = _user(by), timezone.now()
        locked.save()
        if locked.regime_config["evidence"] == "cnil_filing":
            _cnil_decision_follow(locked, BreachLaboratory.Decision.NOT_NOTIFY, locked.rationale, by)
        audit_record(
            actor=by, action=AuditEvent.Action.CHANGE, obj=locked, laboratory=locked.case_file.laboratory,
            request=request, regime=locked.regime, assessment=locked.assessment, approved=True,
        )  # fmt: skip
    obligation.refresh_from_db()
    return obligation


def _cnil_decision_follow(obligation: Obligation, decision: str, reason: str, by: Any) -> None:
    # The register (Art. 33(5)) and the CNIL clock read the case file's decision: it follows the obligation.
    case_file = obligation.case_file
    if case_file.first_filed_at is None and case_file.cnil_decision != decision:
        case_file.cnil_decision, case_file.cnil_decision_reason = decision, reason
        case_file.cnil_decided_by, case_file.cnil_decided_at = _user(by), timezone.now()
        case_file.save(update_fields=["cnil_decision", "cnil_decision_reason", "cnil_decided_by", "cnil_decided_at"])


def obligation_file(
    *,
    obligation: Obligation,
    step: str,
    notified_at: dt.datetime,
    by: Any,
    authority: str = "",
    reference: str = "",
    request: Any = None,
) -> AuthorityNotification:
    """Record that a step of the obligation was filed with its authority (ARS / CERT Santé, ANSSI), when, with
    its reference; lateness is frozen now. Filing an obligation still to assess makes it "required"."""
    config = obligation.regime_config
    if config["evidence"] != "authority_notification":
        raise ValidationError(
            f"« {regime_label(obligation.regime)} » ne se dépose pas ici : "
            + (
                "enregistrez la notification CNIL depuis le dossier."
                if config["evidence"] == "cnil_filing"
                else "elle suit l'avancement des campagnes d'information."
            )
        )
    steps = [s["step"] for s in config["steps"]]
    if step not in steps:
        raise ValidationError(f"Étape inconnue pour ce régime : {step!r} (attendu : {', '.join(steps)}).")
    authorities = config.get("authorities") or [AuthorityNotification.Authority.OTHER]
    authority = authority or authorities[0]
    if authority not in authorities:
        raise ValidationError(f"Autorité non prévue par ce régime : {authority!r}.")
    if timezone.is_naive(notified_at):
        raise ValidationError("La date doit comporter son fuseau horaire.")
    if notified_at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError("La date de dépôt est dans le futur.")
    _refuse_unless_may_assess(obligation, by)
    with transaction.atomic():
        locked = Obligation.objects.select_for_update().select_related("case_file").get(pk=obligation.pk)
        clock = next(c for c in obligation_clocks(locked) if c.step == step)
        if notified_at < locked.case_file.aware_at:
            raise ValidationError(
                f"La date précède la connaissance de la violation ({format_paris(locked.case_file.aware_at)})."
            )
        filing = AuthorityNotification.objects.create(
            case_file=locked.case_file, authority=authority, notified_at=notified_at, reference=reference.strip(),
            recorded_by=_user(by), obligation=locked, step=step,
            late=clock.due_at is not None and notified_at > clock.due_at,
        )  # fmt: skip
        if locked.assessment in (Obligation.Assessment.TO_ASSESS, Obligation.Assessment.PENDING_APPROVAL):
            locked.assessment = Obligation.Assessment.REQUIRED
            locked.assessed_by, locked.assessed_at = _user(by), timezone.now()
            locked.approved_by = locked.approved_at = None
            locked.save()
        audit_record(
            actor=by, action=AuditEvent.Action.FILE, obj=filing, laboratory=locked.case_file.laboratory,
            request=request, regime=locked.regime, step=step, step_label=step_label(step), late=filing.late,
        )  # fmt: skip
    return filing
