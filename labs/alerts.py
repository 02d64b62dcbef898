"""Security alerts for staff: mailed to ALERT_EMAILS (Django's ADMINS) and shown on the dashboards for an hour.

In labs, the lowest app, so that the status page raises them and the dashboards read them without
either knowing the other. Kept in the shared "ratelimit" cache (Redis in production, where every web
worker sees it): an alert is about the last hour, not a record; the log line is the record.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.core.cache import caches
from django.core.mail import mail_admins
from django.utils import timezone

logger = logging.getLogger(__name__)

# The kinds the dashboards look for; raising another is a programming error.
ALERT_KINDS = ("status-page-failures",)
ALERT_VISIBLE_FOR = dt.timedelta(hours=1)


@dataclass(frozen=True)
class SecurityAlert:
    kind: str
    at: dt.datetime
    message: str


def _cache():
    return caches["ratelimit"]


def security_alert_raise(*, kind: str, subject: str = "", message: str) -> bool:
    """Mail the alert addresses and show it on the dashboards, once per kind and clock hour; True when this call did."""
    if kind not in ALERT_KINDS:
        raise ValueError(f"unknown security alert kind {kind!r}")
    now = timezone.now()
    hour = int(now.timestamp() // 3600)
    if not _cache().add(f"security-alert:sent:{kind}:{hour}", 1, timeout=7200):
        return False
    visible_seconds = int(ALERT_VISIBLE_FOR.total_seconds())
    _cache().set(f"security-alert:last:{kind}", {"at": now.isoformat(), "message": message}, timeout=visible_seconds)
    logger.warning("security alert %s: %s", kind, message)
    mail_admins(subject or message, message, fail_silently=True)
    return True


def security_alerts_recent(*, now: dt.datetime | None = None) -> list[SecurityAlert]:
    """The alerts raised within the last hour, oldest first (what the dashboards' banner shows)."""
    now = now or timezone.now()
    alerts = []
    for kind in ALERT_KINDS:
        stored = _cache().get(f"security-alert:last:{kind}")
        if not isinstance(stored, dict):
            continue
        at = dt.datetime.fromisoformat(stored["at"])
        if now - at <= ALERT_VISIBLE_FOR:
            alerts.append(SecurityAlert(kind=kind, at=at, message=str(stored["message"])))
    return sorted(alerts, key=lambda alert: alert.at)
