"""A campaign's hand-over plan (notifier/plans.py): the hand-over follows it, the page, the command, bad input."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from labs.access import CNIL_LIAISON, DPO
from labs.models import Laboratory
from notifier import campaigns, launch, plans, postal
from notifier.models import Campaign, PrintBatch
from tests.access_fixtures import login_verified, make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_call_per_batch(settings):
    """Batches of 2 letters; half the recipients call, all on the day of delivery, delivered the same day:
    a batch brings exactly 1 call."""
    settings.CAMPAIGN_PRINT_CHUNK = 2
    settings.CAMPAIGN_CALL_RATE = 0.5
    settings.CAMPAIGN_CALL_CURVE = [1.0]
    settings.POSTAL_DELAY_DAYS = 0


@pytest.fixture
def launched(one_call_per_batch, make_patients, make_campaign, approver, django_capture_on_commit_callbacks):
    """6 letters in 3 built batches of 2, the call centre answering 1 call a day (1 agent × 1 call)."""
    make_patients(6)
    campaign = make_campaign("post")
    plans.campaign_capacity_set(campaign=campaign, agents=1, calls_per_agent=1, start=None, by=approver)
    with django_capture_on_commit_callbacks(execute=True):
        launch.campaign_launch(campaign=campaign, by=approver)
    return Campaign.objects.get(pk=campaign.pk)


def _batches(campaign):
    return list(PrintBatch.objects.filter(campaign=campaign).order_by("sequence"))


def test_the_plan_hands_over_one_batch_a_day_when_the_capacity_is_one_batch_of_calls(launched):
    plan = plans.campaign_plan(campaign=launched)
    today = timezone.localdate()
    assert [(d.date - today).days for d in plan.days] == [0, 1, 2]
    assert [(d.letters, d.batches, d.expected_calls, d.capacity) for d in plan.days] == [
        (2, [1], 1.0, 1), (2, [2], 1.0, 1), (2, [3], 1.0, 1)
    ]  # fmt: skip


def test_the_hand_over_follows_the_plan_refusing_a_batch_before_its_day(launched, approver):
    first, second, third = _batches(launched)
    # today: the first batch goes, the second is refused in French with its planned day
    assert postal.print_batch_hand_over(batch=first, by=approver) == 2
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(campaigns.CampaignError, match=f"Lot 2 prévu pour le {tomorrow:%d/%m/%Y}"):
        postal.print_batch_hand_over(batch=second, by=approver)
    second.refresh_from_db()
    assert second.handed_over_at is None
    # tomorrow it goes, and the third still waits one more day
    with time_machine.travel(timezone.now() + dt.timedelta(days=1)):
        assert postal.print_batch_hand_over(batch=second, by=approver) == 2
        with pytest.raises(campaigns.CampaignError, match="Lot 3 prévu pour le"):
            postal.print_batch_hand_over(batch=third, by=approver)
        plan = plans.campaign_plan(campaign=launched)
        assert [(d.letters, d.done) for d in plan.days] == [(2, True), (2, True), (2, False)]


def test_a_day_without_hand_over_moves_the_rest_of_the_plan_forward(launched):
    # nothing handed over on the first day: two days later, the first batch is planned that day
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        plan = plans.campaign_plan(campaign=launched)
        today = timezone.localdate()
        assert {batch.sequence: plan.batch_days[batch.pk] for batch in _batches(launched)} == {
            1: today, 2: today + dt.timedelta(days=1), 3: today + dt.timedelta(days=2)
        }  # fmt: skip


def test_without_a_declared_capacity_there_is_no_plan_and_every_batch_goes_at_once(
    one_call_per_batch, make_patients, make_campaign, approver, django_capture_on_commit_callbacks
):
    make_patients(4)
    campaign = make_campaign("post")
    with django_capture_on_commit_callbacks(execute=True):
        launch.campaign_launch(campaign=campaign, by=approver)
    assert plans.campaign_plan(campaign=campaign) is None
    assert [postal.print_batch_hand_over(batch=b, by=approver) for b in _batches(campaign)] == [2, 2]


def test_before_launch_the_plan_is_a_projection_of_the_letters_the_launch_would_create(
    one_call_per_batch, make_patients, make_campaign, approver
):
    make_patients(5)
    campaign = make_campaign("post")
    campaign = plans.campaign_capacity_set(campaign=campaign, agents=2, calls_per_agent=1, start=None, by=approver)
    plan = plans.campaign_plan(campaign=campaign)
    # 5 letters in chunks of 2, 2, 1: 2 calls a day takes two chunks the first day
    assert plan.projected and plan.letters == 5
    assert [(d.letters, d.expected_calls) for d in plan.days] == [(4, 2.0), (1, 0.5)]


@pytest.mark.parametrize(
    ("agents", "calls", "start", "message"),
    [
        (0, 10, None, "Le nombre d'agents doit être au moins 1"),
        (3, -2, None, "Le nombre d'appels par agent et par jour doit être au moins 1"),
        (3, None, None, "Déclarez les deux"),
        (3, 10, dt.date(2020, 1, 1), "La première remise ne peut pas être dans le passé"),
    ],
)
def test_a_bad_capacity_is_refused_in_french_and_changes_nothing(
    make_campaign, approver, agents, calls, start, message
):
    campaign = make_campaign("post")
    with pytest.raises(plans.CapacityError, match=message):
        plans.campaign_capacity_set(campaign=campaign, agents=agents, calls_per_agent=calls, start=start, by=approver)
    campaign.refresh_from_db()
    assert campaign.call_centre_agents is None and campaign.hand_over_start is None


def test_a_capacity_below_one_batch_of_calls_is_refused_with_what_to_change(launched, approver, settings):
    # every recipient calls: a batch of 2 letters brings 2 calls on its day, more than 1 call a day
    settings.CAMPAIGN_CALL_RATE = 1.0
    with pytest.raises(plans.CapacityError, match="un lot de 2 lettres attend à lui seul 2.0 appels"):
        plans.campaign_capacity_set(campaign=launched, agents=1, calls_per_agent=1, start=None, by=approver)
    # and a plan that cannot hold (the settings changed under it) refuses the hand-over with the same advice
    with pytest.raises(campaigns.CampaignError, match="augmentez la capacité"):
        postal.print_batch_hand_over(batch=_batches(launched)[0], by=approver)


# --- the command ----------------------------------------------------------------------------------------
def test_the_command_prints_the_plan_and_its_json(launched):
    out = StringIO()
    call_command("campaign", "plan", str(launched.pk), "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert [(d["letters"], d["expected_calls"], d["capacity"]) for d in data["plan"]["days"]] == [(2, 1.0, 1)] * 3
    text = StringIO()
    call_command("campaign", "plan", str(launched.pk), stdout=text)
    assert "capacité 1 appels par jour" in text.getvalue() and f"{timezone.localdate():%d/%m/%Y}" in text.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--agents", "0", "--calls-per-agent", "5"], "Le nombre d'agents doit être au moins 1"),
        (["--agents", "2", "--calls-per-agent", "5", "--start", "01/01/2020"], "dans le passé"),
        (["--agents", "2", "--calls-per-agent", "5", "--start", "demain"], "Date illisible « demain »"),
    ],
)
def test_the_capacity_command_refuses_bad_input_with_exit_code_2_and_one_french_line(
    make_campaign, author, args, message
):
    campaign = make_campaign("post")
    with pytest.raises(CommandError, match=message) as refused:
        call_command("campaign", "capacity", str(campaign.pk), *args, "--by", author.username)
    assert refused.value.returncode == 2 and "\n" not in str(refused.value)


def test_the_capacity_command_declares_and_clears_the_plan(make_campaign, author):
    campaign = make_campaign("post")
    start = timezone.localdate() + dt.timedelta(days=3)
    call_command("campaign", "capacity", str(campaign.pk), "--agents", "4", "--calls-per-agent", "50",
                 "--start", f"{start:%d/%m/%Y}", "--by", author.username, stdout=StringIO())  # fmt: skip
    campaign.refresh_from_db()
    assert (campaign.call_capacity, campaign.hand_over_start) == (200, start)
    call_command("campaign", "capacity", str(campaign.pk), "--by", author.username, stdout=StringIO())
    campaign.refresh_from_db()
    assert campaign.call_capacity is None


# --- the admin page ---------------------------------------------------------------------------------------
def test_the_plan_page_shows_the_table_day_by_day(launched, laboratory, client):
    dpo = make_staff("dpo-plan", role=DPO, laboratories=[laboratory])
    response = login_verified(client, dpo).get(reverse("admin:notifier_campaign_plan", args=[launched.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="plan-days"' in content and "<strong>1</strong> agent × <strong>1</strong>" in content
    assert content.count('<td class="num">2</td>') == 3  # three days of 2 letters


def test_a_bad_capacity_posted_on_the_page_gets_a_french_error_and_changes_nothing(launched, laboratory, client):
    dpo = make_staff("dpo-plan", role=DPO, laboratories=[laboratory])
    url = reverse("admin:notifier_campaign_capacity", args=[launched.pk])
    response = login_verified(client, dpo).post(url, {"call_centre_agents": "0", "calls_per_agent_per_day": "5"})
    assert response.status_code == 200
    assert "Le nombre d&#x27;agents doit être au moins 1" in response.content.decode()
    response = client.post(url, {"call_centre_agents": "deux", "calls_per_agent_per_day": "5"})
    assert "Indiquez un nombre entier d&#x27;agents." in response.content.decode()
    launched.refresh_from_db()
    assert launched.call_capacity == 1


def test_the_plan_of_another_laboratory_is_not_found_and_the_liaison_may_read_but_not_declare(launched, client, lab_b):
    other = make_staff("dpo-b", role=DPO, laboratories=[lab_b])
    assert login_verified(client, other).get(
        reverse("admin:notifier_campaign_plan", args=[launched.pk])
    ).status_code == 404  # fmt: skip
    liaison = make_staff("liaison", role=CNIL_LIAISON)
    login_verified(client, liaison)
    assert client.get(reverse("admin:notifier_campaign_plan", args=[launched.pk])).status_code == 200
    response = client.post(reverse("admin:notifier_campaign_capacity", args=[launched.pk]),
                           {"call_centre_agents": "9", "calls_per_agent_per_day": "9"})  # fmt: skip
    assert response.status_code == 403
    launched.refresh_from_db()
    assert launched.call_capacity == 1 and isinstance(launched.laboratory, Laboratory)
