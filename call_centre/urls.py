"""The call-centre routes, all behind the admin's OTP login."""

from django.contrib import admin
from django.urls import path

from . import views

app_name = "call_centre"
_staff = admin.site.admin_view
urlpatterns = [
    path("centre-appels/", _staff(views.kit_index), name="index"),
    path("centre-appels/kit/<int:laboratory_id>/<int:breach_id>/", _staff(views.kit_page), name="kit"),
    path("centre-appels/kit/<int:laboratory_id>/<int:breach_id>/kit.pdf", _staff(views.kit_pdf), name="kit_pdf"),
    path(
        "centre-appels/kit/<int:laboratory_id>/<int:breach_id>/appels.<str:fmt>",
        _staff(views.call_list),
        name="call_list",
    ),
    path("centre-appels/avis/", _staff(views.notice_lookup), name="notice"),
]
