"""`.env.example` lists every variable config/settings.py reads, and loads as it is (django-environ)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / ".env.example"

# Loads the example the way settings load .env (django-environ's read_env: never over a variable already
# set), then runs `manage.py check` and prints what the settings made of it.
LOAD_AND_CHECK = """
import json, os, sys
import environ
environ.Env.read_env(sys.argv[1])
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
call_command("check", "--fail-level", "WARNING")
print(json.dumps({"environ": dict(os.environ), "DEBUG": settings.DEBUG, "PRODUCTION": settings.PRODUCTION}))
"""


def settings_variables() -> set[str]:
    """Names passed to `env(...)`, `env.<type>(...)` or `environ.Env().<type>(...)` in config/settings.py."""
    tree = ast.parse((ROOT / "config" / "settings.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func.value if isinstance(node.func, ast.Attribute) else node.func
        reads_env = (isinstance(func, ast.Name) and func.id == "env") or (
            isinstance(func, ast.Call) and ast.unparse(func.func) == "environ.Env"
        )
        first = node.args[0]
        if reads_env and isinstance(first, ast.Constant) and isinstance(first.value, str):
            names.add(first.value)
    return names


def example_lines() -> dict[str, str]:
    pairs = {}
    for line in EXAMPLE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            pairs[name] = value
    return pairs


def run_with_example(tmp_path: Path, **overrides: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **overrides}
    return subprocess.run(
        [sys.executable, "-c", LOAD_AND_CHECK, str(EXAMPLE)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_parser_finds_the_variables_settings_read():
    # a guard on the guard: the test below must not pass because the parser found nothing
    names = settings_variables()
    assert {"SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "NOTIFIER_VAR_DIR", "CACHE_URL"} <= names
    assert len(names) > 40


def test_every_variable_settings_read_is_in_the_env_example():
    # given the variables config/settings.py reads, when compared with the example's lines
    missing = settings_variables() - set(example_lines())
    unknown = set(example_lines()) - settings_variables()
    # then none is missing and none is made up
    assert not missing, f".env.example misses {sorted(missing)}"
    assert not unknown, f".env.example lists variables settings never read: {sorted(unknown)}"


def test_every_line_of_the_env_example_is_a_comment_or_a_clean_assignment():
    # django-environ keeps an inline "# comment" as part of the value
    for name, value in example_lines().items():
        assert name.isidentifier() and name.isupper(), name
        assert "#" not in value, f"{name}: comment text would become part of the value: {value!r}"
        assert value == value.strip(), f"{name}: stray spaces in {value!r}"


def test_the_env_example_loads_and_passes_the_system_checks(tmp_path):
    # given the example loaded as .env would be, with local stand-ins for the servers the test has not
    result = run_with_example(
        tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path / 'check.sqlite3'}",
        CELERY_BROKER_URL="",
        CACHE_URL="locmemcache://default",
        RATELIMIT_CACHE_URL="locmemcache://ratelimit",
        NOTIFIER_VAR_DIR=str(tmp_path / "var"),
    )
    # then the checks pass and every value arrives as written in the file
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.splitlines()[-1])
    for name, value in example_lines().items():
        if name not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "RATELIMIT_CACHE_URL", "NOTIFIER_VAR_DIR"}:
            assert loaded["environ"][name] == value, name
    assert loaded["PRODUCTION"] is False and loaded["DEBUG"] is False


def test_the_env_example_copied_to_production_without_secrets_refuses_to_start(tmp_path):
    # given the example as it is but NOTIFIER_ENV=production (as docker-compose sets it)
    result = run_with_example(tmp_path, NOTIFIER_ENV="production")
    # then the empty secret placeholders are refused, not used as keys
    assert result.returncode != 0
    assert "NOTIFIER_ENV=production refuse de démarrer" in result.stderr
    for name in ("SECRET_KEY", "PERSON_KEY_SECRET", "STATUS_CODE_SECRET", "ANYMAIL_WEBHOOK_SECRET"):
        assert f"{name} garde sa valeur de développement" in result.stderr
