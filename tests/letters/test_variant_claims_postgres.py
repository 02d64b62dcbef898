"""On PostgreSQL (the server shape, any number of hosts) a variant is claimed by an advisory lock: a worker
waits for the one laying it out, and a killed worker's claim dies with its connection.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/notifier_scale CELERY_BROKER_URL=redis://127.0.0.1:6379/11 \
     .venv/bin/python -m pytest -m integration tests/letters/test_variant_claims_postgres.py -q -p no:cacheprovider
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings
from django.db import connection

from labs.storage import private_exists
from letters import variants
from patients.categories import Exposure

from .conftest import ALL_CATEGORIES

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _lock_id(cache_key: str) -> int:
    import hashlib

    return int.from_bytes(hashlib.sha256(cache_key.encode()).digest()[:8], "big", signed=True)


@pytest.fixture
def laid_out(monkeypatch):
    variants._cached_variant.cache_clear()
    calls = []
    real = variants.layout_variant
    monkeypatch.setattr(variants, "layout_variant", lambda key, **kw: calls.append(key) or real(key, **kw))
    return calls


def test_a_worker_waits_for_the_one_laying_out_a_variant_then_reads_it(make_letter, laid_out):
    # given another worker (its own database connection) holding the claim, publishing a moment later
    letter = make_letter(exposure_mask=ALL_CATEGORIES)[1]
    key = variants.variant_key(letter)
    cache_key = variants._cache_key(key, False)
    claimed = threading.Event()

    def other_worker():
        from letters.layout import layout_variant

        try:
            with variants._claim(cache_key) as mine:
                assert mine
                claimed.set()
                time.sleep(0.5)
                variants._store(cache_key, layout_variant(key))
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    claimed.wait(timeout=30)
    # when this worker prepares the same variant
    variants.prepare_variants([letter])
    thread.join(timeout=30)
    # then it waited for the other's result and laid out nothing itself
    assert laid_out == [] and private_exists(cache_key)


def test_a_killed_workers_claim_is_released_by_the_database(make_letter, laid_out):
    # given a worker process holding the claim on a variant, killed (SIGKILL) before publishing it
    letter = make_letter(exposure_mask=int(Exposure.IDENTITY | Exposure.POSTAL_ADDRESS))[1]
    key = variants.variant_key(letter)
    cache_key = variants._cache_key(key, False)
    db = settings.DATABASES["default"]
    dsn = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER']} dbname={db['NAME']}"
    killed = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c",
         "import os, signal, sys, psycopg; c = psycopg.connect(sys.argv[1], autocommit=True); "
         "c.execute('SELECT pg_advisory_lock(%s)', [int(sys.argv[2])]); os.kill(os.getpid(), signal.SIGKILL)",
         dsn, str(_lock_id(cache_key))],
        check=False,
    )  # fmt: skip
    assert killed.returncode == -9
    # when this worker prepares the variant
    started = time.monotonic()
    variants.prepare_variants([letter])
    # then the claim died with the killed connection: laid out here, once, at once, and published
    assert laid_out == [key] and private_exists(cache_key)
    assert time.monotonic() - started < variants.WAIT_FOR_OTHERS_SECONDS / 2
