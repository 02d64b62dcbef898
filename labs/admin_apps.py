"""django.contrib.admin with the OTP-protected site as `admin.site` (listed in INSTALLED_APPS instead of it).

A module of its own: an apps module may declare only one default AppConfig."""

from django.contrib.admin.apps import AdminConfig


class NotifierAdminConfig(AdminConfig):
    default_site = "labs.admin_site.NotifierAdminSite"
