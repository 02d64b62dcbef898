from django.apps import AppConfig
from django.core import checks


class LabsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "labs"
    verbose_name = "Laboratoires et violations"

    def ready(self) -> None:
        # Imported here, the Django idiom: access and checks import models (and the admin), loaded only by now.
        from . import access  # noqa: F401 (registers the rules permissions)
        from .checks import check_admin_protection, check_regimes, check_retention_and_deadline

        checks.register(check_admin_protection, checks.Tags.security)
        checks.register(check_retention_and_deadline)
        checks.register(check_regimes)
