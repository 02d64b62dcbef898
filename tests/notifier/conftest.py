"""Fixtures of the campaign-engine tests: a local SMTP server (the shared campaign fixtures live in tests/conftest.py)."""

from __future__ import annotations

import socket
import threading

import pytest
from aiosmtpd.controller import Controller


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
