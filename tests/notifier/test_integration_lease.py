"""Proof on PostgreSQL + Redis + real `celery worker`s: a SIGKILLed worker's rows are sending again within its lease.

Run (with the other integration proofs of the campaign engine):
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/notifier_campaign CELERY_BROKER_URL=redis://127.0.0.1:6379/6 \
  .venv/bin/python -m pytest -m integration tests/notifier/test_integration_lease.py -q -p no:cacheprovider -s
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from aiosmtpd.controller import Controller

from notifier.models import Campaign, Notification
from tests.notifier.test_integration import (  # noqa: F401 (fixtures)
    Sink,
    assert_one_message_per_row,
    campaign_with_patients,
    child_env,
    free_port,
    manage,
    purged_broker,
    sent_count,
    wait_for,
    worker_factory,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
S = Notification.Status
LEASE, TICK = 10, 2


class SlowSink(Sink):
    """A mail server taking 30 ms per message: a 100-row chunk lasts seconds, so a kill finds rows claimed."""

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        await asyncio.sleep(0.03)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_sink():
    handler = SlowSink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


def test_a_killed_workers_rows_are_sending_again_within_its_lease_each_message_once(
    slow_sink,
    purged_broker,  # noqa: F811 (the fixture imported above)
    worker_factory,  # noqa: F811
):
    # given a 600-patient email campaign sent by a real worker (two processes, 100 rows per task), with a
    # 10 s lease and a tick every 2 s, and the old repair threshold left at 10 minutes
    total = 600
    campaign = campaign_with_patients(total)
    env = child_env(slow_sink, purged_broker, CAMPAIGN_LEASE_SECONDS=str(LEASE), CAMPAIGN_TICK_SECONDS=str(TICK),
                    CAMPAIGN_STUCK_SECONDS="600", CAMPAIGN_EMAIL_CHUNK="100")  # fmt: skip
    first = worker_factory(env)
    first.start()
    manage(env, "campaign", "launch", str(campaign.pk), "--by", "bob")
    wait_for(lambda: sent_count(campaign) >= 60, timeout=120, what="60 sent")
    # when the worker is killed with SIGKILL mid-chunk
    first.kill()
    killed_at = time.monotonic()
    held = dict(Notification.objects.filter(campaign=campaign, status=S.SENDING).values_list("pk", "claimed_by"))
    assert held, "the kill found no claimed row"
    dead_claims = set(held.values())
    # then, once its lease has run out, `campaign status` calls its rows stalled
    time.sleep(max(0.0, LEASE + 1 - (time.monotonic() - killed_at)))
    status = json.loads(manage(env, "campaign", "status", str(campaign.pk), "--json"))
    assert status["stalled"] == len(held)
    assert {claim["worker"] for claim in status["claims"] if claim["stalled"]} == dead_claims
    # and a new worker's tick takes them back: no row is left under the dead claims, long before 10 minutes
    second = worker_factory(env)
    second.start()

    def taken_back() -> bool:
        return not Notification.objects.filter(pk__in=held, status=S.SENDING, claimed_by__in=dead_claims).exists()

    wait_for(taken_back, timeout=LEASE + 40, what="the dead worker's rows taken back", step=0.2)
    recovered_in = time.monotonic() - killed_at
    assert recovered_in < LEASE + 30  # lease + worker start-up + a tick or two; ≈ a minute at 45 s / 15 s
    # and every row ends sent, each message once (the killed processes' in-flight messages may lack a reply)
    wait_for(lambda: Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED, timeout=180,
             what="campaign completed")  # fmt: skip
    lost = assert_one_message_per_row(campaign, slow_sink, may_lose=2)
    # and the rows it held were sent by the new worker's claims (but the message each killed process had in
    # flight, whose COMMIT may have reached the database just after the kill)
    by_dead = Notification.objects.filter(pk__in=held, claimed_by__in=dead_claims).count()
    assert by_dead <= 2
    print(f"\nSIGKILL with {len(held)} rows claimed: taken back {recovered_in:.1f} s after the kill "
          f"(lease {LEASE} s, tick {TICK} s); {len(slow_sink.ids())} messages for {total} rows, {len(lost)} lost")  # fmt: skip
