"""Start-up check: WeasyPrint must be able to subset fonts with HarfBuzz.

WeasyPrint 70 dlopens `libharfbuzz-subset` (weasyprint.text.ffi.harfbuzz_subset, None when missing)
and uses it only with HarfBuzz ≥ 4.1.0 (weasyprint.pdf.fonts.Font.subset); otherwise it falls back
to fontTools, about 4× slower per letter (366 ms instead of 88 ms measured). Production must not run
that way unnoticed.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks


def harfbuzz_subset_available() -> bool:
    # Imported when the check runs, not when letters.apps imports this module at start-up: importing
    # WeasyPrint takes 0.45-0.6 s (`python -X importtime -c "import weasyprint"`), which every process
    # (Celery workers, management commands) would pay for nothing.
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    return harfbuzz_subset is not None and bool(harfbuzz.hb_version_atleast(4, 1, 0))


def check_harfbuzz_subset(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if harfbuzz_subset_available():
        return []
    level = checks.Error if getattr(settings, "PRODUCTION", False) else checks.Warning
    return [
        level(
            "WeasyPrint ne peut pas sous-ensembler les polices avec HarfBuzz : le rendu des lettres sera "
            "environ 4 fois plus lent (repli sur fontTools).",
            hint="Installez le paquet Debian libharfbuzz-subset0 (HarfBuzz ≥ 4.1.0) puis redémarrez.",
            id="letters.E001" if level is checks.Error else "letters.W001",
        )
    ]
