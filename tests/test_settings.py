import os
import subprocess
import sys

from django.conf import settings


def test_embedded_shape_runs_celery_eagerly_when_no_broker_is_configured():
    # given no CELERY_BROKER_URL (the unit-test run), when settings load, then tasks run in-process
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
    assert "SECRET_KEY garde sa valeur de développement" in result.stderr


def test_every_beat_entry_names_a_registered_celery_task():
    # given the one beat schedule, when every app's tasks are imported
    from config.celery import app

    app.loader.import_default_modules()
    # then each entry runs a task that exists (a typo would only show up as a beat error in production)
    assert set(settings.CELERY_BEAT_SCHEDULE) == {
        "campaigns-tick",
        "labs-deadline-reminders",
        "labs-audit-purge",
        "patients-import-rejects-purge",
        "cnil-counts-refresh",
        "evidence-interrupted",
    }
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]


def test_notifier_var_dir_from_the_dot_env_file_is_honoured():
    # given a .env that sets NOTIFIER_VAR_DIR (simulated: no real .env is ever written in the tree)
    code = """
import os, pathlib, environ
def read_env(path, **kwargs):
    os.environ["NOTIFIER_VAR_DIR"] = "/srv/from-dot-env"
environ.Env.read_env = staticmethod(read_env)
exists = pathlib.Path.exists
pathlib.Path.exists = lambda self, **kwargs: self.name == ".env" or exists(self, **kwargs)
import config.settings as s
print(s.VAR_DIR, s.IMPORT_REJECTS_DIR)
"""
    # when settings load
    env = {k: v for k, v in os.environ.items() if k != "NOTIFIER_VAR_DIR"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    # then every path under var/ follows it
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["/srv/from-dot-env", "/srv/from-dot-env/rejects"]
