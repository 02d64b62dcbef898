"""Letter preview URLs, included under admin/letters/ (before admin/) and protected like the admin."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from . import views

app_name = "letters"

urlpatterns = [
    path("preview/<int:breach_id>/<int:laboratory_id>/", admin.site.admin_view(views.preview), name="preview"),
    path(
        "preview/<int:breach_id>/<int:laboratory_id>/<int:patient_id>/<str:language>.pdf",
        admin.site.admin_view(views.letter_pdf),
        name="preview_pdf",
    ),
]
