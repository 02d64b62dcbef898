"""The mailing planner's arithmetic: spread a print hand-over over days so the call centre keeps up.

Pure functions on numbers (no database): `notifier.plans` feeds them a campaign's print batches and settings.
Letters handed over on day h reach the patients on day h + delay (La Poste), and a share of them phones on
each of the following days (the call curve: fractions of the letters, per day after delivery, summing to
the call rate). The expected calls of a day are the convolution of the hand-overs with that curve. The plan
is greedy: each day takes, in order, as many units (print batches, or single letters) as keep every day's
expected calls at or under the capacity. Fractions, not floats: 0.12 × 100 letters is 12 calls, exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction


class PlanError(ValueError):
    """Settings or a capacity the planner cannot work with; the message is French and says what to change."""


def call_curve(*, rate: float | str | Fraction, shares: Sequence[float | str | Fraction]) -> list[Fraction]:
    """Fractions of the letters that call on each day after delivery: `rate` spread along `shares`
    (relative weights, normalised: [2, 1] at 12 % gives 8 % then 4 %)."""
    exact_rate = Fraction(str(rate)) if not isinstance(rate, Fraction) else rate
    weights = [Fraction(str(share)) if not isinstance(share, Fraction) else share for share in shares]
    if not 0 < exact_rate <= 1:
        raise PlanError(f"Le taux d'appels doit être compris entre 0 et 1 (reçu : {rate}).")
    if not weights or any(weight < 0 for weight in weights) or sum(weights) == 0:
        raise PlanError("La courbe des appels doit compter au moins un jour, sans part négative.")
    total = sum(weights)
    return [exact_rate * weight / total for weight in weights]


def expected_calls(hand_overs: Sequence[int], *, curve: Sequence[Fraction], delay: int) -> list[Fraction]:
    """Expected calls per day (index 0 = the first hand-over day) for letters handed over per day."""
    if delay < 0:
        raise PlanError("Le délai postal ne peut pas être négatif.")
    if not any(hand_overs):
        return [Fraction(0)] * len(hand_overs)
    calls = [Fraction(0)] * (len(hand_overs) + delay + len(curve) - 1)
    for day, letters in enumerate(hand_overs):
        for offset, share in enumerate(curve):
            calls[day + delay + offset] += letters * share
    return calls


def plan_units(
    units: Sequence[int],
    *,
    capacity: int,
    curve: Sequence[Fraction],
    delay: int,
    handed_over: Sequence[int] = (),
    first_day: int = 0,
) -> list[int]:
    """The hand-over day (index) of each unit, in order, so no day's expected calls exceed `capacity`.

    `handed_over` is what already left, letters per day index (its calls are already coming); the pending
    units go on `first_day` or later, in their order (a later batch never before an earlier one)."""
    if capacity <= 0:
        raise PlanError("La capacité du centre d'appels doit être d'au moins un appel par jour.")
    peak = max(curve, default=Fraction(0))
    too_big = [size for size in units if size * peak > capacity]
    if too_big:
        raise PlanError(
            f"Un lot de {max(too_big)} lettres attend à lui seul {float(max(too_big) * peak):.1f} appels le jour de "
            f"pointe, plus que la capacité ({capacity} par jour) : augmentez la capacité ou réduisez la taille "
            "des lots (CAMPAIGN_PRINT_CHUNK)."
        )
    load = expected_calls(list(handed_over), curve=curve, delay=delay)
    days: list[int] = []
    day = max(first_day, 0)
    for size in units:
        while not _fits(load, size, day=day + delay, curve=curve, capacity=capacity):
            day += 1
        end = day + delay + len(curve)
        load.extend([Fraction(0)] * (end - len(load)))
        for offset, share in enumerate(curve):
            load[day + delay + offset] += size * share
        days.append(day)
    return days


def _fits(load: list[Fraction], size: int, *, day: int, curve: Sequence[Fraction], capacity: int) -> bool:
    """Whether `size` more letters delivered on `day` keep every day of their calls within capacity."""
    for offset, share in enumerate(curve):
        already = load[day + offset] if day + offset < len(load) else 0
        if already + size * share > capacity:
            return False
    return True


def letters_per_day(units: Sequence[int], days: Sequence[int], *, handed_over: Sequence[int] = ()) -> list[int]:
    """Letters handed over per day index: what already left plus the planned units."""
    length = max([len(handed_over), *(day + 1 for day in days)], default=0)
    letters = [*handed_over, *[0] * (length - len(handed_over))]
    for size, day in zip(units, days, strict=True):
        letters[day] += size
    return letters
