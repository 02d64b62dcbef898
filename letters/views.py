"""Staff-only letter preview: before approving a campaign, the DPO reads the letter (and the email) of
sample patients — one per combination of exposure categories, a minor, French and English.

Mounted under the OTP-protected admin (`admin.site.admin_view`), scoped to the user's laboratories, and
every PDF shown is written to the audit log. Sample letters carry a made-up code marked SPÉCIMEN.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from labs import access
from labs.audit import audit_record
from labs.models import Breach, Laboratory
from patients.models import Patient

from . import wording
from .content import letter_data_for
from .emails import LETTER_ALSO, WORDING_LABELS, WORDINGS, RenderedEmail, render_notice_email
from .english import english_texts_missing
from .render import render_letter_pdf
from .selectors import addresses_that_cannot_fit, preview_samples
from .versions import LANGUAGES

SPECIMEN_CODE = "SPÉCIMEN-0000"
SPECIMEN_PHRASE = "spécimen sans valeur"
UNFIT_SHOWN = 200  # addresses listed on the page; the count is always the whole


def _visible(request: HttpRequest, breach_id: int, laboratory_id: int) -> tuple[Breach, Laboratory]:
    if not request.user.has_perm("labs.read_patient_data"):
        raise PermissionDenied("Aperçu réservé au DPO et aux opérateurs du laboratoire.")
    laboratory = get_object_or_404(access.laboratories_for(request.user), pk=laboratory_id)
    breach = get_object_or_404(Breach, pk=breach_id)
    return breach, laboratory


def _email_preview(laboratory: Laboratory, language: str, wording: str = LETTER_ALSO) -> RenderedEmail:
    return render_notice_email(
        language=language,
        status_code=SPECIMEN_CODE,
        verification_phrase=SPECIMEN_PHRASE,
        reference="SPÉCIMEN",
        lab_name=laboratory.name,
        dpo_name=laboratory.dpo_name,
        dpo_email=laboratory.dpo_email,
        dpo_phone=laboratory.dpo_phone,
        wording=wording,
    )


def preview(request: HttpRequest, breach_id: int, laboratory_id: int) -> HttpResponse:
    """The sample list for (breach, laboratory), with links to each sample's letter in both languages."""
    breach, laboratory = _visible(request, breach_id, laboratory_id)
    today = timezone.localdate()  # the sample letters' date, which decides who is a minor
    samples = [
        {
            "patient": patient,
            "minor": patient.minor_on(today),
            "categories": wording.exposure_labels(patient.exposure_mask, "fr", minor=patient.minor_on(today)),
        }
        for patient in preview_samples(breach=breach, laboratory=laboratory, on=today)
    ]
    # the three wordings of the notice email (letter also coming / email only / letter came back)
    emails = [
        {
            "language": language,
            "wording": WORDING_LABELS[wording],
            "email": _email_preview(laboratory, language, wording),
        }
        for language in LANGUAGES
        for wording in WORDINGS
    ]
    unfit = addresses_that_cannot_fit(breach=breach, laboratory=laboratory, on=today)
    audit_record(actor=request.user, action="letters.preview", obj=laboratory, request=request, breach=breach.pk)
    return render(
        request,
        "letters/preview.html",
        {
            **admin.site.each_context(request),  # the admin's header, menu and site title
            "title": f"Aperçu des lettres — {breach} — {laboratory.name}",
            "breach": breach,
            "laboratory": laboratory,
            "samples": samples,
            "languages": LANGUAGES,
            "emails": emails,
            "english_missing": english_texts_missing(breach, laboratory),
            "unfit_addresses": unfit[:UNFIT_SHOWN],
            "unfit_count": len(unfit),
            "unfit_shown": min(len(unfit), UNFIT_SHOWN),
        },
    )


def letter_pdf(
    request: HttpRequest, breach_id: int, laboratory_id: int, patient_id: int, language: str
) -> HttpResponse:
    """One sample patient's letter as a PDF marked SPÉCIMEN (made-up code and phrase)."""
    breach, laboratory = _visible(request, breach_id, laboratory_id)
    if language not in LANGUAGES:
        raise Http404("Langue inconnue.")
    patient = get_object_or_404(
        Patient.objects.select_related("laboratory", "breach"), pk=patient_id, breach=breach, laboratory=laboratory
    )
    letter = letter_data_for(
        patient=patient,
        reference=f"SPÉCIMEN-{patient.pk}",
        status_code=SPECIMEN_CODE,
        verification_phrase=SPECIMEN_PHRASE,
        language=language,
        sent_on=timezone.localdate(),
    )
    pdf = render_letter_pdf(letter, specimen=True)
    audit_record(actor=request.user, action="letters.preview_pdf", obj=patient, request=request, language=language)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="specimen-{patient.pk}-{language}.pdf"'
    return response
