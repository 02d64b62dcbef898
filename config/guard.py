"""Start-up guards: settings refused before the app serves a single request.

Called from config/settings.py and tested directly (tests/test_guard.py), and through `manage.py check`
in a subprocess. Each refusal is one French line naming the variable to set.
"""

from __future__ import annotations

import ipaddress
import itertools
import math

from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email


def trusted_proxies(entries: list[str]) -> list[str]:
    """TRUSTED_PROXIES normalised to networks ("10.0.0.5" → "10.0.0.5/32"); a bad entry refuses to start."""
    networks = []
    for entry in entries:
        try:
            networks.append(str(ipaddress.ip_network(entry.strip(), strict=False)))
        except ValueError:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES : « {entry} » n'est ni une adresse IP ni un réseau (ex. 10.0.0.5 ou 172.16.0.0/12)."
            ) from None
    return networks


# --- production ---------------------------------------------------------------------------------------------

# Development defaults of the secrets start with this (config/settings.py); production refuses them.
DEV_ONLY_PREFIX = "dev-only-insecure-"
SECRET_MIN_LENGTH = 32
# Length × entropy per character of the value itself: a random 32-character hex key estimates ≈ 115
# bits, `secrets.token_urlsafe(50)` ≈ 350, "abab…" (40) 40, "aaaa…" 0.
SECRET_MIN_ESTIMATED_BITS = 80
# Words of the placeholders people copy from examples (.env.example, Django's startproject, tutorials).
PLACEHOLDER_WORDS = ("change-me", "changeme", "change_me", "example", "exemple", "placeholder", "insecure", "replace")
GENERATE = 'python -c "import secrets; print(secrets.token_urlsafe(50))"'
# Caches that keep their entries per process (or per host, without atomic counters): sessions would not
# follow a user from one web worker to the next, and each worker would count tries on its own (dummy:
# never), so the status page's limits would not hold.
UNSHARED_CACHE_BACKENDS = ("dummy", "locmem", "filebased")
CACHE_VARIABLES = {"default": "CACHE_URL", "ratelimit": "RATELIMIT_CACHE_URL"}


def _estimated_bits(value: str) -> float:
    counts = [value.count(char) for char in set(value)]
    return -sum(n * math.log2(n / len(value)) for n in counts)


def _mostly_runs(value: str) -> bool:
    # "aaaa", "abcd", "4321": half the neighbours or more one code point apart at most.
    close = sum(abs(ord(a) - ord(b)) <= 1 for a, b in itertools.pairwise(value))
    return close * 2 >= len(value) - 1


def secret_weakness(value: str) -> str | None:
    """Why `value` is no production secret, in French; None when it looks like a generated one."""
    if not value:
        return "vide"
    if value.startswith(DEV_ONLY_PREFIX):
        return "garde sa valeur de développement"
    lowered = value.lower()
    if any(word in lowered for word in PLACEHOLDER_WORDS):
        return "est une valeur d'exemple"
    if len(value) < SECRET_MIN_LENGTH:
        unit = "caractère" if len(value) == 1 else "caractères"
        return f"trop court ({len(value)} {unit} ; {SECRET_MIN_LENGTH} au moins)"
    if _estimated_bits(value) < SECRET_MIN_ESTIMATED_BITS or _mostly_runs(value):
        return "trop prévisible (répétitions ou suites)"
    return None


def production_refusals(
    *, secrets: dict[str, str], debug: bool, caches: dict[str, dict], admins: list[tuple[str, str]]
) -> list[str]:
    """One French phrase per setting production refuses, naming the variable to set; [] when all is well."""
    refusals = []
    seen: dict[str, str] = {}
    for name, value in secrets.items():
        weakness = secret_weakness(value)
        if weakness:
            refusals.append(f"{name} {weakness}")
        elif value in seen:
            refusals.append(f"{name} identique à {seen[value]} (un secret différent pour chaque usage)")
        seen.setdefault(value, name)
    if debug:
        refusals.append("DEBUG=True (mettre DEBUG=False)")
    for alias, variable in CACHE_VARIABLES.items():
        backend = caches.get(alias, {}).get("BACKEND", "").lower()
        kind = next((kind for kind in UNSHARED_CACHE_BACKENDS if kind in backend), None)
        if kind:
            refusals.append(
                f"{variable} : cache non partagé entre processus ({kind}) ; "
                "sessions et limites de tentatives exigent Redis (ex. redis://redis:6379/1)"
            )
    if not admins:
        refusals.append("ALERT_EMAILS vide : les alertes de sécurité n'iraient à personne")
    return refusals


def production_guard(
    *, secrets: dict[str, str], debug: bool, caches: dict[str, dict], admins: list[tuple[str, str]]
) -> None:
    """Refuse to start, in one French line, when production would run with a setting that defeats its safety."""
    refusals = production_refusals(secrets=secrets, debug=debug, caches=caches, admins=admins)
    if refusals:
        about_secrets = any(refusal.split(" ", 1)[0] in secrets for refusal in refusals)
        hint = f" Générer chaque secret avec : {GENERATE}" if about_secrets else ""
        raise ImproperlyConfigured(f"NOTIFIER_ENV=production refuse de démarrer : {' ; '.join(refusals)}.{hint}")


def alert_recipients(addresses: list[str]) -> list[tuple[str, str]]:
    """ALERT_EMAILS as Django's ADMINS; an address that is not one refuses to start."""
    recipients = []
    for address in filter(None, (a.strip() for a in addresses)):
        try:
            validate_email(address)
        except ValidationError:
            raise ImproperlyConfigured(f"ALERT_EMAILS : « {address} » n'est pas une adresse électronique.") from None
        recipients.append(("Alertes notifier", address))
    return recipients
