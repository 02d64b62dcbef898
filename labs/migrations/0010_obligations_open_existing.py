"""Triage for case files opened before obligations existed: one obligation per enabled regime, "to assess"."""

from django.conf import settings
from django.db import migrations


def open_obligations(apps, schema_editor):
    case_file_model = apps.get_model("labs", "BreachLaboratory")
    obligation_model = apps.get_model("labs", "Obligation")
    keys = [key for key, config in settings.NOTIFIER_REGIMES.items() if config.get("enabled")]
    obligation_model.objects.bulk_create(
        [
            obligation_model(case_file_id=case_file_id, regime=key)
            for case_file_id in case_file_model.objects.values_list("pk", flat=True)
            for key in keys
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("labs", "0009_obligations")]

    operations = [migrations.RunPython(open_obligations, migrations.RunPython.noop)]
