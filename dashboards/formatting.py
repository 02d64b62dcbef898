"""How the dashboards write durations and percentages (the page, the charts' titles, the CSV alike)."""

from __future__ import annotations

import datetime as dt


def format_duration(delta: dt.timedelta | None) -> str:
    if delta is None:
        return "—"
    minutes = int(abs(delta).total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    text = (f"{days} j " if days else "") + f"{hours:02d} h {minutes:02d} min"
    return f"−{text}" if delta < dt.timedelta(0) else text


def format_percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} %"
