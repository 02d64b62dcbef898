"""Start-up guards (config/guard.py): what production refuses, tested directly and through `manage.py check`."""

from __future__ import annotations

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
