from django.apps import AppConfig


class NotifierConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifier"
    verbose_name = "Campagnes de notification"

    def ready(self) -> None:
        # Registration, Django's way: the tasks join the Celery registry that notifier/queue.py looks
        # them up in, and the webhooks module connects anymail's tracking receiver.
        from . import tasks, webhooks  # noqa: F401
