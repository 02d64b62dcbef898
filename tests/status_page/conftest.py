"""Fixtures shared by the status page's tests."""

from __future__ import annotations

import pytest
from django.core.cache import caches


@pytest.fixture(autouse=True)
def _fresh_counters():
    """Rate-limit counters start empty for every test (they live in a cache, not in the database)."""
    caches["ratelimit"].clear()
    yield
    caches["ratelimit"].clear()
