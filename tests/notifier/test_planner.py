"""The mailing planner's arithmetic (notifier/planner.py), on small numbers worked out by hand."""

from __future__ import annotations

from fractions import Fraction as F

import pytest
from django.conf import settings

from notifier import planner

# 15 % of the letters call: two thirds on the day of delivery, one third the day after.
CURVE = [F(1, 10), F(1, 20)]


def test_the_call_curve_spreads_the_rate_along_the_shares():
    assert planner.call_curve(rate=0.12, shares=[2, 1]) == [F(8, 100), F(4, 100)]
    assert planner.call_curve(rate="0.15", shares=[0.5, 0.25]) == CURVE


def test_the_default_curve_is_twelve_percent_over_eight_days_with_a_quarter_on_the_first():
    curve = planner.call_curve(rate=settings.CAMPAIGN_CALL_RATE, shares=settings.CAMPAIGN_CALL_CURVE)
    assert len(curve) == 8 and sum(curve) == F(12, 100)
    assert curve[0] == F(3, 100) and curve == sorted(curve, reverse=True)


def test_expected_calls_are_the_hand_overs_convolved_with_the_curve_after_the_postal_delay():
    # 100 letters on day 0 and 50 on day 1, delivered the next day: 100 × 8 % on day 1; on day 2, 100 × 4 % and
    # 50 × 8 %; on day 3, 50 × 4 %
    curve = [F(8, 100), F(4, 100)]
    assert planner.expected_calls([100, 50], curve=curve, delay=1) == [0, 8, 8, 2]
    assert planner.expected_calls([100], curve=CURVE, delay=2) == [0, 0, 10, 5]
    assert planner.expected_calls([0, 0], curve=CURVE, delay=2) == [0, 0]


def test_the_greedy_plan_hands_over_one_batch_a_day_when_two_would_exceed_the_capacity():
    # capacity 15: a batch of 100 brings 10 calls on its day and 5 the next; two on one day would be 20
    days = planner.plan_units([100, 100, 100, 100], capacity=15, curve=CURVE, delay=0)
    assert days == [0, 1, 2, 3]
    letters = planner.letters_per_day([100] * 4, days)
    assert letters == [100, 100, 100, 100]
    assert planner.expected_calls(letters, curve=CURVE, delay=0) == [10, 15, 15, 15, 5]


def test_the_greedy_plan_fills_each_day_up_to_the_capacity_and_no_further():
    # capacity 20: day 0 takes two batches (20 calls), day 1 one (its 10 + day 0's 10), day 2 the last
    days = planner.plan_units([100, 100, 100, 100], capacity=20, curve=CURVE, delay=0)
    assert days == [0, 0, 1, 2]
    letters = planner.letters_per_day([100] * 4, days)
    assert letters == [200, 100, 100]
    assert planner.expected_calls(letters, curve=CURVE, delay=0) == [20, 20, 15, 5]


def test_the_plan_in_single_letters_reaches_the_capacity_exactly():
    # day 0: 100 letters (10 calls, 5 the next day); day 1: 50 more (5 + 5 = 10, then 2.5); day 2: 75
    # (2.5 + 7.5 = 10); day 3: the 25 left
    days = planner.plan_units([1] * 250, capacity=10, curve=CURVE, delay=3)
    letters = planner.letters_per_day([1] * 250, days)
    assert letters == [100, 50, 75, 25]
    assert planner.expected_calls(letters, curve=CURVE, delay=3) == [0, 0, 0, 10, 10, 10, F(25, 4), F(5, 4)]


def test_letters_already_handed_over_hold_their_calls_and_the_rest_waits_from_the_first_day():
    # 200 letters left on day 0 (20 calls on day 0, 10 on day 1): a batch of 100 fits on day 1 at the earliest
    assert planner.plan_units([100], capacity=20, curve=CURVE, delay=0, handed_over=[200]) == [1]
    # and never before the first day allowed (today), even when an earlier day had room
    assert planner.plan_units([100], capacity=20, curve=CURVE, delay=0, handed_over=[200], first_day=4) == [4]


def test_a_default_plan_keeps_every_day_under_the_capacity_and_every_letter_counted():
    curve = planner.call_curve(rate=settings.CAMPAIGN_CALL_RATE, shares=settings.CAMPAIGN_CALL_CURVE)
    units = [500] * 20
    days = planner.plan_units(units, capacity=40, curve=curve, delay=3)
    letters = planner.letters_per_day(units, days)
    calls = planner.expected_calls(letters, curve=curve, delay=3)
    assert sum(letters) == 10_000 and sum(calls) == 1_200  # 12 % of the letters call
    assert max(calls) <= 40 and days == sorted(days)
    assert len(letters) > 1  # 20 batches at once would bring 300 calls on the first day


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"capacity": 0}, "au moins un appel par jour"),
        ({"capacity": -5}, "au moins un appel par jour"),
        ({"capacity": 9}, "Un lot de 100 lettres attend à lui seul 10.0 appels"),
    ],
)
def test_a_capacity_the_plan_cannot_use_is_refused_in_french(kwargs, message):
    with pytest.raises(planner.PlanError, match=message):
        planner.plan_units([100, 50], curve=CURVE, delay=0, **kwargs)


@pytest.mark.parametrize(
    ("rate", "shares", "message"),
    [
        (0, [1], "taux d'appels"),
        (1.5, [1], "taux d'appels"),
        (0.12, [], "au moins un jour"),
        (0.12, [1, -1], "sans part négative"),
    ],
)
def test_a_call_curve_that_makes_no_sense_is_refused_in_french(rate, shares, message):
    with pytest.raises(planner.PlanError, match=message):
        planner.call_curve(rate=rate, shares=shares)
