"""403, 404, 500 and the admin lock-out: French, in the site's look, with no technical detail; the 500 page
renders without the database or the context processors (they may be what failed)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.views import defaults

from tests.access_fixtures import PASSWORD

STYLESHEET = "/static/public/site.css"
TECHNICAL = ("Traceback", "Page not found", "Server Error", "Django", "DEBUG", "urlpatterns", "Exception")


def _looks_right(page: str) -> None:
    assert '<html lang="fr">' in page
    assert STYLESHEET in page
    assert 'href="/verifier/"' in page  # somewhere to go next
    for word in TECHNICAL:
        assert word not in page, word


@pytest.mark.django_db
def test_an_unknown_address_gets_the_french_404_page(client, settings):
    # given production-like settings
    settings.DEBUG = False
    # when someone opens an address that does not exist
    response = client.get("/nulle-part/<script>")
    # then the page says so in French, styled, without echoing the address
    page = response.content.decode()
    assert response.status_code == 404
    assert "Page introuvable" in page
    assert "nulle-part" not in page
    _looks_right(page)


def test_the_500_page_renders_without_the_database_or_context_processors():
    # given a request and no database access at all (pytest-django refuses any query here)
    request = RequestFactory().get("/verifier/")
    # when Django's own 500 handler renders the page
    response = defaults.server_error(request)
    # then it is the French page, styled
    page = response.content.decode()
    assert response.status_code == 500
    assert "Service momentanément indisponible" in page
    _looks_right(page)


@pytest.mark.django_db
def test_a_refused_staff_page_gets_the_french_403_page(client, login_verified, cnil_liaison):
    # given the CNIL liaison, who may not read patients' rows
    login_verified(client, cnil_liaison)
    # when they open the DPO dashboard
    response = client.get(reverse("dashboards:dpo"))
    # then a French refusal, styled, with the reason in words
    page = response.content.decode()
    assert response.status_code == 403
    assert "Accès refusé" in page and "réservé aux DPO" in page
    _looks_right(page)


@pytest.mark.django_db
def test_the_lockout_page_says_for_how_long_and_whom_to_call(client, dpo_lab_a, settings):
    # given a limit of 3 failures and a cool-off of one hour
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = 1.0
    url = reverse("admin:login")
    # when the password is wrong three times, then a fourth try with the right one
    for _ in range(3):
        client.post(url, {"username": "dpo-a", "password": "faux", "otp_token": "000000"})
    response = client.post(url, {"username": "dpo-a", "password": PASSWORD, "otp_token": "000000"})
    # then the lock-out page says how long and whom to call, in French and styled
    page = response.content.decode()
    assert response.status_code in (403, 429)
    assert "Connexion bloquée" in page
    assert "60 minutes" in page
    assert "équipe d'exploitation" in page and "DPO de votre laboratoire" in page
    _looks_right(page)


@pytest.mark.django_db
def test_a_long_cool_off_is_told_in_hours(client, dpo_lab_a, settings):
    settings.AXES_FAILURE_LIMIT = 1
    settings.AXES_COOLOFF_TIME = dt.timedelta(hours=24)
    url = reverse("admin:login")
    client.post(url, {"username": "dpo-a", "password": "faux", "otp_token": "000000"})
    page = client.post(url, {"username": "dpo-a", "password": "faux", "otp_token": "000000"}).content.decode()
    assert "24 heures" in page
