"""labs fixtures: the CNIL receipts of each test under its own tmp dir."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_receipts_dir(settings, tmp_path):
    settings.CNIL_RECEIPTS_DIR = tmp_path / "cnil-receipts"
