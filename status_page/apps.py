from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StatusPageConfig(AppConfig):
    """The public page where a patient, with the code on their letter and their birth date, reads their notice."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "status_page"
    verbose_name = _("Page de statut des patients")

    def ready(self) -> None:
        # Registration, Django's way: the DPO-notification task joins the Celery registry it is enqueued from.
        from . import tasks  # noqa: F401
