"""One client address for the audit trail, the status-page limits and the admin lockout (labs/client_ip.py)."""

from __future__ import annotations

import pytest

from labs.audit import audit_record
from labs.client_ip import client_ip

PROXY = "10.0.0.5"


def _request(rf, remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return rf.get("/verifier/", **extra)


def test_without_trusted_proxies_a_forwarded_header_is_ignored_even_in_the_production_shape(rf, settings):
    # given the production shape (SSL header from a proxy) but no proxy configured: gunicorn faces clients
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXIES = []
    # when a client sends a header of its own making, then its real address counts
    assert client_ip(_request(rf, "203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_a_forwarded_header_from_an_untrusted_address_is_ignored(rf, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    assert client_ip(_request(rf, "203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_address_it_appended_counts_not_the_one_the_client_wrote(rf, settings):
    # given a proxy that appends the address it saw to whatever the client sent
    settings.TRUSTED_PROXIES = [PROXY]
    # when the client forged a left-most entry, then the right-most (written by the proxy) is taken
    assert client_ip(_request(rf, PROXY, "1.2.3.4, 203.0.113.9")) == "203.0.113.9"
    assert client_ip(_request(rf, PROXY, "203.0.113.9")) == "203.0.113.9"


def test_a_chain_of_trusted_proxies_given_as_networks_is_skipped(rf, settings):
    # given a CDN hop and the local proxy, both trusted (a network and an address)
    settings.TRUSTED_PROXIES = ["172.16.0.0/12", PROXY]
    # then the first address from the right outside the trusted set is the client
    assert client_ip(_request(rf, PROXY, "1.2.3.4, 203.0.113.9, 172.18.0.3")) == "203.0.113.9"


def test_garbage_in_the_forwarded_header_falls_back_to_the_nearest_trusted_hop(rf, settings):
    settings.TRUSTED_PROXIES = [PROXY]
    assert client_ip(_request(rf, PROXY, "not-an-ip")) == PROXY
    assert client_ip(_request(rf, PROXY, "")) == PROXY
    assert client_ip(_request(rf, PROXY)) == PROXY


def test_ipv6_addresses_are_normalised(rf, settings):
    settings.TRUSTED_PROXIES = ["::1"]
    assert client_ip(_request(rf, "::1", "2001:DB8:0:0::7")) == "2001:db8::7"
    assert client_ip(_request(rf, "2001:db8::1")) == "2001:db8::1"


def test_no_usable_remote_address_gives_none(rf, settings):
    settings.TRUSTED_PROXIES = []
    assert client_ip(_request(rf, "")) is None
    assert client_ip(None) is None


@pytest.mark.django_db
def test_the_audit_trail_records_the_real_address_not_a_forged_one(rf, settings, dpo_lab_a, lab_a):
    # given the production shape without a trusted proxy and a forged header
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.TRUSTED_PROXIES = []
    request = _request(rf, "203.0.113.9", "198.51.100.1")
    # when a read is recorded, then the trail holds the connecting address
    event = audit_record(actor=dpo_lab_a, action="view", obj=lab_a, request=request)
    assert event.ip_address == "203.0.113.9"


@pytest.mark.django_db
def test_the_audit_trail_records_the_client_behind_a_trusted_proxy(rf, settings, dpo_lab_a, lab_a):
    settings.TRUSTED_PROXIES = [PROXY]
    event = audit_record(actor=dpo_lab_a, action="view", obj=lab_a, request=_request(rf, PROXY, "6.6.6.6, 203.0.113.9"))
    assert event.ip_address == "203.0.113.9"


def test_the_admin_lockout_uses_the_same_address():
    # django-axes counts failed log-ins per username + address: the same function, not its own guess
    from django.conf import settings

    assert settings.AXES_CLIENT_IP_CALLABLE == "labs.client_ip.client_ip"
