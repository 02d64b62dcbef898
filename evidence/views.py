"""The evidence packs' page, its "prepare" button and the download (routes in evidence/urls.py).

One page per version: the DPO's (`evidence:dpo*`, their laboratories only, another laboratory's case file or
pack is 404) and the CNIL liaison's (`evidence:liaison*`, every laboratory, the version without patient-level
data only). Who may use each is `labs.access.VIEW_TABLE`; every request and download is in the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from labs import access
from labs.audit import AuditEvent, audit_record
from labs.deadlines import format_paris
from labs.models import BreachLaboratory

from .models import EvidencePack
from .services import EvidencePackFileError, evidence_pack_download_name, evidence_pack_open, evidence_pack_request

REFRESH_SECONDS = 3


@dataclass(frozen=True)
class Version:
    kind: str
    prefix: str  # URL names: "<prefix>", "<prefix>_build", "<prefix>_download"
    title: str
    refused: str
    nav: str


DPO = Version(EvidencePack.Kind.DPO, "evidence:dpo", "Dossiers de preuves", "Page réservée aux DPO des laboratoires.",
              "dashboards:dpo")  # fmt: skip
LIAISON = Version(EvidencePack.Kind.LIAISON, "evidence:liaison", "Dossiers de preuves (version CNIL)",
                  "Page réservée à la liaison CNIL.", "dashboards:cnil")  # fmt: skip


def _require(request: HttpRequest, version: Version, suffix: str = "") -> None:
    access.require(request.user, access.view_permission(version.prefix + suffix), version.refused)


def _case_files(request: HttpRequest) -> QuerySet[BreachLaboratory]:
    qs = BreachLaboratory.objects.select_related("breach", "laboratory").order_by(
        "breach__aware_at", "laboratory__code"
    )
    return access.scope_queryset(qs, request.user, "laboratory")


def _packs(request: HttpRequest, version: Version) -> QuerySet[EvidencePack]:
    qs = EvidencePack.objects.filter(kind=version.kind).select_related(
        "case_file__breach", "case_file__laboratory", "requested_by"
    )
    return access.scope_queryset(qs, request.user, EvidencePack.lab_path)


def _page(request: HttpRequest, version: Version) -> HttpResponse:
    _require(request, version)
    packs = list(_packs(request, version)[:50])
    rows = [
        {"pack": p, "created_at": format_paris(p.created_at), "finished_at": format_paris(p.finished_at),
         "size_kb": f"{(p.size or 0) / 1024:.0f}".replace(",", "\u202f")}
        for p in packs
    ]  # fmt: skip
    in_progress = any(p.status in (EvidencePack.Status.PENDING, EvidencePack.Status.BUILDING) for p in packs)
    return render(
        request,
        "evidence/index.html",
        {
            "title": version.title,
            "version": version,
            "liaison": version.kind == EvidencePack.Kind.LIAISON,
            "case_files": _case_files(request),
            "rows": rows,
            "refresh": REFRESH_SECONDS if in_progress else None,
            "build_url": f"{version.prefix}_build",
            "download_url": f"{version.prefix}_download",
        },
    )


def _build(request: HttpRequest, version: Version, laboratory_id: int, breach_id: int) -> HttpResponse:
    # Another laboratory's case file does not exist for this user (404, as everywhere), then the table (403),
    # then the method: a refused role gets 403 whatever the method.
    case_file = get_object_or_404(_case_files(request), laboratory_id=laboratory_id, breach_id=breach_id)
    _require(request, version, "_build")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"], "Utilisez le bouton « Préparer le dossier de preuves ».")
    pack = evidence_pack_request(case_file=case_file, kind=version.kind, by=request.user)
    messages.success(
        request, f"Dossier de preuves n°{pack.pk} demandé pour {case_file.laboratory.code} : il se prépare ci-dessous."
    )
    return redirect(reverse(version.prefix))


def _download(request: HttpRequest, version: Version, evidencepack_id: int) -> HttpResponse:
    pack = get_object_or_404(_packs(request, version), pk=evidencepack_id)  # out of scope: 404 before the table's 403
    _require(request, version, "_download")
    try:
        handle = evidence_pack_open(pack=pack)
    except EvidencePackFileError as error:
        messages.error(request, str(error))
        return redirect(reverse(version.prefix))
    audit_record(
        actor=request.user, action=AuditEvent.Action.EXPORT, obj=pack, laboratory=pack.case_file.laboratory,
        request=request, export="evidence_pack", version=pack.kind, sha256=pack.sha256, via="evidence",
    )  # fmt: skip
    return FileResponse(
        handle, as_attachment=True, filename=evidence_pack_download_name(pack), content_type="application/zip"
    )


def dpo_page(request: HttpRequest) -> HttpResponse:
    return _page(request, DPO)


def dpo_build(request: HttpRequest, laboratory_id: int, breach_id: int) -> HttpResponse:
    return _build(request, DPO, laboratory_id, breach_id)


def dpo_download(request: HttpRequest, evidencepack_id: int) -> HttpResponse:
    return _download(request, DPO, evidencepack_id)


def liaison_page(request: HttpRequest) -> HttpResponse:
    return _page(request, LIAISON)


def liaison_build(request: HttpRequest, laboratory_id: int, breach_id: int) -> HttpResponse:
    return _build(request, LIAISON, laboratory_id, breach_id)


def liaison_download(request: HttpRequest, evidencepack_id: int) -> HttpResponse:
    return _download(request, LIAISON, evidencepack_id)
