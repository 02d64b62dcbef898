"""Fixed-window rate limits (status page, call-centre look-ups) on the shared cache (Redis in the server shape, so all web workers agree)."""

from __future__ import annotations

import time

from django.core.cache import caches


def _cache():
    return caches["ratelimit"]


def hit(key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one event for `key`; True while the count in the current window is within `limit`."""
    window = int(time.time() // window_seconds)
    cache_key = f"rl:{key}:{window}"
    cache = _cache()
    cache.add(cache_key, 0, timeout=window_seconds * 2)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=window_seconds * 2)
        count = 1
    return count <= limit


def count(key: str, *, window_seconds: int) -> int:
    """Events counted for `key` in the current window (without counting one)."""
    window = int(time.time() // window_seconds)
    return int(_cache().get(f"rl:{key}:{window}", 0))
