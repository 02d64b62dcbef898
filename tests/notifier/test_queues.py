"""Which queue each task goes to: print batches on their own, so that emails never wait behind letters."""

from __future__ import annotations

from config.celery import app
from notifier import queue


def test_print_batches_go_to_the_letters_queue_and_everything_else_to_the_default_one():
    # given the app's routes
    router = app.amqp.router
    # then a print batch's rendering is routed to "letters", the campaign's other tasks to "celery"
    assert router.route({}, queue.BUILD_PRINT_BATCH)["queue"].name == "letters"
    for name in (queue.SEND_EMAILS, queue.DISPATCH_CAMPAIGN, queue.APPLY_DELIVERY_EVENT):
        assert router.route({}, name)["queue"].name == "celery"


def test_a_worker_started_without_options_consumes_both_queues():
    # given the queues a worker consumes when started as `celery -A config worker` (no -Q)
    consumed = set(app.amqp.queues.consume_from or app.amqp.queues)
    # then both: no deployment has to name the letters queue to get its letters built
    assert consumed == {"celery", "letters"}
