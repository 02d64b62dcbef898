"""The DPO and CNIL-liaison dashboards, their downloads and their URLs (included from notifier/urls.py).

Staff only, through the OTP admin login (`admin.site.admin_view`: anonymous or unverified → the admin
login page). Who sees what is decided by `labs.access` alone: a DPO's pages are cut to their laboratories
by `scope_queryset`; the CNIL page shows every laboratory but only counts, every count under ten masked.
Every download is written to the audit trail. Charts are server-rendered SVG (no script, strict CSP).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from import_export import fields, resources
from import_export.formats import base_formats

from labs import access
from labs.audit import AuditEvent, audit_record
from labs.deadlines import format_paris, format_time_left, in_paris, time_left
from labs.models import BreachLaboratory

from . import stats
from .models import Campaign, DeliveryEvent, Notification
from .resources import CallCentreResource
from .selectors import unreachable_patients

Status = Notification.Status
STATUS_ORDER = [
    Status.DELIVERED, Status.SENT, Status.SENDING, Status.QUEUED, Status.PENDING,
    Status.BOUNCED, Status.RETURNED, Status.FAILED, Status.UNREACHABLE, Status.CANCELLED,
]  # fmt: skip
STATUS_LABELS = dict(Status.choices)
CHANNEL_LABELS = dict(Notification.Channel.choices)
FORMATS = {"csv": base_formats.CSV, "xlsx": base_formats.XLSX}


# --- who may look ------------------------------------------------------------------------------------------


def _require_dpo_view(user: Any) -> None:
    # Person-level rows are behind these pages (downloads): the same permission as the patient admin.
    if not user.has_perm("labs.read_patient_data"):
        raise PermissionDenied("Tableau de bord réservé aux DPO et opérateurs des laboratoires.")


def _require_cnil_view(user: Any) -> None:
    if not (access.is_cnil_liaison(user) or access.is_active_superuser(user)):
        raise PermissionDenied("Tableau de bord réservé à la liaison CNIL.")


# --- formatting --------------------------------------------------------------------------------------------


def format_duration(delta: dt.timedelta | None) -> str:
    if delta is None:
        return "—"
    minutes = int(abs(delta).total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    text = (f"{days} j " if days else "") + f"{hours:02d} h {minutes:02d} min"
    return f"−{text}" if delta < dt.timedelta(0) else text


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} %"


# --- SVG charts (server-rendered: no script, colours from the static stylesheet) -----------------------------


def status_chart(s: stats.CampaignStats, *, chart_id: str) -> SafeString:
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


def progress_chart(s: stats.CampaignStats, *, chart_id: str) -> SafeString:
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
        pct=_pct(100.0 * last_total / s.to_send), l=left, r=width - right, t=top, b=top + plot_h,
        y90=f"{y90:.1f}", y90t=f"{y90 + 16:.1f}", l90=left + 6, lt=left - 6, tt=top + 5, bt=top + plot_h + 22,
        start=in_paris(start).strftime(fmt), end=in_paris(end).strftime(fmt), line=line,
    )  # fmt: skip


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
        "progress_pct": _pct(s.progress_pct),
    }


def dpo_dashboard(request: HttpRequest) -> HttpResponse:
    """Per case file (breach × own laboratory): the CNIL deadline and filings, then each campaign's numbers."""
    _require_dpo_view(request.user)
    now = timezone.now()
    user = request.user
    case_files = list(
        access.scope_queryset(BreachLaboratory.objects.all(), user, "laboratory")
        .select_related("breach", "laboratory")
        .prefetch_related("filings")
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
            "filing_state": stats.filing_state(cf, now=now),
            "due_at": format_paris(cf.due_at), "time_left": format_time_left(time_left(cf.due_at, now=now)),
            "filings": [
                {"filing": f, "submitted_at": format_paris(f.submitted_at)} for f in cf.filings.all()
            ],
        }  # fmt: skip
    for campaign in campaigns:
        key = (campaign.breach_id, campaign.laboratory_id)
        section = sections.setdefault(
            key, {"breach": campaign.breach, "laboratory": campaign.laboratory, "case_file": None, "campaigns": []}
        )
        aware_at = section["case_file"].aware_at if section["case_file"] else campaign.breach.aware_at
        section["campaigns"].append(_campaign_view(campaign_numbers[campaign.pk], aware_at))
    for key, section in sections.items():
        section["patients"] = patients.get(key, 0)
        if section.get("filing_state"):
            section["filing_label"] = stats.FilingState.LABELS[section["filing_state"]]
    return render(
        request,
        "dashboards/dpo.html",
        {"sections": list(sections.values()), "now": format_paris(now), "title": "Tableau de bord du DPO"},
    )


def _scoped_campaign(request: HttpRequest, pk: int) -> Campaign:
    _require_dpo_view(request.user)
    scoped = access.scope_queryset(Campaign.objects.select_related("laboratory", "breach"), request.user, "laboratory")
    return get_object_or_404(scoped, pk=pk)


# Spreadsheet formula injection: a cell starting with = + - @ is prefixed with ' unless it is a plain
# number or phone number (E.164 "+336…" must stay readable for the call centre).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?[\d .]+$")


def _escape_formulae(dataset: Any) -> Any:
    rows = []
    for row in dataset:
        rows.append(
            [
                f"'{cell}"
                if isinstance(cell, str) and cell.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(cell)
                else cell
                for cell in row
            ]
        )
    headers = dataset.headers
    dataset.wipe()
    dataset.headers = headers
    for row in rows:
        dataset.append(row)
    return dataset


class DeliveryReportResource(resources.ModelResource):
    """The delivery report: one line per notification, by reference (no name: the reference identifies it)."""

    reference = fields.Field(attribute="reference", column_name="référence")
    channel = fields.Field(attribute="channel", column_name="canal")
    status = fields.Field(attribute="status", column_name="état")
    is_fallback = fields.Field(attribute="is_fallback", column_name="envoi de repli")
    attempts = fields.Field(attribute="attempts", column_name="tentatives")
    sent_at = fields.Field(attribute="sent_at", column_name="envoyée le")
    final_at = fields.Field(attribute="final_at", column_name="état final le")
    acknowledged = fields.Field(attribute="acknowledged", column_name="lu par le patient")
    last_error = fields.Field(attribute="last_error", column_name="motif")

    class Meta:
        model = Notification
        fields = (
            "reference", "channel", "status", "is_fallback", "attempts", "sent_at", "final_at", "acknowledged",
            "last_error",
        )  # fmt: skip
        export_order = fields

    def dehydrate_channel(self, obj: Notification) -> str:
        return obj.get_channel_display()

    def dehydrate_status(self, obj: Notification) -> str:
        return obj.get_status_display()

    def dehydrate_is_fallback(self, obj: Notification) -> str:
        return "oui" if obj.is_fallback else "non"

    def dehydrate_acknowledged(self, obj: Notification) -> str:
        return "oui" if getattr(obj, "acknowledged", False) else "non"

    def dehydrate_sent_at(self, obj: Notification) -> str:
        return format_paris(obj.sent_at)

    def dehydrate_final_at(self, obj: Notification) -> str:
        return format_paris(obj.final_at)


def _download(request: HttpRequest, campaign: Campaign, *, kind: str, fmt: str, queryset: Any, resource: Any):
    if fmt not in FORMATS:
        raise Http404("Format inconnu / unknown format")
    dataset = _escape_formulae(resource.export(queryset))
    rows = len(dataset)
    audit_record(
        actor=request.user, action=AuditEvent.Action.EXPORT, obj=campaign, request=request,
        export=kind, format=fmt, rows=rows, via="dashboard",
    )  # fmt: skip
    file_format = FORMATS[fmt]()
    content = file_format.export_data(dataset)
    response = HttpResponse(content, content_type=file_format.get_content_type())
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{kind}-campagne{campaign.pk}-{stamp}.{fmt}"'
    return response


def delivery_report(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    campaign = _scoped_campaign(request, pk)
    acked = DeliveryEvent.objects.filter(
        notification=OuterRef("pk"), source=DeliveryEvent.Source.STATUS_PAGE, event_type=stats.ACK_EVENT_TYPE
    )
    queryset = Notification.objects.filter(campaign=campaign).annotate(acknowledged=Exists(acked)).order_by("pk")
    return _download(
        request, campaign, kind="rapport-envois", fmt=fmt, queryset=queryset, resource=DeliveryReportResource()
    )


def unreachable_list(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The call-centre list, with the campaign engine's own resource (notifier/resources.py)."""
    campaign = _scoped_campaign(request, pk)
    queryset = unreachable_patients(campaign=campaign)
    return _download(request, campaign, kind="injoignables", fmt=fmt, queryset=queryset, resource=CallCentreResource())


# --- CNIL liaison dashboard ----------------------------------------------------------------------------------

CNIL_COLUMNS = [  # (sort key, header, is a number)
    ("laboratoire", "Laboratoire", False),
    ("patients", "Patients concernés", True),
    ("risque", "Risque élevé", False),
    ("initiale", "Notification initiale", False),
    ("echeance", "Échéance (72 h)", False),
    ("complementaires", "Notif. complémentaires", True),
    ("progression", "Progression campagne", True),
    ("distribuees", "Distribuées", True),
    ("retours", "Retours NPAI", True),
    ("injoignables", "Injoignables", True),
    ("communication", "Comm. publique", False),
]
HIGH_RISK_SHORT = {"yes": "oui", "no": "non", "undecided": "non décidé"}


def _cnil_cells(row: stats.CnilRow) -> dict[str, str]:
    """What the liaison sees of one row (the page and the CSV show the same strings)."""
    cf = row.case_file
    return {
        "breach": cf.breach.title,
        "laboratory_code": row.laboratory.code,
        "laboratory_name": row.laboratory.name,
        "patients": stats.masked(row.patients),
        "high_risk": HIGH_RISK_SHORT.get(cf.high_risk, cf.high_risk),
        "filing": stats.FilingState.LABELS[row.filing_state],
        "due_at": format_paris(cf.due_at),
        "complementary": str(row.complementary_filings),
        "progress": _pct(row.progress_pct) if row.progress_pct is not None else f"{stats.MASKED} envois",
        "delivered": stats.masked(row.delivered),
        "returned": stats.masked(row.returned),
        "unreachable": stats.masked(row.unreachable_patients),
        "public_notice": "oui" if row.public_notice else "non",
    }


def _summary_cells(s: stats.BreachSummary) -> dict[str, Any]:
    return {
        "breach": s.breach,
        "laboratories": s.laboratories,
        "patients": s.shown("patients"),
        "high_risk_yes": s.high_risk_yes,
        "states": s.state_list,
        "complementary": s.complementary_filings,
        "progress": _pct(s.progress_pct) if s.progress_pct is not None else f"{stats.MASKED} envois",
        "delivered": s.shown("delivered"),
        "returned": s.shown("returned"),
        "unreachable": s.shown("unreachable_patients"),
        "public_notices": s.public_notices,
    }


def cnil_dashboard(request: HttpRequest) -> HttpResponse:
    """Laboratories × indicators, sortable (links, no script), the deadline state in words and colour."""
    _require_cnil_view(request.user)
    now = timezone.now()
    sort = request.GET.get("tri", "echeance")
    if sort not in stats.CNIL_SORT_KEYS:
        sort = "echeance"
    descending = request.GET.get("ordre") == "desc"
    counts = stats.cnil_counts_cached()
    rows = stats.cnil_rows(now=now, counts=counts)
    summaries = [_summary_cells(s) for s in stats.breach_summaries(rows)]
    ordered = stats.cnil_rows_sorted(rows, key=sort, descending=descending)
    columns = [
        {
            "key": key, "label": label, "current": key == sort, "numeric": numeric,
            "aria_sort": ("descending" if descending else "ascending") if key == sort else "",
            "next": "asc" if key == sort and descending else ("desc" if key == sort else "asc"),
        }
        for key, label, numeric in CNIL_COLUMNS
    ]  # fmt: skip
    table = [{"row": row, "state": row.filing_state, "cells": _cnil_cells(row)} for row in ordered]
    return render(
        request,
        "dashboards/cnil.html",
        {
            "title": "Tableau de bord de la liaison CNIL",
            "columns": columns,
            "table": table,
            "summaries": summaries,
            "several_breaches": len(summaries) > 1,
            "now": format_paris(now),
            "counts_at": format_paris(counts.computed_at),
            "counts_max_age": stats.CNIL_COUNTS_MAX_AGE,
            "mask": stats.MASKED,
            "sort": sort,
            "order": "desc" if descending else "asc",
        },
    )


CNIL_CSV_HEADER = [
    "violation", "code laboratoire", "laboratoire", "patients concernés", "risque élevé", "notification initiale",
    "échéance", "notifications complémentaires", "progression de la campagne", "distribuées", "retours NPAI",
    "patients injoignables", "communication publique",
]  # fmt: skip


def cnil_export(request: HttpRequest) -> HttpResponse:
    """The liaison's table as CSV: the same masked strings as the page, never a person."""
    _require_cnil_view(request.user)
    rows = stats.cnil_rows(counts=stats.cnil_counts_cached())
    rows = stats.cnil_rows_sorted(rows, key="laboratoire", descending=False)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CNIL_CSV_HEADER)
    for row in rows:
        cells = _cnil_cells(row)
        writer.writerow(
            [
                cells[k]
                for k in (
                    "breach",
                    "laboratory_code",
                    "laboratory_name",
                    "patients",
                    "high_risk",
                    "filing",
                    "due_at",
                    "complementary",
                    "progress",
                    "delivered",
                    "returned",
                    "unreachable",
                    "public_notice",
                )  # fmt: skip
            ]
        )
    audit_record(
        actor=request.user, action=AuditEvent.Action.EXPORT, request=request, object_type="dashboards.cnil",
        export="cnil-tableau", format="csv", rows=len(rows), via="dashboard",
    )  # fmt: skip
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="cnil-laboratoires-{stamp}.csv"'
    return response


# --- URLs (included from notifier/urls.py) ---------------------------------------------------------------

app_name = "dashboards"
_staff = admin.site.admin_view
urlpatterns = [
    path("tableau-de-bord/", _staff(dpo_dashboard), name="dpo"),
    path("tableau-de-bord/campagne/<int:pk>/rapport.<str:fmt>", _staff(delivery_report), name="delivery_report"),
    path("tableau-de-bord/campagne/<int:pk>/injoignables.<str:fmt>", _staff(unreachable_list), name="unreachable"),
    path("cnil/", _staff(cnil_dashboard), name="cnil"),
    path("cnil/laboratoires.csv", _staff(cnil_export), name="cnil_export"),
]
