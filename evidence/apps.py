from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "evidence"
    verbose_name = "Dossiers de preuves"

    def ready(self) -> None:
        # The task joins the Celery registry that evidence/services.py looks it up in (by name, as notifier/queue.py).
        from . import tasks  # noqa: F401
