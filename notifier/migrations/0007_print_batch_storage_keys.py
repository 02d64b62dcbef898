"""Print batch files are named by their key in the private storage ("print/campaign-1/batch-0001.pdf"), no
longer by a server path: paths under NOTIFIER_VAR_DIR become the same file's key (the file system storage
keeps its files there); any other path was already refused for download and is left as it was."""

from pathlib import Path

from django.conf import settings
from django.db import migrations


def paths_to_keys(apps, schema_editor):
    PrintBatch = apps.get_model("notifier", "PrintBatch")
    root = Path(settings.VAR_DIR).resolve()
    for batch in PrintBatch.objects.exclude(pdf_path="").only("pk", "pdf_path", "manifest_path"):
        changed = {}
        for field in ("pdf_path", "manifest_path"):
            stored = Path(getattr(batch, field))
            if stored.is_absolute() and stored.resolve().is_relative_to(root):
                changed[field] = stored.resolve().relative_to(root).as_posix()
        if changed:
            PrintBatch.objects.filter(pk=batch.pk).update(**changed)


class Migration(migrations.Migration):
    dependencies = [("notifier", "0006_follow_up_target")]
    operations = [migrations.RunPython(paths_to_keys, migrations.RunPython.noop)]
