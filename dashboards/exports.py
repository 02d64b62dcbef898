"""The dashboards' downloads: the delivery report, the CNIL table as CSV, and the response every download goes
through (the call-centre list is the campaign engine's, `notifier.resources.call_centre_dataset`).

Every download is written to the audit trail (`download_response`); person-level files are cut to the
DPO's laboratories by the views before they reach here.
"""

from __future__ import annotations

import csv
import io

from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from import_export import fields, resources
from import_export.formats import base_formats
from tablib import Dataset

from labs.audit import AuditEvent, audit_record
from labs.deadlines import format_paris
from labs.exports import FormulaSafeResource, formula_safe
from notifier.models import Campaign, DeliveryEvent, Notification

from .cnil import CnilRow, cnil_cells
from .stats import ACK_EVENT_TYPE

FORMATS = {"csv": base_formats.CSV, "xlsx": base_formats.XLSX}


class DeliveryReportResource(FormulaSafeResource, resources.ModelResource):
    """The delivery report: one line per notification, by reference (no name: the reference identifies it).

    Formula-safe: the bounce reason (`motif`) is text written by a remote mail server."""

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


def delivery_report_dataset(*, campaign: Campaign) -> Dataset:
    """Every notification of the campaign, with whether the patient confirmed reading it on the status page."""
    acked = DeliveryEvent.objects.filter(
        notification=OuterRef("pk"), source=DeliveryEvent.Source.STATUS_PAGE, event_type=ACK_EVENT_TYPE
    )
    queryset = Notification.objects.filter(campaign=campaign).annotate(acknowledged=Exists(acked)).order_by("pk")
    return DeliveryReportResource().export(queryset)


def download_response(
    request: HttpRequest, campaign: Campaign, *, kind: str, fmt: str, dataset: Dataset
) -> HttpResponse:
    """The file in the asked format, the download written to the audit trail first."""
    if fmt not in FORMATS:
        raise Http404("Format inconnu / unknown format")
    audit_record(
        actor=request.user, action=AuditEvent.Action.EXPORT, obj=campaign, request=request,
        export=kind, format=fmt, rows=len(dataset), via="dashboard",
    )  # fmt: skip
    file_format = FORMATS[fmt]()
    response = HttpResponse(file_format.export_data(dataset), content_type=file_format.get_content_type())
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{kind}-campagne{campaign.pk}-{stamp}.{fmt}"'
    return response


CNIL_CSV_HEADER = [
    "violation", "code laboratoire", "laboratoire", "patients concernés", "risque élevé", "notification initiale",
    "échéance", "heures jusqu'à la première notification", "notifications complémentaires",
    "progression de la campagne", "distribuées", "retours NPAI", "retours NPAI (taux)", "patients injoignables",
    "patients injoignables (taux)", "décès signalés (retour courrier)", "communication publique",
]  # fmt: skip
CNIL_CSV_CELLS = (
    "breach", "laboratory_code", "laboratory_name", "patients", "high_risk", "filing", "due_at", "hours_to_filing",
    "complementary", "progress", "delivered", "returned", "returned_rate", "unreachable", "unreachable_rate",
    "deceased", "public_notice",
)  # fmt: skip


def cnil_csv(rows: list[CnilRow]) -> str:
    """The liaison's table as CSV: the same masked strings as the page, never a person; formula-safe (a
    laboratory's name and code come from the leaked file)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CNIL_CSV_HEADER)
    for row in rows:
        cells = cnil_cells(row)
        writer.writerow([formula_safe(cells[key]) for key in CNIL_CSV_CELLS])
    return buffer.getvalue()
