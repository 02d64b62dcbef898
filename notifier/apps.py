from django.apps import AppConfig


class NotifierConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifier"
    verbose_name = "Campagnes de notification"

    def ready(self) -> None:
        from . import webhooks  # noqa: F401  (connects the anymail tracking receiver)
