from __future__ import annotations

import threading

import pytest
from django.core.mail import EmailMessage, get_connection

from notifier import sending


def message(body: str = "Bonjour\n.\nligne qui commence par un point") -> EmailMessage:
    return EmailMessage("Objet", body, "from@example.org", ["to@example.org"])


def test_a_message_is_accepted_only_after_the_commit_callback_said_yes(smtp):
    # given
    calls: list[int] = []
    with get_connection() as connection:
        # when
        sending.send_two_phase(
            connection=connection, message=message(), commit=lambda: calls.append(len(smtp.received)) or True
        )
    smtp.wait(1)
    # then the commit ran while the server held nothing yet, and the dot-stuffed body arrived intact
    assert calls == [0]
    assert len(smtp.received) == 1
    assert b"\n.\nligne qui commence" in smtp.received[0].replace(b"\r\n", b"\n")


def test_a_refused_commit_leaves_the_server_with_nothing(smtp):
    with get_connection() as connection, pytest.raises(sending.CommitRefused):
        sending.send_two_phase(connection=connection, message=message(), commit=lambda: False)
    # then a later message on a fresh connection is the only one the server keeps
    with get_connection() as connection:
        sending.send_two_phase(connection=connection, message=message("second"), commit=lambda: True)
    smtp.wait(1)
    assert len(smtp.received) == 1 and b"second" in smtp.received[0]


def test_a_crash_in_the_commit_callback_sends_nothing(smtp):
    def boom() -> bool:
        raise RuntimeError("database gone")

    with get_connection() as connection, pytest.raises(RuntimeError):
        sending.send_two_phase(connection=connection, message=message(), commit=boom)
    threading.Event().wait(0.3)
    assert smtp.received == []


def test_a_dot_that_could_not_be_written_says_the_server_has_nothing(smtp):
    import socket

    with get_connection() as connection:

        def commit_then_the_line_drops() -> bool:
            connection.connection.sock.shutdown(socket.SHUT_WR)  # the next write fails, as on a dead link
            return True

        with pytest.raises(sending.DotNotSent):
            sending.send_two_phase(connection=connection, message=message(), commit=commit_then_the_line_drops)
    threading.Event().wait(0.3)
    assert smtp.received == []
