from django.apps import AppConfig


class CallCentreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "call_centre"
    verbose_name = "Centre d'appels"
