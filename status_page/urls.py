"""Public status page URLs, French first (/verifier/) and English (/check/)."""

from django.urls import path

from . import views

app_name = "status"

_PATHS = {
    "fr": {"check": "verifier/", "notice": "verifier/mon-avis/", "letter": "verifier/mon-avis/lettre.pdf",
           "ack": "verifier/mon-avis/lu/", "signout": "verifier/fin/",
           "access": "verifier/mon-avis/demande-acces/"},
    "en": {"check": "check/", "notice": "check/my-notice/", "letter": "check/my-notice/letter.pdf",
           "ack": "check/my-notice/read/", "signout": "check/end/",
           "access": "check/my-notice/access-request/"},
}  # fmt: skip
_VIEWS = {
    "check": views.check,
    "notice": views.notice_page,
    "letter": views.letter_pdf,
    "ack": views.acknowledge,
    "signout": views.sign_out,
    "access": views.access_request,
}

urlpatterns = [
    path(route, _VIEWS[name], {"lang": lang}, name=f"{name}_{lang}")
    for lang, routes in _PATHS.items()
    for name, route in routes.items()
]
