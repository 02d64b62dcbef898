"""The client's address, for the audit trail, the status page's limits and the admin lockout (django-axes).

X-Forwarded-For is written by whoever sends the request: a client talking to gunicorn directly can put any
address in it. So it is read only when the connection comes from a proxy listed in
settings.TRUSTED_PROXIES (addresses or networks; none by default), and then from the right: each trusted
proxy appends the address it saw, so the right-most entry outside the trusted set is the last one a
trusted hop vouches for. The left-most entry is whatever the client wrote.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    # Validated at start-up (config/guard.py); cached by value so a settings override in a test is seen.
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _parse(value: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(address in network for network in networks)


def client_ip(request: HttpRequest | None) -> str | None:
    """The address of the client, normalised; None without a usable REMOTE_ADDR."""
    if request is None:
        return None
    nearest = _parse(request.META.get("REMOTE_ADDR", ""))
    if nearest is None:
        return None
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    if not _trusted(nearest, networks):
        return str(nearest)
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            # Nothing a trusted hop wrote is unreadable: from here on the client wrote it.
            break
        nearest = address
        if not _trusted(address, networks):
            break
    return str(nearest)
