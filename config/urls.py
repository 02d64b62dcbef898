from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("status_page.urls")),  # the public status page (/verifier/, /check/)
    path("", include("call_centre.urls")),  # call-centre kit and one-notice look-up: /centre-appels/, OTP login
    path("", include("evidence.urls")),  # evidence packs: /dossiers-de-preuves/ (DPO), /cnil/dossiers-de-preuves/
    path("", include("dashboards.urls")),  # staff dashboards: /tableau-de-bord/ (DPO), /cnil/ (liaison), OTP login
    path("admin/letters/", include("letters.urls")),  # letter previews, behind the admin's OTP login
    path("admin/", admin.site.urls),
    # ESP tracking webhooks only (basic auth: ANYMAIL WEBHOOK_SECRET); bad input is a 4xx (notifier/webhooks.py)
    path("anymail/", include("notifier.webhooks")),
]
