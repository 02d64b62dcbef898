"""The public status page: /verifier/ (French) and /check/ (English).

Flow: a form (code + birth date) → on success the session is cycled and holds only ids, with a short
idle expiry → the notice page (categories exposed, personalised actions, letter download, "I have read
this", a right-of-access request to the DPO). Every failure renders the same form with the same message,
status and headers.

The page never names a health remark's class: whoever holds the letter and the birth date reads it (a
spouse, the parents of a minor). An adult's page says that the file held a remark related to their health;
a minor's page says the same neutral words to every minor, remark or not (Code de la santé publique,
art. L.1111-5: a minor may keep some care secret from their parents). What a remark said is told by the
DPO, after an identity check, in answer to a right-of-access request (GDPR Art. 15).
"""

from __future__ import annotations

import datetime as dt
import functools

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.http import require_http_methods, require_POST

from labs import ratelimit
from labs.client_ip import client_ip
from letters.wording import advice, exposure_labels
from notifier.models import Notification
from patients.categories import Exposure

from . import access_requests, services
from .forms import AccessRequestForm, CheckForm

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


def _letter_day(campaign) -> dt.date:
    """The date of the campaign's letters (its launch day, as notifier.postal dates them), which decides who
    is a minor on the page as on the letter."""
    return timezone.localdate(campaign.launched_at) if campaign.launched_at else timezone.localdate()


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
    minor = patient.minor_on(_letter_day(view.campaign))
    exposed = exposure_labels(patient.exposure_mask, lang, minor=minor)
    # Never the class; and for a minor, not even whether there was a remark (the template's neutral text).
    health_remark = not minor and bool(patient.sensitive_mask or patient.exposure_mask & Exposure.MEDICAL_COMMENT)
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
        "minor": minor,
        "exposed": exposed,
        "health_remark": health_remark,
        "advice": advice(lang, mask=patient.exposure_mask, minor=minor),
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


# A request per patient and day is plenty; more from one letter looks like someone playing with the form.
ACCESS_REQUESTS_PER_PATIENT_PER_DAY = 5
ACCESS_DONE_KEY = "status_access_request_done"
ACCESS_LIMITED = {
    "fr": "Trop de demandes en peu de temps. Réessayez plus tard, ou appelez le délégué à la protection des données.",
    "en": "Too many requests in a short time. Try again later, or call the data protection officer.",
}


@require_http_methods(["GET", "POST"])
@_in_language
def access_request(request: HttpRequest, lang: str) -> HttpResponse:
    """The right-of-access request form (GDPR Art. 15) for a verified patient; the DPO answers it."""
    notice = _require_notice(request, lang)
    if notice is None:
        return redirect(_url("check", lang))
    form = AccessRequestForm(request.POST if request.method == "POST" else None, lang=lang)
    limited = False
    if request.method == "POST":
        ip_allowed = ratelimit.hit(
            f"status:access:ip:{client_ip(request) or 'unknown'}",
            limit=settings.STATUS_PAGE_TRIES_PER_IP_PER_MINUTE,
            window_seconds=60,
        )
        if not ip_allowed:
            limited = True
        elif form.is_valid():
            if ratelimit.hit(
                f"status:access:patient:{notice.patient_id}",
                limit=ACCESS_REQUESTS_PER_PATIENT_PER_DAY,
                window_seconds=86400,
            ):
                recorded, _created = access_requests.access_request_create(
                    patient_id=notice.patient_id,
                    campaign_id=notice.campaign_id,
                    requester=form.cleaned_data["requester"],
                    contact_phone=form.cleaned_data["phone"],
                    contact_email=form.cleaned_data["email"],
                    request=request,
                )
                # The same answer whether it is new or sent again: the page tells nothing of other requests.
                request.session[ACCESS_DONE_KEY] = recorded.due_on.isoformat()
                return redirect(_url("access", lang))
            limited = True
    done = request.session.pop(ACCESS_DONE_KEY, None) if request.method == "GET" else None
    return render(
        request,
        f"status/{lang}/access_request.html",
        {
            "form": form,
            "lang": lang,
            "limited_message": ACCESS_LIMITED[lang] if limited else "",
            "due_on": dt.date.fromisoformat(done) if done else None,
            "laboratory": access_requests.laboratory_of_patient(patient_id=notice.patient_id),
            "other_url": _url("access", "en" if lang == "fr" else "fr"),
        },
        status=429 if limited else 200,
    )
