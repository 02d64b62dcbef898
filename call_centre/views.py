"""The call-centre pages (routes in call_centre/urls.py), behind the admin's OTP login.

Who may look is `labs.access.VIEW_TABLE`; a kit is one of the user's laboratories' case files (another
laboratory's is 404, as everywhere).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from import_export.formats import base_formats

from labs import access
from labs.audit import AuditEvent, audit_record
from labs.models import Breach, BreachLaboratory, Laboratory
from notifier.models import Campaign
from notifier.resources import call_centre_download
from patients.models import Patient

from .forms import NoticeLookupForm
from .kit import LANGUAGES
from .lookup import FAILURE, notice_open_by_reference
from .pdf import kit_context, kit_pdf_render

REFUSED = "Pages réservées au centre d'appels et aux équipes des laboratoires."


def _laboratory_and_breach(request: HttpRequest, laboratory_id: int, breach_id: int) -> tuple[Laboratory, Breach]:
    """One of the user's laboratories and a breach that concerns it (a case file or leaked records); else 404."""
    laboratory = get_object_or_404(access.laboratories_for(request.user), pk=laboratory_id)
    concerns = Exists(BreachLaboratory.objects.filter(breach=OuterRef("pk"), laboratory=laboratory)) | Exists(
        Patient.objects.filter(breach=OuterRef("pk"), laboratory=laboratory)
    )
    return laboratory, get_object_or_404(Breach.objects.filter(concerns), pk=breach_id)


def _language(request: HttpRequest) -> str:
    language = request.GET.get("langue", "fr")
    if language not in LANGUAGES:
        raise Http404("Langue inconnue (fr ou en) / unknown language")
    return language


def _kit_context(request: HttpRequest, laboratory_id: int, breach_id: int) -> dict[str, Any]:
    laboratory, breach = _laboratory_and_breach(request, laboratory_id, breach_id)
    return kit_context(breach=breach, laboratory=laboratory, language=_language(request))


def kit_index(request: HttpRequest) -> HttpResponse:
    """The kits of the user's laboratories, one per case file (laboratory and breach)."""
    access.require(request.user, access.view_permission("call_centre:index"), REFUSED)
    case_files = access.scope_queryset(
        BreachLaboratory.objects.select_related("breach", "laboratory").order_by("laboratory__code", "breach_id"),
        request.user,
    )
    return render(request, "call_centre/index.html", {"title": "Centre d'appels", "case_files": case_files})


def kit_page(request: HttpRequest, laboratory_id: int, breach_id: int) -> HttpResponse:
    access.require(request.user, access.view_permission("call_centre:kit"), REFUSED)
    context = _kit_context(request, laboratory_id, breach_id)
    title = "FAQ et script d'appel" if context["kit"].language == "fr" else "FAQ and call script"
    may_download_list = access.may(request.user, access.view_permission("call_centre:call_list"))
    return render(request, "call_centre/kit.html", {**context, "title": title, "may_download_list": may_download_list})


def kit_pdf(request: HttpRequest, laboratory_id: int, breach_id: int) -> HttpResponse:
    access.require(request.user, access.view_permission("call_centre:kit_pdf"), REFUSED)
    context = _kit_context(request, laboratory_id, breach_id)
    pdf = kit_pdf_render(context)
    audit_record(
        actor=request.user, action=AuditEvent.Action.EXPORT, obj=context["breach"], laboratory=context["laboratory"],
        request=request,
        export="call_centre_kit", language=context["kit"].language, via="call_centre",
    )  # fmt: skip
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"kit-centre-appels-{context['laboratory'].code}-{context['kit'].language}.pdf"
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


CALL_LIST_FORMATS = {"csv": base_formats.CSV, "xlsx": base_formats.XLSX}


def call_list(request: HttpRequest, laboratory_id: int, breach_id: int, fmt: str) -> HttpResponse:
    """The outbound call list of the laboratory's campaigns for the breach: what the DPO hands the call centre.

    The same file as the campaign admin's export (one header, formula-safe, deceased excluded); the agents
    themselves never get a list (`labs.access`: patient data)."""
    access.require(request.user, access.view_permission("call_centre:call_list"), REFUSED)
    if fmt not in CALL_LIST_FORMATS:
        raise Http404("Format inconnu (csv ou xlsx)")
    laboratory, breach = _laboratory_and_breach(request, laboratory_id, breach_id)
    selected = Campaign.objects.filter(laboratory=laboratory, breach=breach).order_by("pk")
    return call_centre_download(request, selected, CALL_LIST_FORMATS[fmt]())


def notice_lookup(request: HttpRequest) -> HttpResponse:
    """One notice by the letter reference + the birth date the caller reads out: never a list, never a name."""
    access.require(request.user, access.view_permission("call_centre:notice"), REFUSED)
    form = NoticeLookupForm(request.POST or None)
    summary, failed = None, False
    if request.method == "POST" and form.is_valid():
        summary = notice_open_by_reference(
            reference=form.cleaned_data["reference"], birth_date=form.birth_date(), agent=request.user, request=request
        )
        failed = summary is None
    context = {"title": "Ouvrir un avis", "form": form, "summary": summary, "failure": FAILURE if failed else ""}
    return render(request, "call_centre/notice.html", context, status=200)
