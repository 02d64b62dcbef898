"""Start-up checks of access & audit: the admin keeps its second factor and lockout, retention and deadline
settings stay within what the law and French health rules allow."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.core import checks
from django_otp.admin import OTPAdminSite

from .audit import AUDIT_MIN_RETENTION_DAYS


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
