"""Small-cell suppression for the CNIL liaison: counts under ten never leave the server as numbers.

Three rules, one per shape of figure:
- a count: under ten it is shown "< 10" (zero too: "none" and "a few" must look alike);
- a rate: shown with its denominator, « 12 % (31 / 258) »; a numerator under ten is a bound, and so is one
  within ten of the denominator (the few *not* returned are a small count too), since a percentage of a
  known total gives the count back; under ten in the denominator, no rate at all;
- a total over laboratories: exact only when it gives no masked cell away (see `masked_total`).
"""

from __future__ import annotations

import math

MASK_BELOW = 10
MASKED = "< 10"
_TOP = MASK_BELOW - 1  # the largest value a masked cell may hold


def grouped(count: int) -> str:
    """12345 → "12 345" (narrow no-break space, the French grouping)."""
    return f"{count:,}".replace(",", "\u202f")


def masked(count: int | None) -> str:
    """A people/notification count as the CNIL liaison sees it: "< 10" under ten, grouped digits above."""
    if count is None or count < MASK_BELOW:
        return MASKED
    return grouped(count)


def masked_rate(numerator: int, denominator: int) -> str | None:
    """« 12 % (31 / 258) », or a bound when the numerator or what is left of the denominator is under ten;
    None when the denominator itself is under ten (the caller says what is too small)."""
    if denominator < MASK_BELOW:
        return None
    if numerator < MASK_BELOW:
        # at most 9 / denominator: the smallest whole percentage strictly above it
        return f"< {math.floor(100 * _TOP / denominator) + 1} % ({MASKED} / {grouped(denominator)})"
    if denominator - numerator < MASK_BELOW:
        # at least denominator − 9, i.e. more than denominator − 10
        floor = denominator - MASK_BELOW
        return f"> {math.floor(100 * floor / denominator)} % (> {grouped(floor)} / {grouped(denominator)})"
    return f"{100 * numerator / denominator:.0f} % ({grouped(numerator)} / {grouped(denominator)})"


def total_is_safe(counts: list[int]) -> bool:
    """Whether the exact sum of `counts` may be shown beside the cells (masked under ten).

    Whoever reads an exact total subtracts the visible cells and learns S, the sum of the k masked ones.
    That is harmless only when S tells nothing a "< 10" does not already say about any one of them: each
    masked cell must still be free to be anything from 0 to 9 — true exactly when S ≤ 9 × (k − 1) (the
    others can make up the rest) — and S itself must not be a small count of a few laboratories (S ≥ 10).
    So with one or two masked cells the total is never exact (one would be given back, or two summing
    under ten, or two nines proven by 18)."""
    hidden = [n for n in counts if n < MASK_BELOW]
    if not hidden:
        return True
    masked_sum = sum(hidden)
    return MASK_BELOW <= masked_sum <= _TOP * (len(hidden) - 1)


def masked_total(counts: list[int]) -> str:
    """A total over rows some of which are masked: exact when `total_is_safe`, else « entre A et B », the
    range the visible cells already imply (their sum, plus 0 to 9 per masked cell).

    Which form is shown depends on the masked cells (with three or more of them): a range then tells the
    reader their sum is under 10 or above 9 × (k − 1) — at most that each masked laboratory has at least
    one, never a count."""
    if not counts:
        return "0"
    if total_is_safe(counts):
        return grouped(sum(counts))  # at least 10: no masked cell, or masked ones summing to 10 or more
    visible = sum(n for n in counts if n >= MASK_BELOW)
    upper = visible + _TOP * sum(1 for n in counts if n < MASK_BELOW)
    if upper < MASK_BELOW:
        return MASKED
    return f"entre {grouped(visible)} et {grouped(upper)}"


def masked_cells_note(counts: list[int]) -> str:
    """« dont 2 laboratoires sous le seuil de 10 », or "" when no cell is masked."""
    hidden = sum(1 for n in counts if n < MASK_BELOW)
    if not hidden:
        return ""
    plural = "s" if hidden > 1 else ""
    return f"dont {hidden} laboratoire{plural} sous le seuil de {MASK_BELOW}"


def masked_sort_key(count: int | None) -> int:
    """Sorting on masked cells must not reveal their order: every count under ten sorts as one value."""
    return 0 if count is None or count < MASK_BELOW else count
