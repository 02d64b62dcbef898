"""The fast QR encoder must give exactly segno's modules."""

from __future__ import annotations

import random
import string

import pytest
import segno

from letters import qr

PREFIX = "https://notifier.example/verifier/#"


def _matrix(url: str) -> tuple[tuple[int, ...], ...]:
    size, value = qr.qr_matrix(url)
    bits = format(value, f"0{size * size}b")
    return tuple(tuple(int(bits[r * size + c]) for c in range(size)) for r in range(size))


@pytest.mark.parametrize("length", [4, 8, 13])
def test_fast_qr_codes_are_exactly_segnos_for_random_codes(length):
    # given random personal codes of one length after a status URL
    rng = random.Random(length)
    codes = [
        "".join(rng.choice(string.ascii_letters + string.digits + "-_~") for _ in range(length)) for _ in range(40)
    ]
    for code in codes:
        url = PREFIX + code
        # when encoded by the fast (affine) encoder
        # then the modules are exactly segno's for the same options
        expected = segno.make(url, error="m", mode="byte", mask=0, boost_error=False, micro=False).matrix
        assert _matrix(url) == tuple(tuple(row) for row in expected), code


def test_urls_without_a_plain_code_fall_back_to_segno():
    # given URLs the fast path does not handle (no fragment, non-ASCII code)
    for url in ("https://notifier.example/verifier/", PREFIX + "SPÉCIMEN-0000"):
        # then the modules are still segno's
        expected = segno.make(url, error="m", mode="byte", mask=0, boost_error=False, micro=False).matrix
        assert _matrix(url) == tuple(tuple(row) for row in expected)


def test_dark_runs_cover_exactly_the_dark_modules():
    # given a QR code
    url = PREFIX + "K7QF-92XM"
    size, runs = qr.dark_runs(url)
    # when the runs are painted back into a matrix
    painted = [[0] * size for _ in range(size)]
    for row, col, length in runs:
        for c in range(col, col + length):
            painted[row][c] = 1
    # then it is the code's matrix
    assert tuple(tuple(row) for row in painted) == _matrix(url)
