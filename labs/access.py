"""Who may see and do what: the ONE place that decides (roles, laboratory scoping, admin mixin).

Roles are Django groups (`DPO`, `Liaison CNIL`, `Opérateur`, named in `labs.roles`) plus superusers;
a `LaboratoryMembership` links a DPO or operator to their laboratories. Everything else asks this module:
- `laboratories_for(user)` — the laboratories a user may see;
- `scope_queryset(qs, user, lab_path)` — a queryset cut down to those laboratories;
- `rules` permissions (`labs.read_patient_data`, `labs.edit_breach`, ...) — what a role may do;
- `LabScopedAdminMixin` — the same rules applied to an admin, objects of another laboratory are 404,
  reads of patient-level rows are written to the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import rules
from axes.backends import AxesStandaloneBackend
from django.contrib.admin import RelatedOnlyFieldListFilter
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.admin.utils import get_fields_from_path, unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest

from .audit import AuditEvent, audit_record
from .models import Laboratory, LaboratoryMembership
from .roles import CNIL_LIAISON, DPO, OPERATOR, role_names
from .roles import roles_ensure as roles_ensure  # callers set up roles through this module, as the rest


# --- rules predicates and permissions -------------------------------------------------------------
@rules.predicate
def is_dpo(user: Any) -> bool:
    return DPO in role_names(user)


@rules.predicate
def is_cnil_liaison(user: Any) -> bool:
    return CNIL_LIAISON in role_names(user)


@rules.predicate
def is_operator(user: Any) -> bool:
    return OPERATOR in role_names(user)


@rules.predicate
def is_active_superuser(user: Any) -> bool:
    return bool(getattr(user, "is_active", False) and getattr(user, "is_superuser", False))


@rules.predicate
def in_users_laboratories(user: Any, obj: Any) -> bool:
    """Object-level: the object belongs to one of the user's laboratories (lab_path declared on its class)."""
    if obj is None:
        return True
    return can_access(user, obj, getattr(type(obj), "lab_path", "laboratory"))


_staff_roles = is_dpo | is_operator | is_cnil_liaison
PERMISSIONS = {
    # Person-level rows (patients, exposed records, notifications): never the CNIL liaison.
    "labs.read_patient_data": is_active_superuser | is_dpo | is_operator,
    # Laboratory-level facts and aggregates (breaches, filings, counts): every role, read-only for some.
    "labs.view_lab_data": is_active_superuser | _staff_roles,
    "labs.edit_lab_data": is_active_superuser | is_dpo | is_operator,
    # The Art. 33 decisions and filings are the controller's: its DPO (or a superuser).
    "labs.edit_breach": is_active_superuser | is_dpo,
    "labs.file_with_cnil": is_active_superuser | is_dpo,
    # Imports and campaigns are run by operators (and DPOs) of the laboratory.
    "labs.run_operations": is_active_superuser | is_dpo | is_operator,
    "labs.delete_lab_data": is_active_superuser,
    # Shared across laboratories (a breach's common facts, the list of laboratories, who works where).
    "labs.manage_shared": is_active_superuser,
    # The trail names patients (object ids, searches typed by staff): not for the CNIL liaison.
    "labs.view_audit": is_active_superuser | is_dpo,
    "labs.access_object": is_active_superuser | in_users_laboratories,
}
for _name, _predicate in PERMISSIONS.items():
    rules.set_perm(_name, _predicate)


# --- scoping -------------------------------------------------------------------------------------
def sees_all_laboratories(user: Any) -> bool:
    """Superusers and the CNIL liaison see every laboratory (the liaison only its aggregates and filings)."""
    return bool(is_active_superuser(user) or (getattr(user, "is_active", False) and is_cnil_liaison(user)))


def laboratories_for(user: Any) -> models.QuerySet:
    """The laboratories this user may see, as a queryset."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Laboratory.objects.none()
    if sees_all_laboratories(user):
        return Laboratory.objects.all()
    return Laboratory.objects.filter(memberships__user=user)


def _crosses_many(model: type[models.Model], path: str) -> bool:
    for part in path.split("__"):
        if part == "pk":
            return False
        field = model._meta.get_field(part)
        if field.many_to_many or field.one_to_many:
            return True
        if field.related_model is None:
            return False
        model = field.related_model
    return False


def scope_queryset(qs: models.QuerySet, user: Any, lab_path: str | None = "laboratory") -> models.QuerySet:
    """Cut `qs` down to the user's laboratories; `lab_path` leads from the model to a Laboratory ("pk" for
    Laboratory itself, None for rows with no laboratory — superusers only)."""
    if is_active_superuser(user):
        return qs
    if lab_path is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    if sees_all_laboratories(user):
        return qs
    labs = laboratories_for(user).values("pk")
    lookup = {f"{lab_path}__in": labs}
    if _crosses_many(qs.model, lab_path):
        # A many-valued path (a breach with several laboratories) would duplicate rows: filter by pk instead.
        return qs.filter(pk__in=qs.model._default_manager.filter(**lookup).values("pk"))
    return qs.filter(**lookup)


def can_access(user: Any, obj: models.Model, lab_path: str | None = "laboratory") -> bool:
    return scope_queryset(type(obj)._default_manager.filter(pk=obj.pk), user, lab_path).exists()


def memberships_set(*, user: Any, laboratories: Iterable[Any]) -> None:
    """Make `user` a member of exactly these laboratories (idempotent)."""
    wanted = {lab.pk for lab in laboratories}
    LaboratoryMembership.objects.filter(user=user).exclude(laboratory_id__in=wanted).delete()
    for lab_id in wanted:
        LaboratoryMembership.objects.get_or_create(user=user, laboratory_id=lab_id)


# --- authentication ------------------------------------------------------------------------------
class AxesRequestBackend(AxesStandaloneBackend):
    """django-axes lockout for log-ins that come with a request (the admin form); a call without a request
    (`Client.login` in tests, scripts) is left to the next backend instead of failing."""

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> Any:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


# --- admin ---------------------------------------------------------------------------------------
def _cached_perm(request: HttpRequest, name: str | None) -> bool:
    """A role permission, evaluated once per request (the admin's sidebar asks it for every model)."""
    if not name or not request.user.is_active:
        return False
    cache = request.__dict__.setdefault("_notifier_perms", {})
    key = (request.user.pk, name)  # keyed by user: a log-in within the request must not reuse answers
    if key not in cache:
        cache[key] = request.user.has_perm(name)
    return cache[key]


class LabScopedAdminMixin:
    """Put first in an admin's bases: `class PatientAdmin(LabScopedAdminMixin, admin.ModelAdmin)`.

    - `lab_path`: the lookup from the model to its Laboratory ("laboratory", "patient__laboratory",
      "laboratories" for a breach, "pk" for Laboratory, None for superuser-only models);
    - `patient_data = True` for person-level rows: hidden from the CNIL liaison, reads audited;
    - `view_permission` / `change_permission` / `add_permission` / `delete_permission`: rules names.
    Objects outside the user's laboratories are 404 on every object URL (change, delete, history).
    """

    lab_path: str | None = "laboratory"
    patient_data: bool = False
    view_permission: str | None = None
    change_permission: str = "labs.edit_lab_data"
    add_permission: str | None = None
    delete_permission: str = "labs.delete_lab_data"

    def _perm(self, request: HttpRequest, name: str | None) -> bool:
        return _cached_perm(request, name)

    def _view_perm_name(self) -> str:
        if self.view_permission:
            return self.view_permission
        return "labs.read_patient_data" if self.patient_data else "labs.view_lab_data"

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return scope_queryset(super().get_queryset(request), request.user, self.lab_path)

    def get_list_filter(self, request: HttpRequest) -> Any:
        # A plain relation filter lists every related row (e.g. every laboratory's name): for anyone but a
        # superuser, offer only the values present in the scoped queryset.
        filters = super().get_list_filter(request)
        if is_active_superuser(request.user):
            return filters
        return [self._related_only(spec) for spec in filters]

    def _related_only(self, spec: Any) -> Any:
        if not isinstance(spec, str):
            return spec
        try:
            field = get_fields_from_path(self.model, spec)[-1]
        except (models.FieldDoesNotExist, LookupError):
            return spec
        return (spec, RelatedOnlyFieldListFilter) if field.is_relation and field.many_to_one else spec

    def _scoped_choices(self, model: type[models.Model], user: Any) -> models.QuerySet | None:
        """The choices a select of `model` may offer this user: their laboratories, or rows of their
        laboratories for a model whose admin is laboratory-scoped; None for a model with no laboratory."""
        try:
            registered = self.admin_site.get_model_admin(model)
        except NotRegistered:
            return None
        lab_path = getattr(registered, "lab_path", None)
        if lab_path is None:
            return None
        return scope_queryset(model._default_manager.all(), user, lab_path)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Without this a DPO's add form lists every laboratory, and a posted id of another one is accepted.
        if "queryset" not in kwargs:
            scoped = self._scoped_choices(db_field.related_model, request.user)
            if scoped is not None:
                kwargs["queryset"] = scoped
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _in_scope(self, request: HttpRequest, obj: Any) -> bool:
        return obj is None or can_access(request.user, obj, self.lab_path)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._perm(request, self._view_perm_name()) and self._in_scope(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._perm(request, self.change_permission) and self._in_scope(request, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._perm(request, self.add_permission or self.change_permission)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._perm(request, self.delete_permission) and self._in_scope(request, obj)

    def _get_obj_does_not_exist_redirect(self, request: HttpRequest, opts: Any, object_id: str) -> Any:
        # Django redirects to the index for a missing object; out of scope must look like "does not exist": 404.
        raise Http404("Objet introuvable / not found")

    def _404_unless_in_scope(self, request: HttpRequest, object_id: str) -> None:
        # Django checks permissions before existence (403 on delete for a DPO): existence in scope comes first,
        # so another laboratory's object is indistinguishable from a missing one.
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404("Objet introuvable / not found")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._404_unless_in_scope(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._404_unless_in_scope(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._404_unless_in_scope(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # django-simple-history's version page: scoped like the rest, and read-only — its "revert" POST
        # checks no change permission and would write around the services (and the filings' append-only rule).
        self._404_unless_in_scope(request, object_id)
        if request.method == "POST":
            raise PermissionDenied("Restaurer une version est désactivé / reverting a version is disabled.")
        return super().history_form_view(request, object_id, version_id, extra_context)

    def _laboratory_of(self, obj: Any) -> Any:
        """The object's laboratory along lab_path (for the trail), when the path is single-valued."""
        if obj is None or self.lab_path is None:
            return None
        if self.lab_path == "pk":
            return obj
        if _crosses_many(type(obj), self.lab_path):
            return None
        for part in self.lab_path.split("__"):
            obj = getattr(obj, part, None)
            if obj is None:
                return None
        return obj

    def _audit(self, request: HttpRequest, action: str, obj: Any, **extra: Any) -> None:
        audit_record(
            actor=request.user, action=action, obj=obj, laboratory=self._laboratory_of(obj), request=request, **extra
        )

    # The trail: reads of person-level rows, exports, and every write made through the admin.
    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and not add and request.method == "GET" and self.patient_data:
            self._audit(request, AuditEvent.Action.VIEW, obj, via="admin")
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def changelist_view(self, request, extra_context=None):
        if self.patient_data and request.method == "GET":
            audit_record(
                actor=request.user,
                action=AuditEvent.Action.LIST,
                request=request,
                object_type=self.model._meta.label_lower,
                query=request.GET.urlencode()[:500],
                via="admin",
            )
        return super().changelist_view(request, extra_context)

    def get_export_queryset(self, request):
        qs = super().get_export_queryset(request)
        audit_record(
            actor=request.user,
            action=AuditEvent.Action.EXPORT,
            request=request,
            object_type=self.model._meta.label_lower,
            rows=qs.count(),
            via="admin",
        )
        return qs

    def log_addition(self, request, obj, message):
        self._audit(request, AuditEvent.Action.ADD, obj, via="admin")
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._audit(request, AuditEvent.Action.CHANGE, obj, via="admin", change=message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit(request, AuditEvent.Action.DELETE, obj, via="admin")
        return super().log_deletions(request, queryset)


class LabScopedInlineMixin:
    """Inlines follow the same rules names (the parent object is already scoped by its admin)."""

    view_permission: str | None = "labs.view_lab_data"
    change_permission: str = "labs.edit_lab_data"
    add_permission: str | None = None
    delete_permission: str = "labs.delete_lab_data"

    def _perm(self, request: HttpRequest, name: str | None) -> bool:
        return _cached_perm(request, name)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._perm(request, self.view_permission) or self.has_change_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._perm(request, self.change_permission)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._perm(request, self.add_permission or self.change_permission)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._perm(request, self.delete_permission)
