"""The public status page: /verifier/ (French) and /check/ (English).

Flow: a form (code + birth date) → on success the session is cycled and holds only ids, with a short
idle expiry → the notice page (categories exposed, personalised actions, letter download, "I have read
this"). Every failure renders the same form with the same message, status and headers.
"""

from __future__ import annotations

import functools

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_http_methods, require_POST

from labs.client_ip import client_ip
from letters.wording import exposure_labels
from notifier.models import Notification
from patients.categories import Exposure, Sensitive

from . import services
from .forms import CheckForm

SESSION_KEY = "status_notice"


def _in_language(view):
    """Render the view in the language of its URL (/verifier/ French, /check/ English), for this request only."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, lang: str, *args, **kwargs) -> HttpResponse:
        with translation.override(lang):
            response = view(request, lang, *args, **kwargs)
            response.headers.setdefault("Content-Language", lang)
            return response

    return wrapped


LANGUAGES = ("fr", "en")

# Sensitive categories are named only here, after both factors, on the patient's own page: a letter or an
# email can be opened by someone else, so neither ever names them.
SENSITIVE_LABELS = {
    "fr": {
        Sensitive.PREGNANCY: "une information concernant une grossesse",
        Sensitive.HIV: "une information concernant le VIH",
        Sensitive.CANCER: "une information concernant un cancer",
        Sensitive.DISABILITY: "une information concernant un handicap ou une déficience sensorielle",
        Sensitive.MENTAL_HEALTH: "une information concernant la santé mentale",
        Sensitive.GENETIC: "une information concernant une maladie génétique",
        Sensitive.ADDICTION: "une information concernant une addiction",
        Sensitive.OTHER_MEDICAL: "une autre remarque médicale (par exemple sur le prélèvement ou un traitement)",
    },
    "en": {
        Sensitive.PREGNANCY: "information about a pregnancy",
        Sensitive.HIV: "information about HIV",
        Sensitive.CANCER: "information about a cancer",
        Sensitive.DISABILITY: "information about a disability or a sensory impairment",
        Sensitive.MENTAL_HEALTH: "information about mental health",
        Sensitive.GENETIC: "information about a genetic condition",
        Sensitive.ADDICTION: "information about an addiction",
        Sensitive.OTHER_MEDICAL: "another medical remark (for example about the sample or a treatment)",
    },
}

STATUS_WORDS = {
    "fr": {
        "pending": "en préparation",
        "queued": "en préparation",
        "sending": "en cours d'envoi",
        "sent": "envoyé",
        "delivered": "distribué",
        "bounced": "non distribué",
        "returned": "revenu à l'expéditeur",
        "failed": "non envoyé",
        "unreachable": "impossible à envoyer (coordonnées inutilisables)",
        "cancelled": "annulé",
    },
    "en": {
        "pending": "being prepared",
        "queued": "being prepared",
        "sending": "being sent",
        "sent": "sent",
        "delivered": "delivered",
        "bounced": "not delivered",
        "returned": "returned to sender",
        "failed": "not sent",
        "unreachable": "could not be sent (unusable contact details)",
        "cancelled": "cancelled",
    },
}


def _url(name: str, lang: str) -> str:
    return reverse(f"status:{name}_{lang}")


def _notice_from_session(request: HttpRequest) -> services.Notice | None:
    data = request.session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    try:
        return services.Notice(campaign_id=int(data["campaign_id"]), patient_id=int(data["patient_id"]))
    except (KeyError, TypeError, ValueError):
        return None


@require_http_methods(["GET", "POST"])
@_in_language
def check(request: HttpRequest, lang: str) -> HttpResponse:
    form = CheckForm(request.POST if request.method == "POST" else None)
    failed = False
    if request.method == "POST":
        code = request.POST.get("code", "")[:64]
        birth_date = form.birth_date() if form.is_valid() else None
        notice = services.notice_verify(code=code, birth_date=birth_date, client_ip=client_ip(request) or "unknown")
        if notice is not None:
            request.session.cycle_key()
            request.session[SESSION_KEY] = {"campaign_id": notice.campaign_id, "patient_id": notice.patient_id}
            request.session.set_expiry(settings.STATUS_SESSION_IDLE_SECONDS)
            return redirect(_url("notice", lang))
        failed = True
        form = CheckForm()  # never echo back what was typed
    return render(
        request,
        f"status/{lang}/check.html",
        {"form": form, "failed": failed, "lang": lang, "other_url": _url("check", "en" if lang == "fr" else "fr")},
    )


def _require_notice(request: HttpRequest, lang: str) -> services.Notice | None:
    notice = _notice_from_session(request)
    if notice is not None:
        request.session.set_expiry(settings.STATUS_SESSION_IDLE_SECONDS)  # idle expiry slides with use
    return notice


@require_http_methods(["GET"])
@_in_language
def notice_page(request: HttpRequest, lang: str) -> HttpResponse:
    notice = _require_notice(request, lang)
    if notice is None:
        return redirect(_url("check", lang))
    view = services.notice_load(notice=notice, request=request)
    patient = view.patient
    exposed = [label for label in exposure_labels(patient.exposure_mask, lang, minor=patient.is_minor)]
    sensitive = [SENSITIVE_LABELS[lang][flag] for flag in Sensitive if patient.sensitive_mask & flag]
    channels = [
        {"channel": n.channel, "status": STATUS_WORDS[lang].get(n.status, n.status), "raw": n.status}
        for n in view.notifications
    ]
    context = {
        "lang": lang,
        "view": view,
        "patient": patient,
        "laboratory": view.campaign.laboratory,
        "breach": view.campaign.breach,
        "exposed": exposed,
        "sensitive": sensitive,
        "password_exposed": bool(patient.exposure_mask & Exposure.PORTAL_PASSWORD),
        "nir_exposed": bool(patient.exposure_mask & Exposure.NIR),
        "email_or_phone_exposed": bool(patient.exposure_mask & (Exposure.EMAIL | Exposure.PHONE)),
        "channels": channels,
        "has_post": any(n.channel == Notification.Channel.POST for n in view.notifications),
        "acknowledged": view.acknowledged,
        "just_acknowledged": view.acknowledged and request.GET.get("lu") == "1",
        "other_url": _url("notice", "en" if lang == "fr" else "fr"),
    }
    return render(request, f"status/{lang}/notice.html", context)


@require_http_methods(["GET"])
@_in_language
def letter_pdf(request: HttpRequest, lang: str) -> HttpResponse:
    notice = _require_notice(request, lang)
    if notice is None:
        raise Http404
    pdf = services.notice_letter_pdf(notice=notice, language=lang, request=request)
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = "lettre-information.pdf" if lang == "fr" else "information-letter.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
@_in_language
def acknowledge(request: HttpRequest, lang: str) -> HttpResponse:
    notice = _require_notice(request, lang)
    if notice is None:
        return redirect(_url("check", lang))
    services.notice_acknowledge(notice=notice)
    return redirect(_url("notice", lang) + "?lu=1")


@require_POST
@_in_language
def sign_out(request: HttpRequest, lang: str) -> HttpResponse:
    request.session.flush()
    return redirect(_url("check", lang))
