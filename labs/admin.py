from __future__ import annotations

from django.contrib import admin
from import_export.admin import ImportExportModelAdmin

from .access import LabScopedAdminMixin
from .models import AuditEvent, Breach, Laboratory, LaboratoryMembership
from .resources import LaboratoryResource


@admin.register(Laboratory)
class LaboratoryAdmin(LabScopedAdminMixin, ImportExportModelAdmin):
    lab_path = "pk"
    change_permission = "labs.edit_breach"  # the laboratory's DPO keeps its contact details right
    add_permission = "labs.delete_lab_data"  # laboratories come from the import or a superuser
    resource_classes = [LaboratoryResource]
    list_display = ["code", "name", "city", "dpo_name", "dpo_email"]
    search_fields = ["code", "name", "city", "siren"]


@admin.register(Breach)
class BreachAdmin(LabScopedAdminMixin, admin.ModelAdmin):
    lab_path = None  # replaced by the per-laboratory rows of the Art. 33 work
    list_display = ["title", "slug", "processor", "aware_at"]
    prepopulated_fields = {"slug": ["title"]}
    search_fields = ["title", "slug"]


@admin.register(LaboratoryMembership)
class LaboratoryMembershipAdmin(LabScopedAdminMixin, admin.ModelAdmin):
    change_permission = "labs.delete_lab_data"  # who works for which laboratory: superusers only
    view_permission = "labs.view_lab_data"
    list_display = ["user", "laboratory", "created_at"]
    list_select_related = ["user", "laboratory"]
    list_filter = ["laboratory"]
    autocomplete_fields = ["laboratory"]
    raw_id_fields = ["user"]


@admin.register(AuditEvent)
class AuditEventAdmin(LabScopedAdminMixin, admin.ModelAdmin):
    """Read-only for everyone, superusers included: the trail is append-only."""

    view_permission = "labs.view_audit"
    change_permission = ""
    delete_permission = ""
    add_permission = ""
    list_display = ["at", "actor_username", "role", "action", "object_type", "object_id", "laboratory", "ip_address"]
    list_filter = ["action", "object_type", "laboratory"]
    search_fields = ["actor_username", "object_id"]
    date_hierarchy = "at"
    list_select_related = ["laboratory"]

    def has_add_permission(self, request, *args):
        return False

    def get_queryset(self, request):
        # The CNIL liaison sees every laboratory's trail but rows without a laboratory only to superusers.
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.exclude(laboratory=None)
