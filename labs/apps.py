from django.apps import AppConfig


class LabsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "labs"
    verbose_name = "Laboratoires et violations"

    def ready(self) -> None:
        from . import access  # noqa: F401 (registers the rules permissions)
