"""The DPO dashboard's charts, drawn as SVG on the server: no script (strict CSP), colours from the stylesheet.

Each chart carries its numbers in its <title> for screen readers; the table beside it shows them too.
"""

from __future__ import annotations

import datetime as dt

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from labs.deadlines import in_paris
from notifier.models import Notification

from .formatting import format_percent
from .stats import CampaignStats

Status = Notification.Status
STATUS_ORDER = [
    Status.DELIVERED, Status.SENT, Status.SENDING, Status.QUEUED, Status.PENDING,
    Status.BOUNCED, Status.RETURNED, Status.FAILED, Status.UNREACHABLE, Status.CANCELLED,
]  # fmt: skip
STATUS_LABELS = dict(Status.choices)
CHANNEL_LABELS = dict(Notification.Channel.choices)


def status_chart(s: CampaignStats, *, chart_id: str) -> SafeString:
    """One stacked bar per channel, one segment per status; the table beside it carries the same numbers."""
    width, label_w, bar_h, gap = 640, 150, 28, 16
    channels = [c for c in Notification.Channel.values if s.by_channel.get(c)]
    if not channels:
        return mark_safe("")  # noqa: S308 (constant)
    height = gap + len(channels) * (bar_h + gap)
    parts: list[str] = []
    for i, channel in enumerate(channels):
        counts = s.by_channel[channel]
        total = sum(counts.values())
        y = gap + i * (bar_h + gap)
        parts.append(
            format_html(
                '<text class="axis" x="0" y="{}">{} ({})</text>', y + bar_h * 0.68, CHANNEL_LABELS[channel], total
            )
        )
        x = float(label_w)
        for status in STATUS_ORDER:
            n = counts.get(status, 0)
            if not n:
                continue
            w = (width - label_w) * n / total
            parts.append(
                format_html(
                    '<rect class="st-{}" x="{}" y="{}" width="{}" height="{}"><title>{} : {}</title></rect>',
                    status,
                    f"{x:.1f}",
                    y,
                    f"{w:.1f}",
                    bar_h,
                    STATUS_LABELS[status],
                    n,
                )  # fmt: skip
            )
            x += w
    summary = "; ".join(
        f"{CHANNEL_LABELS[c]} : "
        + ", ".join(f"{STATUS_LABELS[st]} {s.by_channel[c][st]}" for st in STATUS_ORDER if s.by_channel[c].get(st))
        for c in channels
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-t">'
        '<title id="{}-t">États des envois par canal — {}</title>{}</svg>',
        width, height, chart_id, chart_id, summary, mark_safe("".join(parts)),  # noqa: S308 (parts are escaped)
    )  # fmt: skip


def progress_chart(s: CampaignStats, *, chart_id: str) -> SafeString:
    """Cumulative notices sent over time against the notices to send, with the 90 % line."""
    if not s.progress or not s.to_send:
        return mark_safe("")  # noqa: S308 (constant)
    width, height, left, right, top, bottom = 640, 240, 56, 16, 16, 40
    unit = dt.timedelta(hours=1) if s.progress_unit == "hour" else dt.timedelta(days=1)
    start = s.progress[0][0]
    end = s.progress[-1][0] + unit
    span = (end - start).total_seconds() or 1.0
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(moment: dt.datetime) -> float:
        return left + plot_w * (moment - start).total_seconds() / span

    def py(count: float) -> float:
        return top + plot_h * (1 - min(count, s.to_send) / s.to_send)

    points = [(px(start), py(0))] + [(px(bucket + unit), py(total)) for bucket, total in s.progress]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    fmt = "%d/%m %Hh" if s.progress_unit == "hour" else "%d/%m"
    y90 = py(0.9 * s.to_send)
    last_total = s.progress[-1][1]
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}-t">'
        '<title id="{id}-t">Avis envoyés au fil du temps : {last} sur {total} ({pct}) au {end}</title>'
        '<line class="grid" x1="{l}" y1="{t}" x2="{r}" y2="{t}"/>'
        '<line class="axis-line" x1="{l}" y1="{b}" x2="{r}" y2="{b}"/>'
        '<line class="axis-line" x1="{l}" y1="{t}" x2="{l}" y2="{b}"/>'
        '<line class="target" x1="{l}" y1="{y90}" x2="{r}" y2="{y90}"/>'
        '<text class="axis" x="{l90}" y="{y90t}">90 %</text>'
        '<text class="axis" x="{lt}" y="{tt}" text-anchor="end">100 %</text>'
        '<text class="axis" x="{lt}" y="{b}" text-anchor="end">0 %</text>'
        '<text class="axis" x="{l}" y="{bt}">{start}</text>'
        '<text class="axis" x="{r}" y="{bt}" text-anchor="end">{end}</text>'
        '<polyline class="progress" points="{line}"/></svg>',
        w=width, h=height, id=chart_id, last=last_total, total=s.to_send,
        pct=format_percent(100.0 * last_total / s.to_send), l=left, r=width - right, t=top, b=top + plot_h,
        y90=f"{y90:.1f}", y90t=f"{y90 + 16:.1f}", l90=left + 6, lt=left - 6, tt=top + 5, bt=top + plot_h + 22,
        start=in_paris(start).strftime(fmt), end=in_paris(end).strftime(fmt), line=line,
    )  # fmt: skip
