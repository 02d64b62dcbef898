"""django.contrib.admin with the OTP-protected site as `admin.site` (listed in INSTALLED_APPS instead of it).

A module apart from admin_site.py: INSTALLED_APPS imports it before the apps are ready, when the admin
site's forms (which import the auth models) cannot be imported yet."""

from django.contrib.admin.apps import AdminConfig


class NotifierAdminConfig(AdminConfig):
    default_site = "config.admin_site.NotifierAdminSite"
