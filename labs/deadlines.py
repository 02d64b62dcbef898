"""The clocks: the Art. 33(1) one (awareness + CNIL_DEADLINE_HOURS) and every regime's steps (labs/obligations.py).

Hours are elapsed time: added to an aware datetime in UTC, so a clock that crosses a daylight-saving change
still gives 72 real hours; only the display converts to Europe/Paris (where the wall-clock time of the
deadline then differs by one hour from the awareness time). Months (NIS2's final report) are calendar
months on the Paris wall clock: 28/03 10:00 + 1 month is 28/04 10:00 Paris, whatever the offset did between.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext

PARIS = ZoneInfo("Europe/Paris")


def deadline_for(aware_at: dt.datetime, *, hours: int | None = None) -> dt.datetime:
    """The CNIL deadline (UTC) for an awareness time; refuses a naive datetime."""
    if timezone.is_naive(aware_at):
        raise ValueError("aware_at must carry its offset (a naive time is ambiguous across DST changes)")
    hours = settings.CNIL_DEADLINE_HOURS if hours is None else hours
    return aware_at.astimezone(dt.UTC) + dt.timedelta(hours=hours)


def step_deadline(start: dt.datetime, *, hours: int | None = None, months: int | None = None) -> dt.datetime:
    """A regime step's due time (UTC) from its start: elapsed hours, or calendar months in Paris time."""
    if timezone.is_naive(start):
        raise ValueError("start must carry its offset (a naive time is ambiguous across DST changes)")
    if hours is not None:
        return deadline_for(start, hours=hours)
    if months is not None:
        return (start.astimezone(PARIS) + relativedelta(months=months)).astimezone(dt.UTC)
    raise ValueError("a step counts hours or months")


def format_elapsed(since: dt.datetime, *, now: dt.datetime | None = None) -> str:
    """ "écoulé : 1 j 05 h 12 min" — the clock of a « sans délai » step, which has no due time."""
    delta = max((now or timezone.now()) - since, dt.timedelta(0))
    return gettext("écoulé : %(time)s") % {"time": _duration(delta)}


def _duration(delta: dt.timedelta) -> str:
    minutes = int(abs(delta).total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return (gettext("%(days)d j ") % {"days": days} if days else "") + f"{hours:02d} h {minutes:02d} min"


def in_paris(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(PARIS)


def format_paris(moment: dt.datetime | None) -> str:
    """e.g. "29/03/2021 11:00 (UTC+02:00)" — the offset makes the DST side explicit."""
    if moment is None:
        return ""
    local = in_paris(moment)
    offset = local.strftime("%z")
    return f"{local:%d/%m/%Y %H:%M} (UTC{offset[:3]}:{offset[3:]})"


def time_left(due_at: dt.datetime, *, now: dt.datetime | None = None) -> dt.timedelta:
    """Negative once overdue."""
    return due_at - (now or timezone.now())


def format_time_left(delta: dt.timedelta) -> str:
    """ "reste 1 j 05 h 12 min" or "dépassé de 3 h 04 min"."""
    overdue = delta < dt.timedelta(0)
    text = _duration(delta)
    return (gettext("dépassé de %(time)s") if overdue else gettext("reste %(time)s")) % {"time": text}
