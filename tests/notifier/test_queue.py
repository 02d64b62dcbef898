"""The engine enqueues its tasks by name (notifier/queue.py): each name must be a registered task."""

from __future__ import annotations

from unittest import mock

import pytest
from celery import current_app

from notifier import queue


@pytest.mark.parametrize("name", queue.TASK_NAMES)
def test_every_task_the_engine_enqueues_is_registered_under_its_name(name):
    assert current_app.tasks[name].name == name


def test_email_ids_go_to_the_workers_in_chunks_of_the_configured_size(settings):
    settings.CAMPAIGN_EMAIL_CHUNK = 3
    with mock.patch.object(current_app.tasks[queue.SEND_EMAILS], "delay") as delay:
        chunks = queue.emails_send_enqueue(notification_ids=range(1, 8))
    assert chunks == 3
    assert [call.args[0] for call in delay.call_args_list] == [[1, 2, 3], [4, 5, 6], [7]]


def test_nothing_to_send_enqueues_nothing():
    with mock.patch.object(current_app.tasks[queue.SEND_EMAILS], "delay") as delay:
        assert queue.emails_send_enqueue(notification_ids=[]) == 0
    delay.assert_not_called()


def test_an_unknown_task_name_fails_loudly_instead_of_bypassing_the_eager_mode():
    with pytest.raises(KeyError):
        queue._delay("notifier.tasks.no_such_task", 1)
