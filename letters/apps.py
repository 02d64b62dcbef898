from django.apps import AppConfig
from django.core import checks

from .checks import check_harfbuzz_subset


class LettersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "letters"
    verbose_name = "lettres"

    def ready(self) -> None:
        checks.register(check_harfbuzz_subset)
