"""The admin site: django-otp's OTPAdminSite (a verified TOTP device is required), named "admin" so every
`admin:` URL name keeps working.

« Voir le site » leads to the dashboard the person may read (none: no link), and the language switch
(French by default, English on request) is the site's own `admin:set_language` URL."""

from __future__ import annotations

from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.i18n import set_language
from django_otp import devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite

from labs import access

# The staff pages outside the admin that « Voir le site » may lead to, the first one the person may read.
SITE_PAGES = ("dashboards:dpo", "dashboards:cnil")


class SingleDeviceOTPAdminAuthenticationForm(OTPAdminAuthenticationForm):
    """One step for the usual case: a user with a single confirmed device types user, password and code.

    django-otp ≥ 1.6 asks for an explicit device (its select is filled only after a first submit); with
    exactly one confirmed device there is nothing to choose, so that device is the one verified. Users with
    several devices still choose (and a device of another user is never accepted: the parent checks)."""

    def _chosen_device(self, user):
        device = super()._chosen_device(user)
        if device is None and not self.cleaned_data.get("otp_device"):
            confirmed = list(devices_for_user(user, confirmed=True, for_verify=True))
            if len(confirmed) == 1:
                device = confirmed[0]
        return device


class NotifierAdminSite(OTPAdminSite):
    site_header = _("Notifier — violations de données")
    site_title = "Notifier"
    index_title = _("Administration")
    login_form = SingleDeviceOTPAdminAuthenticationForm

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)

    def each_context(self, request):
        context = super().each_context(request)
        context["site_url"] = next(
            (reverse(name) for name in SITE_PAGES if access.may(request.user, access.view_permission(name))), None
        )
        return context

    def get_urls(self):
        # Django's set_language: it checks the language offered and the `next` address (same site only).
        return [path("langue/", set_language, name="set_language"), *super().get_urls()]
