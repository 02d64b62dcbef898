"""The DPO dashboard reads as a to-do list: most urgent case file first, every row a link, what is missing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from labs.models import BreachLaboratory, BreachMeasure, CnilFiling
from labs.selectors import case_file_missing
from notifier.models import Campaign
from tests.access_fixtures import login_verified
from tests.factories import BreachFactory


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _case_file(lab, slug, *, breach_hours_ago, lab_hours_ago, filed_after=None):
    """A breach known `breach_hours_ago`, of which the laboratory learnt `lab_hours_ago` (its own clock)."""
    now = timezone.now()
    breach = BreachFactory(slug=slug, title=f"Violation {slug}", aware_at=now - dt.timedelta(hours=breach_hours_ago))
    cf = BreachLaboratory.objects.create(
        breach=breach, laboratory=lab, aware_at=now - dt.timedelta(hours=lab_hours_ago)
    )
    if filed_after is not None:
        submitted = cf.aware_at + dt.timedelta(hours=filed_after)
        CnilFiling.objects.create(
            case_file=cf, sequence=1, kind="initial", submitted_at=submitted, late=False, snapshot={},
        )  # fmt: skip
        BreachLaboratory.objects.filter(pk=cf.pk).update(first_filed_at=submitted, filed_late=False)
    return cf


@pytest.fixture
def urgent_world(lab_a, lab_b):
    """Four case files of lab A, created (and aware, breach-wise) in the order the old page showed them."""
    return {
        # the oldest breach, filed on time long ago: nothing to do
        "filed": _case_file(lab_a, "a-deposee", breach_hours_ago=400, lab_hours_ago=400, filed_after=30),
        # an old breach the laboratory learnt of late (processor notice): due in 21 h
        "soon": _case_file(lab_a, "b-bientot", breach_hours_ago=300, lab_hours_ago=51),
        # not filed, deadline passed 28 h ago
        "overdue": _case_file(lab_a, "c-depassee", breach_hours_ago=100, lab_hours_ago=100),
        # due in 62 h
        "later": _case_file(lab_a, "d-plus-tard", breach_hours_ago=10, lab_hours_ago=10),
        # another laboratory's overdue file, never shown to lab A's DPO
        "other": _case_file(lab_b, "e-autre", breach_hours_ago=200, lab_hours_ago=200),
    }


def test_case_files_are_listed_overdue_first_then_soonest_due_then_those_already_filed(client, urgent_world, dpo_lab_a):
    # given lab A's four case files (the one due in 21 h was at the bottom of the old page)
    login_verified(client, dpo_lab_a)
    # when the DPO opens the dashboard
    response = client.get(reverse("dashboards:dpo"))
    # then the overdue one comes first, then the one due in 21 h, then the one due in 62 h, then the filed one
    assert response.status_code == 200
    order = [s["case_file"].pk for s in response.context["sections"]]
    expected = [urgent_world[k].pk for k in ("overdue", "soon", "later", "filed")]
    assert order == expected
    # and the to-do table at the top follows the same order
    assert [r["case_file"].pk for r in response.context["urgency_rows"]] == expected


def test_a_case_file_due_within_24_hours_is_flagged_due_soon_not_shown_in_the_calm_colour(
    client, urgent_world, dpo_lab_a
):
    # given / when
    login_verified(client, dpo_lab_a)
    response = client.get(reverse("dashboards:dpo"))
    rows = {r["case_file"].pk: r for r in response.context["urgency_rows"]}
    # then the file due in 21 h is "due soon" (the T−24 h reminder's threshold), the one due in 62 h is not
    soon, later = rows[urgent_world["soon"].pk], rows[urgent_world["later"].pk]
    assert soon["urgency"] == "soon" and "reste 20 h" in soon["time_left"]
    assert later["urgency"] == "pending"
    assert rows[urgent_world["overdue"].pk]["urgency"] == "missing"
    body = response.content.decode()
    assert "state-soon" in body and "échéance dans moins de 24 h" in body


def test_every_row_links_to_its_case_file_and_its_campaign_in_the_admin(client, urgent_world, dpo_lab_a):
    # given a campaign on the overdue case file
    author = get_user_model().objects.create_user("auteur", password="x" * 16, is_staff=True)
    overdue = urgent_world["overdue"]
    campaign = Campaign.objects.create(
        breach=overdue.breach, laboratory=overdue.laboratory, name="Information C", created_by=author
    )
    login_verified(client, dpo_lab_a)
    # when
    response = client.get(reverse("dashboards:dpo"))
    body = response.content.decode()
    # then each of the DPO's case files links to its admin page, the campaign to its own page
    for key in ("overdue", "soon", "later", "filed"):
        url = reverse("admin:labs_breachlaboratory_change", args=[urgent_world[key].pk])
        assert body.count(f'href="{url}"') >= 2  # the to-do row and the section's title
    campaign_url = reverse("admin:notifier_campaign_change", args=[campaign.pk])
    assert body.count(f'href="{campaign_url}"') >= 2
    # and never another laboratory's
    assert reverse("admin:labs_breachlaboratory_change", args=[urgent_world["other"].pk]) not in body
    # and the links lead somewhere the DPO may go
    assert client.get(reverse("admin:labs_breachlaboratory_change", args=[overdue.pk])).status_code == 200
    assert client.get(campaign_url).status_code == 200


def test_each_case_file_lists_the_art_33_items_still_to_complete(client, urgent_world, dpo_lab_a):
    # given a case file with a description and a measure, and one with nothing filled
    overdue = urgent_world["overdue"]
    overdue.description = "Fichier publié sur un forum."
    overdue.save()
    BreachMeasure.objects.create(case_file=overdue, text="Mots de passe du portail réinitialisés.")
    login_verified(client, dpo_lab_a)
    # when
    response = client.get(reverse("dashboards:dpo"))
    rows = {r["case_file"].pk: r for r in response.context["urgency_rows"]}
    # then each row carries exactly the labs selector's list, shown as « à compléter »
    for key in ("overdue", "later"):
        cf = BreachLaboratory.objects.get(pk=urgent_world[key].pk)
        assert rows[cf.pk]["to_complete"] == case_file_missing(cf)
    assert "description détaillée" not in rows[overdue.pk]["to_complete"]
    assert "mesures prises ou proposées" not in rows[overdue.pk]["to_complete"]
    assert "description détaillée" in rows[urgent_world["later"].pk]["to_complete"]
    body = response.content.decode()
    assert "À compléter" in body and "SIREN de l&#x27;organisme" in body


def test_the_dpo_dashboard_takes_as_many_queries_for_two_case_files_as_for_four(client, lab_a, dpo_lab_a):
    # given two case files
    _case_file(lab_a, "q1", breach_hours_ago=10, lab_hours_ago=10)
    _case_file(lab_a, "q2", breach_hours_ago=20, lab_hours_ago=20)
    login_verified(client, dpo_lab_a)
    client.get(reverse("dashboards:dpo"))  # warm the session and the permission caches
    with CaptureQueriesContext(connection) as two:
        client.get(reverse("dashboards:dpo"))
    # when two more are opened
    _case_file(lab_a, "q3", breach_hours_ago=30, lab_hours_ago=30)
    _case_file(lab_a, "q4", breach_hours_ago=90, lab_hours_ago=90)
    with CaptureQueriesContext(connection) as four:
        response = client.get(reverse("dashboards:dpo"))
    # then the missing-items check is not one query per case file
    assert len(response.context["sections"]) == 4
    assert len(four.captured_queries) == len(two.captured_queries)
