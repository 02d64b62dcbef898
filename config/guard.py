"""Start-up guards: settings refused before the app serves a single request.

Called from config/settings.py and tested directly (tests/test_guard.py), and through `manage.py check`
in a subprocess. Each refusal is one French line naming the variable to set.
"""

from __future__ import annotations

import ipaddress

from django.core.exceptions import ImproperlyConfigured


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
