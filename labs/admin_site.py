"""The admin site: django-otp's OTPAdminSite (a verified TOTP device is required), named "admin" so every
`admin:` URL name keeps working."""

from __future__ import annotations

from django_otp.admin import OTPAdminSite


class NotifierAdminSite(OTPAdminSite):
    site_header = "Notifier — violations de données / data breaches"
    site_title = "Notifier"
    index_title = "Administration"

    def __init__(self, name: str = "admin") -> None:
        super().__init__(name)
