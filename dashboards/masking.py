"""Small-cell suppression for the CNIL liaison: counts under ten never leave the server as numbers."""

from __future__ import annotations

MASK_BELOW = 10
MASKED = "< 10"


def masked(count: int | None) -> str:
    """A people/notification count as the CNIL liaison sees it: "< 10" under ten, grouped digits above."""
    if count is None or count < MASK_BELOW:
        return MASKED
    return f"{count:,}".replace(",", "\u202f")


def masked_total(counts: list[int]) -> str:
    """A total over rows some of which are masked, without giving the masked ones away by subtraction.

    The exact sum minus the visible cells would reveal a lone masked cell (91 − 60 − 25 = 6); instead the
    total is the range the visible cells already imply: sum of the visible ones, plus 0 to 9 per masked one."""
    visible = sum(n for n in counts if n >= MASK_BELOW)
    hidden = sum(1 for n in counts if n < MASK_BELOW)
    if not hidden:
        return masked(visible)
    upper = visible + (MASK_BELOW - 1) * hidden
    if upper < MASK_BELOW:
        return MASKED
    return f"{masked(visible) if visible else 0} à {masked(upper)}"


def masked_sort_key(count: int | None) -> int:
    """Sorting on masked cells must not reveal their order: every count under ten sorts as one value."""
    return 0 if count is None or count < MASK_BELOW else count
