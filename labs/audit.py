"""The audit trail: an append-only `AuditEvent` per read of patient data, filing, campaign action or import.

Every app records through `audit_record(...)`; `labs` is the lowest app so all of them can import it.

Append-only, three layers:
- the model refuses `save()` on an existing row and `delete()`;
- its queryset refuses `update()` and `delete()` (so `bulk_update` and cascades fail too);
- on PostgreSQL a row trigger refuses UPDATE and DELETE (migration 0003), whatever the client.

The only deletion path is `audit_purge()` (retention, settings.AUDIT_RETENTION_DAYS). On PostgreSQL it
sets the transaction-local setting `notifier.audit_purge = 'on'` that the trigger checks, and the trigger
still refuses deleting any row younger than AUDIT_MIN_RETENTION_DAYS (183, the French health-sector
minimum of six months) even with the setting on. Why a setting rather than a SECURITY DEFINER function:
it needs no second database role (the app has one role in every deployment shape), it keeps the purge
one plain DELETE, and the age floor inside the trigger bounds what a misuse of the setting can erase.
The limit: a client holding the app's own credentials can also set it — the trigger protects against
mistakes and ORM misuse, not against the database owner (who can drop the trigger anyway).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .client_ip import client_ip
from .roles import role_label

# Kept in step with the constant in the trigger of migration 0003 (a DB-side floor for the purge).
AUDIT_MIN_RETENTION_DAYS = 183


class AuditImmutableError(Exception):
    """Raised on any attempt to change or delete an audit event outside the retention purge."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AuditImmutableError("Les événements d'audit ne se modifient pas / audit events are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditImmutableError("Les événements d'audit ne se suppriment pas / audit events are append-only.")


class AuditEvent(models.Model):
    """Who (and in which role) did what to which object of which laboratory, when, and from where."""

    class Action(models.TextChoices):
        VIEW = "view", _("consultation")
        LIST = "list", _("liste")
        EXPORT = "export", _("export")
        ADD = "add", _("création")
        CHANGE = "change", _("modification")
        DELETE = "delete", _("suppression")
        FILE = "file", _("notification CNIL")
        IMPORT = "import", _("import")
        CAMPAIGN = "campaign", _("action de campagne")
        LOOKUP = "lookup", _("recherche par code")
        LOGIN = "login", _("connexion")
        OTHER = "other", _("autre")

    at = models.DateTimeField(_("quand"), default=timezone.now, db_index=True)
    # PROTECT: a user who appears in the trail is deactivated, never deleted; the name is copied anyway.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("qui"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_username = models.CharField(_("identifiant"), max_length=150, blank=True)
    role = models.CharField(_("rôle"), max_length=60, blank=True)
    action = models.CharField(_("action"), max_length=60, db_index=True)
    object_type = models.CharField(_("type d'objet"), max_length=100, blank=True)
    object_id = models.CharField(_("identifiant d'objet"), max_length=64, blank=True)
    laboratory = models.ForeignKey(
        "labs.Laboratory",
        verbose_name=_("laboratoire"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    ip_address = models.GenericIPAddressField(_("adresse IP"), null=True, blank=True)
    extra = models.JSONField(_("détails"), default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("événement d'audit")
        verbose_name_plural = _("journal d'audit")
        indexes = [models.Index(fields=["object_type", "object_id"]), models.Index(fields=["laboratory", "at"])]

    def __str__(self) -> str:
        return (
            f"{self.at:%Y-%m-%d %H:%M} {self.actor_username or '-'} {self.action} {self.object_type}#{self.object_id}"
        )

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise AuditImmutableError("Les événements d'audit ne se modifient pas / audit events are append-only.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditImmutableError("Les événements d'audit ne se suppriment pas / audit events are append-only.")


def _is_laboratory(obj: Any) -> bool:
    return type(obj).__name__ == "Laboratory" and obj._meta.app_label == "labs"


def _laboratory_of(obj: Any) -> Any:
    """The object's laboratory, along the model's `lab_path` ("case_file__laboratory" for a filing), so its events
    show in that laboratory's trail."""
    if obj is None or _is_laboratory(obj):
        return obj
    value = obj
    for part in getattr(obj, "lab_path", "laboratory").split("__"):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value if _is_laboratory(value) else None


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    laboratory: Any = None,
    request: HttpRequest | None = None,
    **extra: Any,
) -> AuditEvent:
    """Append one event; never raises on a missing actor/request (a system task records actor=None)."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    if laboratory is None:
        laboratory = _laboratory_of(obj)
    return AuditEvent.objects.create(
        actor=user,
        actor_username=user.get_username() if user else "",
        role=role_label(user) if user else "system",
        action=str(action),
        object_type=obj._meta.label_lower if obj is not None else str(extra.pop("object_type", "")),
        object_id=str(obj.pk) if obj is not None else str(extra.pop("object_id", "")),
        laboratory=laboratory,
        ip_address=client_ip(request),
        extra=_jsonable(extra),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def audit_purge(*, now: dt.datetime | None = None) -> int:
    """Delete events older than AUDIT_RETENTION_DAYS (never under the 183-day floor); re-running deletes nothing more."""
    days = max(int(getattr(settings, "AUDIT_RETENTION_DAYS", 365)), AUDIT_MIN_RETENTION_DAYS)
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config('notifier.audit_purge', 'on', true)")
        cursor.execute(f"DELETE FROM {table} WHERE at < %s", [cutoff])  # noqa: S608 (table name from the model)
        return cursor.rowcount
