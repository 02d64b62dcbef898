"""Fixtures of the campaign-engine tests: staff users, a laboratory with patients, a campaign."""

from __future__ import annotations

import socket
import threading

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth import get_user_model

from notifier import campaigns
from tests.factories import BreachFactory, LaboratoryFactory, PatientFactory


@pytest.fixture(autouse=True)
def _print_batch_dir(settings, tmp_path):
    """Print batches (PDF + manifest) go under the test's own tmp dir, never var/."""
    settings.PRINT_BATCH_DIR = tmp_path / "print"


@pytest.fixture
def author(db):
    return get_user_model().objects.create_user("alice", password="x" * 16, is_staff=True)


@pytest.fixture
def approver(db):
    return get_user_model().objects.create_user("bob", password="x" * 16, is_staff=True)


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
    def make(policy: str = "post_and_email", *, approve: bool = True, **kwargs):
        campaign = campaigns.campaign_create(
            breach=breach, laboratory=laboratory, name="Information des patients", by=author,
            channel_policy=policy, **kwargs,
        )  # fmt: skip
        if approve:
            campaign = campaigns.campaign_approve(campaign=campaign, by=approver)
        return campaign

    return make


class Sink:
    """aiosmtpd handler keeping the bytes of every accepted message."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        with self.lock:
            self.received.append(envelope.content)
        return "250 OK"

    def wait(self, count: int) -> None:
        for _ in range(100):
            if len(self.received) >= count:
                return
            threading.Event().wait(0.02)


@pytest.fixture
def smtp(settings):
    """A local SMTP server (aiosmtpd) that Django's SMTP backend sends to."""
    handler = Sink()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    yield handler
    controller.stop()
