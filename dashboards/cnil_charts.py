"""The CNIL liaison's charts, drawn as SVG on the server (no script, no inline style: strict CSP).

They draw only what the table beside them shows (hours to the first filing, campaign progress), never a
masked count; each carries its figures in its <title> for screen readers, and the table holds them too.
"""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from labs.filing_states import FilingState

from .cnil import NO_CAMPAIGN, CnilRow, cnil_cells, hours_to_filing_text
from .masking import grouped

WIDTH, LABEL_W, VALUE_W, BAR_H, GAP, TOP, BOTTOM = 760, 250, 190, 18, 8, 8, 30
PLOT_W = WIDTH - LABEL_W - VALUE_W
NAME_MAX = 30


def _f(value: float) -> str:
    return f"{value:.1f}"


def _name(row: CnilRow) -> str:
    name = row.laboratory.name
    return name if len(name) <= NAME_MAX else name[: NAME_MAX - 1] + "…"


def _frame(chart_id: str, title: str, rows: list[CnilRow], body: SafeString, axis: SafeString) -> SafeString:
    height = TOP + len(rows) * (BAR_H + GAP) + BOTTOM
    labels = format_html_join(
        "",
        '<text class="axis" x="0" y="{}">{}</text>',
        ((f"{TOP + i * (BAR_H + GAP) + BAR_H * 0.78:.1f}", _name(row)) for i, row in enumerate(rows)),
    )
    return format_html(
        '<svg class="chart chart-bars" viewBox="0 0 {} {}" role="img" aria-labelledby="{}-t">'
        '<title id="{}-t">{}</title>{}{}{}</svg>',
        WIDTH, height, chart_id, chart_id, title, labels, body, axis,
    )  # fmt: skip


def filing_delay_chart(rows: list[CnilRow], *, chart_id: str) -> SafeString:
    """Hours from awareness to the initial filing per laboratory, against the 72-hour line; a laboratory
    that has not filed yet gets an outlined bar of the hours elapsed so far."""
    if not rows:
        return mark_safe("")  # noqa: S308 (constant)
    deadline = 72
    values = [r.hours_to_first_filing if r.hours_to_first_filing is not None else r.hours_since_awareness for r in rows]
    # A week fits what matters (the 72 h line and a few days past it); longer bars are cut with their value.
    scale = 96 if max(values) <= 96 else 168
    parts = []
    for i, (row, hours) in enumerate(zip(rows, values, strict=True)):
        y = TOP + i * (BAR_H + GAP)
        text = hours_to_filing_text(row)
        if row.filing_state == FilingState.NOT_REQUIRED and row.hours_to_first_filing is None:
            parts.append(
                format_html('<text class="value" x="{}" y="{}">{}</text>', LABEL_W, _f(y + BAR_H * 0.78), text)
            )
            continue
        kind = "filed" if row.hours_to_first_filing is not None else "waiting"
        label = text if kind == "filed" else f"non déposée, {grouped(hours)} h"  # the short form beside the bar
        width = PLOT_W * min(hours, scale) / scale
        parts.append(
            format_html(
                '<rect class="bar bar-{} bar-{}" x="{}" y="{}" width="{}" height="{}"><title>{} : {}</title></rect>'
                '<text class="value" x="{}" y="{}">{}{}</text>',
                kind,
                row.filing_state,
                LABEL_W,
                y,
                _f(max(width, 1.0)),
                BAR_H,
                row.laboratory.name,
                text,
                _f(LABEL_W + width + 6),
                _f(y + BAR_H * 0.78),
                "▸ " if hours > scale else "",
                label,
            )  # fmt: skip
        )
    bottom = TOP + len(rows) * (BAR_H + GAP)
    x72 = LABEL_W + PLOT_W * deadline / scale
    axis = format_html(
        '<line class="target" x1="{x}" y1="{t}" x2="{x}" y2="{b}"/>'
        '<text class="axis" x="{x}" y="{bt}" text-anchor="middle">72 h</text>'
        '<line class="axis-line" x1="{l}" y1="{b}" x2="{r}" y2="{b}"/>'
        '<text class="axis" x="{l}" y="{bt}">0 h</text>'
        '<text class="axis" x="{r}" y="{bt}" text-anchor="end">{scale} h</text>',
        x=_f(x72), t=TOP - 4, b=bottom, bt=bottom + 20, l=LABEL_W, r=LABEL_W + PLOT_W, scale=scale,
    )  # fmt: skip
    summary = "; ".join(
        f"{row.laboratory.name} : {hours_to_filing_text(row)} ({FilingState(row.filing_state).label})" for row in rows
    )
    title = f"Heures entre la connaissance et la notification initiale, par laboratoire (échéance 72 h) — {summary}"
    return _frame(chart_id, title, rows, mark_safe("".join(parts)), axis)  # noqa: S308 (parts are escaped)


def campaign_progress_chart(rows: list[CnilRow], *, chart_id: str) -> SafeString:
    """Each laboratory's campaign progress (0–100 %), or why there is none to draw."""
    if not rows:
        return mark_safe("")  # noqa: S308 (constant)
    parts = []
    for i, row in enumerate(rows):
        y = TOP + i * (BAR_H + GAP)
        shown = cnil_cells(row)["progress"]
        parts.append(
            format_html('<rect class="track" x="{}" y="{}" width="{}" height="{}"/>', LABEL_W, y, PLOT_W, BAR_H)
        )
        if row.campaigns and row.progress_pct is not None:
            width = PLOT_W * row.progress_pct / 100
            parts.append(
                format_html(
                    '<rect class="bar bar-progress" x="{}" y="{}" width="{}" height="{}"><title>{} : {}</title></rect>',
                    LABEL_W,
                    y,
                    _f(width),
                    BAR_H,
                    row.laboratory.name,
                    shown,
                )  # fmt: skip
            )
        css = "value muted" if shown == NO_CAMPAIGN or row.progress_pct is None else "value"
        parts.append(
            format_html(
                '<text class="{}" x="{}" y="{}">{}</text>', css, LABEL_W + PLOT_W + 6, _f(y + BAR_H * 0.78), shown
            )
        )
    bottom = TOP + len(rows) * (BAR_H + GAP)
    axis = format_html(
        '<line class="axis-line" x1="{l}" y1="{b}" x2="{r}" y2="{b}"/>'
        '<text class="axis" x="{l}" y="{bt}">0 %</text>'
        '<text class="axis" x="{r}" y="{bt}" text-anchor="end">100 %</text>',
        l=LABEL_W, r=LABEL_W + PLOT_W, b=bottom, bt=bottom + 20,
    )  # fmt: skip
    summary = "; ".join(f"{row.laboratory.name} : {cnil_cells(row)['progress']}" for row in rows)
    title = f"Progression des campagnes d'information, par laboratoire — {summary}"
    return _frame(chart_id, title, rows, mark_safe("".join(parts)), axis)  # noqa: S308 (parts are escaped)
