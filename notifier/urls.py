from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("anymail/", include("anymail.urls")),  # ESP tracking webhooks (basic auth: ANYMAIL WEBHOOK_SECRET)
]
