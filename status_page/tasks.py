"""Thin Celery tasks of the status page: ids in, one service call, safe to run twice."""

from __future__ import annotations

import smtplib

from celery import shared_task

from . import access_requests


@shared_task(
    acks_late=True,
    autoretry_for=(smtplib.SMTPException, ConnectionError, TimeoutError),
    retry_backoff=2,
    retry_backoff_max=600,
    max_retries=8,
)
def access_request_dpo_notify_task(access_request_id: int) -> bool:
    """Tell the DPO a right-of-access request waits; a request already notified sends nothing."""
    return access_requests.access_request_dpo_notify(access_request_id=int(access_request_id))
