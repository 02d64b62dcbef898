"""Start-up guards (config/guard.py): what production refuses, tested directly and through `manage.py check`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import guard


def test_trusted_proxies_are_normalised_to_networks():
    assert guard.trusted_proxies(["10.0.0.5", " 172.16.0.0/12", "::1"]) == ["10.0.0.5/32", "172.16.0.0/12", "::1/128"]
    assert guard.trusted_proxies([]) == []


def test_a_trusted_proxy_that_is_not_an_address_refuses_to_start_in_french():
    with pytest.raises(
        ImproperlyConfigured, match="TRUSTED_PROXIES : « proxy.local » n'est ni une adresse IP ni un réseau"
    ):
        guard.trusted_proxies(["proxy.local"])


# --- production: secrets, caches, alerts ------------------------------------------------------------------

STRONG = {
    "SECRET_KEY": "Zq3vN8kP1xR7tW2yB5mC9dF4gH6jL0sA-uE_iO",
    "PERSON_KEY_SECRET": "pX9rT2wQ7zK4nM1vB8cF5hJ3gL6dS0aY-eU_oI",
    "STATUS_CODE_SECRET": "mK4tR8wP2zQ6nV1xC9bF5hJ7gL3dS0aY_eU-oI",
    "ANYMAIL_WEBHOOK_SECRET": "esp:W7qN2kP9xR4tZ1yB6mC8dF3gH5jL0sAuE",
}
SHARED = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://redis:6379/1"}
GOOD = {
    "secrets": STRONG,
    "debug": False,
    "caches": {"default": SHARED, "ratelimit": SHARED},
    "admins": [("Alertes", "securite@lab.example")],
}


def _refusals(**changes):
    return guard.production_refusals(**{**GOOD, **changes})


def _with_secret(name, value):
    return _refusals(secrets={**STRONG, name: value})


def test_a_production_setup_with_strong_secrets_a_shared_cache_and_an_alert_address_is_accepted():
    assert _refusals() == []
    guard.production_guard(**GOOD)  # does not raise


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (guard.DEV_ONLY_PREFIX + "secret-key", "valeur de développement"),
        ("", "vide"),
        ("x", "trop court (1 caractère ; 32 au moins)"),
        ("Zq3vN8kP1xR7tW2yB5mC9dF4gH6", "trop court (27 caractères ; 32 au moins)"),
        ("change-me-change-me-change-me-change-me", "valeur d'exemple"),
        ("django-insecure-Zq3vN8kP1xR7tW2yB5mC9dF4gH6jL0sA", "valeur d'exemple"),
        ("a" * 64, "trop prévisible"),
        ("abababababababababababababababababababab", "trop prévisible"),
        ("abcdefghijklmnopqrstuvwxyz0123456789ABCDEF", "trop prévisible"),
    ],
)
def test_a_weak_or_example_secret_is_refused_with_its_reason(value, reason):
    (line,) = _with_secret("STATUS_CODE_SECRET", value)
    assert line.startswith("STATUS_CODE_SECRET")
    assert reason in line


def test_every_production_secret_is_checked():
    for name in STRONG:
        assert _with_secret(name, "x") == [f"{name} trop court (1 caractère ; 32 au moins)"]


def test_generated_secrets_of_every_usual_shape_are_accepted():
    import secrets

    from django.core.management.utils import get_random_secret_key

    for _ in range(200):
        for value in (secrets.token_urlsafe(50), secrets.token_hex(16), secrets.token_hex(32), get_random_secret_key()):
            assert _with_secret("SECRET_KEY", value) == [], value


def test_one_secret_used_for_two_purposes_is_refused():
    refusals = _with_secret("PERSON_KEY_SECRET", STRONG["SECRET_KEY"])
    assert refusals == ["PERSON_KEY_SECRET identique à SECRET_KEY (un secret différent pour chaque usage)"]


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.dummy.DummyCache",
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.filebased.FileBasedCache",
    ],
)
@pytest.mark.parametrize(("alias", "variable"), [("default", "CACHE_URL"), ("ratelimit", "RATELIMIT_CACHE_URL")])
def test_a_cache_that_web_workers_do_not_share_is_refused(backend, alias, variable):
    caches = {"default": SHARED, "ratelimit": SHARED, alias: {"BACKEND": backend}}
    (line,) = _refusals(caches=caches)
    assert line.startswith(f"{variable} : cache non partagé entre processus")
    assert "redis://" in line


def test_debug_is_refused():
    assert _refusals(debug=True) == ["DEBUG=True (mettre DEBUG=False)"]


def test_production_without_an_alert_address_is_refused():
    assert _refusals(admins=[]) == ["ALERT_EMAILS vide : les alertes de sécurité n'iraient à personne"]


def test_the_guard_says_everything_to_set_in_one_french_line():
    with pytest.raises(ImproperlyConfigured) as refused:
        guard.production_guard(**{**GOOD, "secrets": {**STRONG, "SECRET_KEY": "x"}, "debug": True})
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("NOTIFIER_ENV=production refuse de démarrer : SECRET_KEY trop court")
    assert "DEBUG=True" in message
    assert "secrets.token_urlsafe(50)" in message


def test_the_secret_generation_hint_comes_only_with_a_refused_secret():
    with pytest.raises(ImproperlyConfigured) as refused:
        guard.production_guard(**{**GOOD, "debug": True})
    assert str(refused.value) == "NOTIFIER_ENV=production refuse de démarrer : DEBUG=True (mettre DEBUG=False)."


# --- through the real settings: `manage.py check` with NOTIFIER_ENV=production ----------------------------

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_ENV = {
    "NOTIFIER_ENV": "production",
    **STRONG,
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "ALERT_EMAILS": "securite@lab.example",
    "ALLOWED_HOSTS": "notifier.example.fr",
}


def _manage_check(tmp_path, **changes):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "NOTIFIER_VAR_DIR": str(tmp_path / "var")}
    env.update({k: v for k, v in {**PRODUCTION_ENV, **changes}.items() if v is not None})
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def test_manage_check_passes_in_production_with_strong_secrets_and_redis(tmp_path):
    result = _manage_check(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"SECRET_KEY": "x"}, "SECRET_KEY trop court (1 caractère ; 32 au moins)"),
        ({"STATUS_CODE_SECRET": "change-me"}, "STATUS_CODE_SECRET est une valeur d'exemple"),
        ({"PERSON_KEY_SECRET": None}, "PERSON_KEY_SECRET garde sa valeur de développement"),
        ({"ANYMAIL_WEBHOOK_SECRET": STRONG["SECRET_KEY"]}, "ANYMAIL_WEBHOOK_SECRET identique à SECRET_KEY"),
        ({"CACHE_URL": "dummycache://"}, "CACHE_URL : cache non partagé entre processus (dummy)"),
        ({"CACHE_URL": None}, "CACHE_URL : cache non partagé entre processus (locmem)"),
        ({"RATELIMIT_CACHE_URL": "locmemcache://rl"}, "RATELIMIT_CACHE_URL : cache non partagé entre processus"),
        ({"CACHE_URL": "filecache:///tmp/cache"}, "CACHE_URL : cache non partagé entre processus (filebased)"),
        ({"ALERT_EMAILS": None}, "ALERT_EMAILS vide"),
        ({"DEBUG": "True"}, "DEBUG=True (mettre DEBUG=False)"),
    ],
)
def test_manage_check_refuses_production_with_one_french_line(tmp_path, changes, expected):
    # given a production environment with one weakness
    result = _manage_check(tmp_path, **changes)
    # then start-up fails, and the last line of the error says what to set
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: NOTIFIER_ENV=production refuse de démarrer")
    assert expected in last


def test_an_alert_address_that_is_not_one_refuses_to_start_in_any_environment(tmp_path):
    result = _manage_check(tmp_path, NOTIFIER_ENV="development", ALERT_EMAILS="securite.lab.example")
    assert result.returncode != 0
    assert "ALERT_EMAILS : « securite.lab.example » n'est pas une adresse électronique." in result.stderr


def test_alert_emails_become_the_admins_who_receive_mail_admins(tmp_path):
    assert guard.alert_recipients(["a@lab.example", " b@lab.example", ""]) == [
        ("Alertes notifier", "a@lab.example"),
        ("Alertes notifier", "b@lab.example"),
    ]
