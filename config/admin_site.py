"""The admin site: django-otp's OTPAdminSite (a verified TOTP device is required), named "admin" so every
`admin:` URL name keeps working."""

from __future__ import annotations

from django_otp import devices_for_user
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite


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
    site_header = "Notifier — violations de données / data breaches"
    site_title = "Notifier"
    index_title = "Administration"
    login_form = SingleDeviceOTPAdminAuthenticationForm

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
