"""The status page's failure-budget alert reaches staff: by mail (ALERT_EMAILS) and on both dashboards."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import caches
from django.urls import reverse

from labs.alerts import security_alert_raise, security_alerts_recent
from tests.access_fixtures import login_verified

pytestmark = pytest.mark.django_db

BANNER = "Alerte de sécurité"
START = dt.datetime(2026, 11, 22, 10, 5, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _fresh_counters(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    caches["ratelimit"].clear()
    yield
    caches["ratelimit"].clear()


def _exhaust_the_failure_budget(client, settings):
    settings.STATUS_PAGE_GLOBAL_FAILURES_PER_HOUR = 3
    for i in range(4):
        client.post(
            reverse("status:check_fr"),
            {"code": "ZZZZ-ZZZZ-ZZZZ-ZZZZ", "day": 1, "month": 1, "year": 1970},
            REMOTE_ADDR=f"10.0.1.{i}",
        )


@pytest.mark.parametrize(("persona", "page"), [("dpo_lab_a", "dashboards:dpo"), ("cnil_liaison", "dashboards:cnil")])
def test_a_spent_failure_budget_shows_a_banner_on_the_dashboard_for_an_hour(
    client, settings, time_machine, request, persona, page
):
    # given no alert yet, then no banner
    time_machine.move_to(START)
    user = request.getfixturevalue(persona)
    staff = login_verified(client.__class__(), user)
    assert BANNER not in staff.get(reverse(page)).content.decode()
    # when the status page's hourly failure budget is spent
    _exhaust_the_failure_budget(client, settings)
    # then the dashboard says so, with the time, in French
    body = staff.get(reverse(page)).content.decode()
    assert BANNER in body
    assert "Plus de 3 vérifications échouées en une heure" in body
    assert "11:05" in body  # Paris time of the alert
    # and an hour and a bit later it is gone
    time_machine.move_to(START + dt.timedelta(minutes=61))
    assert BANNER not in staff.get(reverse(page)).content.decode()


def test_an_alert_is_mailed_to_the_alert_addresses_once_and_kept_for_the_dashboards(settings, mailoutbox, time_machine):
    # given an alert address
    time_machine.move_to(START)
    settings.ADMINS = [("Alertes notifier", "securite@lab.example")]
    # when the same alert is raised twice in the hour
    first = security_alert_raise(kind="status-page-failures", message="Plus de 3 vérifications échouées.")
    second = security_alert_raise(kind="status-page-failures", message="Plus de 3 vérifications échouées.")
    # then one mail, and the dashboards find it
    assert (first, second) == (True, False)
    assert [m.to for m in mailoutbox] == [["securite@lab.example"]]
    assert "Plus de 3 vérifications échouées." in mailoutbox[0].body
    (alert,) = security_alerts_recent()
    assert alert.message == "Plus de 3 vérifications échouées." and alert.at == START
