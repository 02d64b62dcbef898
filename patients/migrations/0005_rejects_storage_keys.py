"""Rejects files written under NOTIFIER_VAR_DIR are named by their key in the private storage ("rejects/…");
a file an operator put elsewhere with --rejects keeps its absolute path (import_rejects_purge reads both)."""

from pathlib import Path

from django.conf import settings
from django.db import migrations


def paths_to_keys(apps, schema_editor):
    ImportBatch = apps.get_model("patients", "ImportBatch")
    root = Path(settings.VAR_DIR).resolve()
    for batch in ImportBatch.objects.exclude(rejects_file="").only("pk", "rejects_file"):
        stored = Path(batch.rejects_file)
        if stored.is_absolute() and stored.resolve().is_relative_to(root / "rejects"):
            key = stored.resolve().relative_to(root).as_posix()
            ImportBatch.objects.filter(pk=batch.pk).update(rejects_file=key)


class Migration(migrations.Migration):
    dependencies = [("patients", "0004_patient_deceased_reported_at")]
    operations = [migrations.RunPython(paths_to_keys, migrations.RunPython.noop)]
