"""The DPO and CNIL-liaison dashboards and their downloads (routes in dashboards/urls.py).

Staff only, through the OTP admin login (`admin.site.admin_view`: anonymous or unverified → the admin
login page). Who sees what is decided by `labs.access` alone: a DPO's pages are cut to their laboratories
by `scope_queryset`; the CNIL page shows every laboratory but only counts, every count under ten masked.
Every download is written to the audit trail. Charts are server-rendered SVG (no script, strict CSP).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from labs import access
from labs.alerts import security_alerts_recent
from labs.audit import AuditEvent, audit_record
from labs.deadlines import format_paris, format_time_left, time_left
from labs.filing_states import filing_state
from labs.models import BreachLaboratory
from labs.obligation_states import OBLIGATION_STATE_URGENCY, clock_text, next_clock, obligation_clocks, obligation_state
from labs.obligations import regime_label, regime_short
from notifier.models import Campaign, Notification
from notifier.resources import call_centre_dataset

from . import cnil, cnil_charts, exports, stats, urgency
from .charts import CHANNEL_LABELS, STATUS_LABELS, STATUS_ORDER, progress_chart, status_chart
from .formatting import format_duration, format_percent
from .masking import MASKED

# --- who may look: each page's line of labs.access.VIEW_TABLE -----------------------------------------------


def _require_dpo_view(user: Any, url_name: str) -> None:
    # Person-level rows are behind these pages (downloads): the same permission as the patient admin.
    access.require(
        user, access.view_permission(url_name), "Tableau de bord réservé aux DPO et opérateurs des laboratoires."
    )


def _require_cnil_view(user: Any, url_name: str) -> None:
    access.require(user, access.view_permission(url_name), "Tableau de bord réservé à la liaison CNIL.")


def _security_alerts(now: dt.datetime) -> list[dict[str, str]]:
    # The status page's failure budget spent within the hour (labs/alerts.py): staff see it here too.
    return [{"at": format_paris(alert.at), "message": alert.message} for alert in security_alerts_recent(now=now)]


# --- DPO dashboard ------------------------------------------------------------------------------------------


def _campaign_view(s: stats.CampaignStats, aware_at: dt.datetime) -> dict[str, Any]:
    statuses = [st for st in STATUS_ORDER if any(s.by_channel.get(c, {}).get(st) for c in s.by_channel)]
    table = [
        (CHANNEL_LABELS[c], [s.by_channel[c].get(st, 0) for st in statuses], sum(s.by_channel[c].values()))
        for c in Notification.Channel.values
        if s.by_channel.get(c)
    ]
    chart_id = f"c{s.campaign.pk}"
    return {
        "stats": s,
        "campaign": s.campaign,
        "status_columns": [(st, STATUS_LABELS[st]) for st in statuses],
        "status_table": table,
        "status_chart": status_chart(s, chart_id=f"{chart_id}-status"),
        "progress_chart": progress_chart(s, chart_id=f"{chart_id}-progress"),
        "legend": [(st, STATUS_LABELS[st]) for st in statuses],
        "first_notice_after": format_duration(s.first_sent_at - aware_at) if s.first_sent_at else None,
        "ninety_after": format_duration(s.ninety_sent_at - aware_at) if s.ninety_sent_at else None,
        "first_sent_at": format_paris(s.first_sent_at),
        "ninety_sent_at": format_paris(s.ninety_sent_at),
        "progress_pct": format_percent(s.progress_pct),
    }


def _obligations_view(case_file: BreachLaboratory, *, now: dt.datetime) -> list[dict[str, Any]]:
    """Each obligation of the case file with its state and the clock of its next step, most urgent first."""
    rows = []
    for obligation in case_file.obligations.all():
        clocks = obligation_clocks(obligation)
        state = obligation_state(obligation, now=now, clocks=clocks)
        rows.append({
            "obligation": obligation, "short": regime_short(obligation.regime), "label": regime_label(obligation.regime),
            "state": state, "clock": clock_text(next_clock(clocks), now=now),
        })  # fmt: skip
    return sorted(rows, key=lambda row: (OBLIGATION_STATE_URGENCY[row["state"]], row["short"]))


def dpo_dashboard(request: HttpRequest) -> HttpResponse:
    """Per case file (breach × own laboratory), most urgent first: the CNIL deadline, the filings, what is
    still to complete, then each campaign's numbers."""
    _require_dpo_view(request.user, "dashboards:dpo")
    now = timezone.now()
    user = request.user
    case_files = list(
        access.scope_queryset(BreachLaboratory.objects.all(), user, "laboratory")
        .select_related("breach", "laboratory")
        # measures: the missing-items check, without a query each; obligations with their filings: the clocks
        .prefetch_related("filings", "measures", "obligations__filings")
        .order_by("breach__aware_at", "laboratory__code")
    )
    campaigns = list(
        access.scope_queryset(Campaign.objects.all(), user, "laboratory")
        .select_related("breach", "laboratory")
        .order_by("created_at")
    )
    lab_ids = access.laboratories_for(user).values("pk")
    patients = stats.patients_per_case(laboratory_ids=lab_ids)
    campaign_numbers = stats.campaign_stats(campaigns=campaigns)

    sections: dict[tuple[int, int], dict[str, Any]] = {}
    for cf in case_files:
        sections[(cf.breach_id, cf.laboratory_id)] = {
            "breach": cf.breach, "laboratory": cf.laboratory, "case_file": cf, "campaigns": [],
            "filing_state": filing_state(cf, now=now),
            "due_at": format_paris(cf.due_at), "time_left": format_time_left(time_left(cf.due_at, now=now)),
            "filings": [
                {"filing": f, "submitted_at": format_paris(f.submitted_at)} for f in cf.filings.all()
            ],
            "to_complete": urgency.case_file_to_complete(cf),
            "obligations": _obligations_view(cf, now=now),
        }  # fmt: skip
    for campaign in campaigns:
        key = (campaign.breach_id, campaign.laboratory_id)
        section = sections.setdefault(
            key,
            {"breach": campaign.breach, "laboratory": campaign.laboratory, "case_file": None, "campaigns": [],
             "to_complete": []},
        )  # fmt: skip
        aware_at = section["case_file"].aware_at if section["case_file"] else campaign.breach.aware_at
        section["campaigns"].append(_campaign_view(campaign_numbers[campaign.pk], aware_at))
    for key, section in sections.items():
        section["patients"] = patients.get(key, 0)
        if section.get("filing_state"):
            section["filing_label"] = section["filing_state"].label
        section.update(urgency.urgency_view(section["case_file"], now=now))
    ordered = sorted(
        sections.values(),
        key=lambda s: urgency.urgency_sort_key(s["case_file"], s["laboratory"].code, now=now),
    )
    return render(
        request,
        "dashboards/dpo.html",
        {
            "sections": ordered,
            "urgency_rows": ordered,  # the to-do table at the top: one row per section, same order
            "now": format_paris(now),
            "title": "Tableau de bord du DPO",
            "security_alerts": _security_alerts(now),
        },
    )


def _scoped_campaign(request: HttpRequest, pk: int, url_name: str) -> Campaign:
    _require_dpo_view(request.user, url_name)
    scoped = access.scope_queryset(Campaign.objects.select_related("laboratory", "breach"), request.user, "laboratory")
    return get_object_or_404(scoped, pk=pk)


def delivery_report(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    campaign = _scoped_campaign(request, pk, "dashboards:delivery_report")
    dataset = exports.delivery_report_dataset(campaign=campaign)
    return exports.download_response(request, campaign, kind="rapport-envois", fmt=fmt, dataset=dataset)


def unreachable_list(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    campaign = _scoped_campaign(request, pk, "dashboards:unreachable")
    dataset = call_centre_dataset(campaigns=[campaign])
    return exports.download_response(request, campaign, kind="injoignables", fmt=fmt, dataset=dataset)


# --- CNIL liaison dashboard ----------------------------------------------------------------------------------


def cnil_dashboard(request: HttpRequest) -> HttpResponse:
    """Laboratories × indicators, sortable (links, no script), the deadline state in words and colour."""
    _require_cnil_view(request.user, "dashboards:cnil")
    now = timezone.now()
    sort = request.GET.get("tri", "echeance")
    if sort not in cnil.CNIL_SORT_KEYS:
        sort = "echeance"
    descending = request.GET.get("ordre") == "desc"
    counts = cnil.cnil_counts_cached()
    rows = cnil.cnil_rows(now=now, counts=counts)
    summaries = []
    for summary in cnil.breach_summaries(rows):
        cells = cnil.summary_cells(summary)
        # The charts read by laboratory code, whatever the table's sort: a fixed place for each laboratory.
        of_breach = sorted(
            (r for r in rows if r.case_file.breach_id == summary.breach.pk), key=lambda r: r.laboratory.code
        )
        chart_id = f"b{summary.breach.pk}"
        cells["delay_chart"] = cnil_charts.filing_delay_chart(of_breach, chart_id=f"{chart_id}-delay")
        cells["progress_chart"] = cnil_charts.campaign_progress_chart(of_breach, chart_id=f"{chart_id}-progress")
        summaries.append(cells)
    ordered = cnil.cnil_rows_sorted(rows, key=sort, descending=descending)
    columns = [
        {
            "key": key, "label": label, "current": key == sort, "numeric": numeric,
            "aria_sort": ("descending" if descending else "ascending") if key == sort else "",
            "next": "asc" if key == sort and descending else ("desc" if key == sort else "asc"),
        }
        for key, label, numeric in cnil.CNIL_COLUMNS
    ]  # fmt: skip
    table = [{"row": row, "state": row.filing_state, "cells": cnil.cnil_cells(row)} for row in ordered]
    for item in table:
        # « 12 % » and « (31 / 258) » on two lines at most, never broken inside either (narrow columns)
        item["rates"] = [item["cells"][name].partition(" (") for name in ("returned_rate", "unreachable_rate")]
    return render(
        request,
        "dashboards/cnil.html",
        {
            "title": "Tableau de bord de la liaison CNIL",
            "columns": columns,
            "table": table,
            "publications": cnil.public_communication_rows(ordered),
            "summaries": summaries,
            "several_breaches": len(summaries) > 1,
            "now": format_paris(now),
            "security_alerts": _security_alerts(now),
            "counts_at": format_paris(counts.computed_at),
            "counts_max_age": cnil.CNIL_COUNTS_MAX_AGE,
            "mask": MASKED,
            "sort": sort,
            "order": "desc" if descending else "asc",
        },
    )


def cnil_export(request: HttpRequest) -> HttpResponse:
    """The liaison's table as CSV: the same masked strings as the page, never a person."""
    _require_cnil_view(request.user, "dashboards:cnil_export")
    rows = cnil.cnil_rows(counts=cnil.cnil_counts_cached())
    rows = cnil.cnil_rows_sorted(rows, key="laboratoire", descending=False)
    content = exports.cnil_csv(rows)
    audit_record(
        actor=request.user, action=AuditEvent.Action.EXPORT, request=request, object_type="dashboards.cnil",
        export="cnil-tableau", format="csv", rows=len(rows), via="dashboard",
    )  # fmt: skip
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="cnil-laboratoires-{stamp}.csv"'
    return response
