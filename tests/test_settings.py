import subprocess
import sys

from django.conf import settings


def test_embedded_shape_runs_celery_eagerly_when_no_broker_is_configured():
    # given no CELERY_BROKER_URL (the unit-test run), when settings load, then tasks run in-process
    import os

    assert settings.CELERY_TASK_ALWAYS_EAGER is (not os.environ.get("CELERY_BROKER_URL"))
    if settings.CELERY_TASK_ALWAYS_EAGER:
        assert settings.CELERY_BROKER_URL.startswith("memory://")


def test_production_refuses_development_secrets():
    # given NOTIFIER_ENV=production and no secrets, when settings are imported, then start-up fails clearly
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup()",
        ],
        env={"NOTIFIER_ENV": "production", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "needs these secrets set" in result.stderr


def test_every_beat_entry_names_a_registered_celery_task():
    # given the one beat schedule, when every app's tasks are imported
    from config.celery import app

    app.loader.import_default_modules()
    # then each entry runs a task that exists (a typo would only show up as a beat error in production)
    assert set(settings.CELERY_BEAT_SCHEDULE) == {
        "campaigns-tick",
        "labs-deadline-reminders",
        "labs-audit-purge",
        "cnil-counts-refresh",
    }
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]
