from django.contrib import admin
from import_export.admin import ImportExportModelAdmin

from .models import Breach, Laboratory
from .resources import LaboratoryResource


@admin.register(Laboratory)
class LaboratoryAdmin(ImportExportModelAdmin):
    resource_classes = [LaboratoryResource]
    list_display = ["code", "name", "city", "dpo_name", "dpo_email"]
    search_fields = ["code", "name", "city", "siren"]


@admin.register(Breach)
class BreachAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "processor", "aware_at"]
    prepopulated_fields = {"slug": ["title"]}
    search_fields = ["title", "slug"]
