"""Start-up checks of access & audit: the admin keeps its second factor and lockout, retention and deadline
settings stay within what the law and French health rules allow."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.core import checks
from django_otp.admin import OTPAdminSite

from .audit import AUDIT_MIN_RETENTION_DAYS
from .filings import AuthorityNotification
from .obligations import EVIDENCE_KINDS, STEP_LABELS


def check_admin_protection(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors = []
    if not isinstance(admin.site, OTPAdminSite):
        errors.append(
            checks.Error(
                "L'admin n'exige pas de second facteur (admin.site n'est pas un OTPAdminSite).",
                hint="INSTALLED_APPS doit contenir 'config.admin_apps.NotifierAdminConfig' au lieu de 'django.contrib.admin'.",
                id="labs.E001",
            )
        )
    for needed in ("django_otp.middleware.OTPMiddleware", "axes.middleware.AxesMiddleware"):
        if needed not in settings.MIDDLEWARE:
            errors.append(checks.Error(f"{needed} manque dans MIDDLEWARE.", id="labs.E002"))
    if "labs.access.AxesRequestBackend" not in settings.AUTHENTICATION_BACKENDS:
        errors.append(
            checks.Error(
                "Pas de verrouillage après échecs de connexion (django-axes).",
                hint="AUTHENTICATION_BACKENDS doit commencer par 'labs.access.AxesRequestBackend'.",
                id="labs.E003",
            )
        )
    return errors


def check_retention_and_deadline(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    warnings = []
    if settings.AUDIT_RETENTION_DAYS < AUDIT_MIN_RETENTION_DAYS:
        warnings.append(
            checks.Warning(
                f"AUDIT_RETENTION_DAYS={settings.AUDIT_RETENTION_DAYS} est sous le minimum de six mois : "
                f"la purge garde {AUDIT_MIN_RETENTION_DAYS} jours.",
                id="labs.W001",
            )
        )
    if settings.CNIL_DEADLINE_HOURS != 72:
        warnings.append(
            checks.Warning(
                f"CNIL_DEADLINE_HOURS={settings.CNIL_DEADLINE_HOURS} : l'art. 33(1) RGPD fixe 72 heures.",
                hint="Ne changez ce délai que si le droit applicable a changé.",
                id="labs.W002",
            )
        )
    return warnings


def check_regimes(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """NOTIFIER_REGIMES is data an operator may edit: a malformed regime is refused at start-up, in French."""
    errors = []
    for key, config in settings.NOTIFIER_REGIMES.items():
        problems = []
        if config.get("evidence") not in EVIDENCE_KINDS:
            problems.append(f"« evidence » doit valoir {', '.join(EVIDENCE_KINDS)}")
        unknown = set(config.get("authorities", [])) - set(AuthorityNotification.Authority.values)
        if unknown:
            problems.append(f"autorités inconnues : {', '.join(sorted(unknown))}")
        seen: list[str] = []
        for step in config.get("steps") or [None]:
            if not isinstance(step, dict) or step.get("step") not in STEP_LABELS:
                problems.append(f"étape inconnue ou absente (attendu : {', '.join(STEP_LABELS)})")
                continue
            for count in ("hours", "months", "target_hours"):
                value = step.get(count)
                if value is not None and (not isinstance(value, int) or value <= 0):
                    problems.append(f"{step['step']} : « {count} » doit être un nombre entier positif")
            if step.get("from", "aware_at") not in ("aware_at", *seen):
                problems.append(f"{step['step']} : « from » doit être aware_at ou une étape précédente")
            seen.append(step["step"])
        if problems:
            errors.append(checks.Error(f"Régime {key!r} mal configuré : {' ; '.join(problems)}.", id="labs.E004"))
    return errors
