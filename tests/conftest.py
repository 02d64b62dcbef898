"""Shared fixtures and named personas.

Integration tests (`@pytest.mark.integration`) need PostgreSQL + Redis: they are skipped on the embedded
(SQLite) run and, when CI is set, a run with `-m integration` without those servers fails loudly.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from labs import access
from notifier import campaigns

# Personas and OTP-verified clients (admin_client overrides pytest-django's: the admin needs a 2nd factor).
from tests.access_fixtures import (  # noqa: F401
    _fast_password_hashing,
    admin_client,
    cnil_liaison,
    dpo_lab_a,
    dpo_lab_b,
    lab_a,
    lab_b,
    login_verified_fixture,
    make_staff,
    operator_lab_a,
)
from tests.factories import BreachFactory, LaboratoryFactory, PatientFactory, case_file_complete

pytest_plugins = ["tests.servers"]  # servers a test starts for itself: moto's S3, PgBouncer


def pytest_collection_modifyitems(config, items):
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    if on_postgres:
        return
    if os.environ.get("CI") and config.getoption("-m") == "integration":
        raise pytest.UsageError("integration tests need DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis)")
    skip = pytest.mark.skip(reason="integration: needs DATABASE_URL=postgres://… and CELERY_BROKER_URL=redis://…")
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_var_dir(settings, tmp_path):
    """Every test writes its files (outbox, rejects, print batches, variants, receipts) under its own tmp dir.

    The private storage keeps its shape (the file system, or S3 when the run sets NOTIFIER_S3_BUCKET) and
    only moves: its folder, or a key prefix of its own in the bucket."""
    settings.VAR_DIR = tmp_path
    settings.EMAIL_FILE_PATH = tmp_path / "outbox"
    settings.IMPORT_REJECTS_DIR = tmp_path / "rejects"
    private = dict(settings.STORAGES["private"])
    if private["BACKEND"].endswith("FileSystemStorage"):
        private["OPTIONS"] = {**private["OPTIONS"], "location": tmp_path}
    else:
        private["OPTIONS"] = {**private["OPTIONS"], "location": f"tests/{tmp_path.name}-{os.getpid()}"}
    settings.STORAGES = {**settings.STORAGES, "private": private}


@pytest.fixture(autouse=True)
def _language_reset():
    """A request with Accept-Language: en leaves English active in the thread; each test starts in French."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


# A laboratory with patients and an approved campaign: the campaign engine's tests and the status page's.
@pytest.fixture
def author(laboratory):
    # Operators of the laboratory: the `campaign` command checks `--by` against the role × action table.
    return make_staff("alice", role=access.OPERATOR, laboratories=[laboratory])


@pytest.fixture
def approver(laboratory):
    return make_staff("bob", role=access.OPERATOR, laboratories=[laboratory])


@pytest.fixture
def laboratory(db):
    return LaboratoryFactory(code="LABA", name="Laboratoire des Remparts")


@pytest.fixture
def breach(db):
    return BreachFactory(slug="fuite-2021")


@pytest.fixture
def make_patients(breach, laboratory):
    def make(n: int, **fields):
        return PatientFactory.create_batch(n, breach=breach, laboratory=laboratory, **fields)

    return make


@pytest.fixture
def make_campaign(breach, laboratory, author, approver):
    def make(policy: str = "post_and_email", *, approve: bool = True, facts: bool = True, **kwargs):
        if facts:  # what the launch gate asks (Art. 34(2)); facts=False leaves the case file to the test
            case_file_complete(breach=breach, laboratory=laboratory)
        campaign = campaigns.campaign_create(
            breach=breach, laboratory=laboratory, name="Information des patients", by=author,
            channel_policy=policy, **kwargs,
        )  # fmt: skip
        if approve:
            campaign = campaigns.campaign_approve(campaign=campaign, by=approver)
        return campaign

    return make
