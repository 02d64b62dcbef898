"""The dashboards' routes (included from notifier/urls.py), all behind the admin's OTP login."""

from django.contrib import admin
from django.urls import path

from . import views

app_name = "dashboards"
_staff = admin.site.admin_view
urlpatterns = [
    path("tableau-de-bord/", _staff(views.dpo_dashboard), name="dpo"),
    path("tableau-de-bord/campagne/<int:pk>/rapport.<str:fmt>", _staff(views.delivery_report), name="delivery_report"),
    path(
        "tableau-de-bord/campagne/<int:pk>/injoignables.<str:fmt>", _staff(views.unreachable_list), name="unreachable"
    ),
    path("cnil/", _staff(views.cnil_dashboard), name="cnil"),
    path("cnil/laboratoires.csv", _staff(views.cnil_export), name="cnil_export"),
]
