"""The evidence packs' routes, behind the admin's OTP login: the DPO's version and the CNIL liaison's, each its own
URL names (so labs.access.VIEW_TABLE gives each version to its roles only)."""

from django.contrib import admin
from django.urls import path

from . import views

app_name = "evidence"
_staff = admin.site.admin_view
_BUILD = "preparer/<int:laboratory_id>/<int:breach_id>/"
urlpatterns = [
    path("dossiers-de-preuves/", _staff(views.dpo_page), name="dpo"),
    path(f"dossiers-de-preuves/{_BUILD}", _staff(views.dpo_build), name="dpo_build"),
    path("dossiers-de-preuves/<int:evidencepack_id>/telecharger/", _staff(views.dpo_download), name="dpo_download"),
    path("cnil/dossiers-de-preuves/", _staff(views.liaison_page), name="liaison"),
    path(f"cnil/dossiers-de-preuves/{_BUILD}", _staff(views.liaison_build), name="liaison_build"),
    path(
        "cnil/dossiers-de-preuves/<int:evidencepack_id>/telecharger/",
        _staff(views.liaison_download),
        name="liaison_download",
    ),
]
