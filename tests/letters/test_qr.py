"""The QR code drawn on a letter is segno's, dark module for dark module, with its quiet zone."""

from __future__ import annotations

import random
import string

import pytest
import segno

from letters.slots import QR_OPTIONS, qr_modules

PREFIX = "https://notifier.example/verifier/#"


def _painted(url: str, border: int) -> tuple[tuple[int, ...], ...]:
    size, runs = qr_modules(url, border)
    painted = [[0] * size for _ in range(size)]
    for row, col, length in runs:
        for c in range(col, col + length):
            painted[row][c] = 1
    return tuple(tuple(row) for row in painted)


def _segno_with_border(url: str, border: int) -> tuple[tuple[int, ...], ...]:
    matrix = segno.make(url, **QR_OPTIONS).matrix
    blank = (0,) * (len(matrix) + 2 * border)
    rows = [(0,) * border + tuple(row) + (0,) * border for row in matrix]
    return (blank,) * border + tuple(rows) + (blank,) * border


@pytest.mark.parametrize("length", [4, 8, 13])
def test_the_dark_runs_are_exactly_segnos_modules_inside_the_quiet_zone(length):
    # given status URLs with random personal codes, and URLs with no or a non-ASCII code
    rng = random.Random(length)
    codes = [
        "".join(rng.choice(string.ascii_letters + string.digits + "-_~") for _ in range(length)) for _ in range(20)
    ]
    urls = [PREFIX + code for code in codes] + ["https://notifier.example/verifier/", PREFIX + "SPÉCIMEN-0000"]
    for url in urls:
        # when the runs are painted back into a matrix
        # then it is segno's matrix for the fixed options, framed by a 2-module quiet zone
        assert _painted(url, 2) == _segno_with_border(url, 2), url


def test_the_qr_options_fix_the_mask_and_the_error_level():
    # given a code, then it is level M with mask 0 (choosing the best mask per letter was too slow)
    code = segno.make(PREFIX + "K7QF-92XM", **QR_OPTIONS)
    assert (code.error, code.mask, code.is_micro) == ("M", 0, False)
