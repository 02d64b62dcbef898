"""ESP tracking webhooks → delivery events: the mounted endpoints, and the receiver of anymail's `tracking` signal.

anymail's tracking views (`/anymail/<esp>/tracking/`) check the basic-auth WEBHOOK_SECRET and parse each
provider's payload into `AnymailTrackingEvent`s. The receiver only records the event (one indexed look-up,
one insert, deduplicated on the provider's event id) and defers applying it to a task, so the provider
gets its answer fast.

What reaches anymail is the internet, so `urlpatterns` (mounted under /anymail/ by config/urls.py) serves
only the tracking endpoints, each wrapped so that bad input is a 4xx with a short French answer, never a
500: an ESP this deployment has not configured (anymail raises AnymailConfigurationError) is a 404, bad
credentials a 400, a body that is not the ESP's format a 400, one over the upload limit a 413. In a batch
(SendGrid, SparkPost, Mailjet… post many events at once) one bad element no longer loses the others: each
is parsed and recorded on its own; the bad ones are logged and counted in the answer. A database or
broker failure still gives a 500, on purpose: the provider then retries the batch later, and the event
ids make the retry harmless.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailConfigurationError, AnymailError, AnymailWebhookValidationFailure
from anymail.signals import tracking
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import queue
from .events import delivery_event_record
from .models import DeliveryEvent, Notification

logger = logging.getLogger(__name__)

# What a payload that is not the provider's format raises while anymail parses it (json, dict and list
# look-ups, int()/fromtimestamp() on a string, a huge or deeply nested body). Database and broker errors
# are not in it: they must stay 500s so that the provider retries.
MALFORMED = (ValueError, TypeError, LookupError, AttributeError, ArithmeticError, RecursionError, AnymailError)
# What a well-formed event with odd values may raise in our receiver (the same, minus anymail's own).
BAD_EVENT = (ValueError, TypeError, LookupError, AttributeError, ArithmeticError)
# An element anymail will not parse: malformed, or a kind the tracking endpoint does not take (an inbound
# message posted to it raises AnymailConfigurationError: the ESP's settings are wrong, not ours).
BAD_ELEMENT = (*MALFORMED, AnymailConfigurationError)


# --- the receiver -------------------------------------------------------------------------------
def _notification_for(event: Any) -> Notification | None:
    metadata = event.metadata if isinstance(event.metadata, Mapping) else {}
    notification_id = str(metadata.get("notification_id", "")).strip()
    if notification_id.isascii() and notification_id.isdigit() and len(notification_id) < 19:
        found = Notification.objects.filter(pk=int(notification_id)).first()
        if found is not None:
            return found
    if isinstance(event.message_id, str | int) and event.message_id:
        return Notification.objects.filter(provider_message_id=str(event.message_id)[:255]).first()
    return None


def _event_key(esp_name: str, event: Any) -> str:
    if event.event_id:
        return f"{esp_name}:{event.event_id}"[:200]
    # Some providers send no event id: the same (message, type, time) is the same event.
    raw = f"{esp_name}:{event.message_id}:{event.event_type}:{event.timestamp}"
    return f"{esp_name}:h:{hashlib.sha256(raw.encode()).hexdigest()}"


def _event_time(event: Any) -> dt.datetime:
    """The provider's time when it is an aware datetime; now otherwise (a missing or odd timestamp)."""
    at = event.timestamp
    return at if isinstance(at, dt.datetime) and timezone.is_aware(at) else timezone.now()


@receiver(tracking, dispatch_uid="notifier.webhooks.tracking_received")
def tracking_received(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    """Record one provider event (once) and apply it in a task after commit."""
    notification = _notification_for(event)
    if notification is None:
        logger.info("tracking event %s for an unknown message ignored", event.event_type)
        return
    reasons = (event.reject_reason, event.mta_response, event.description)
    recorded = delivery_event_record(
        notification=notification,
        event_type=str(event.event_type)[:40],
        at=_event_time(event),
        source=DeliveryEvent.Source.ESP,
        reason=" — ".join(str(x) for x in reasons if x)[:300],
        event_id=_event_key(esp_name, event),
    )
    if recorded is not None:
        event_pk = recorded.pk
        transaction.on_commit(lambda: queue.delivery_event_apply_enqueue(event_id=event_pk))


# --- the endpoints ------------------------------------------------------------------------------
class PerEventMixin:
    """Before an anymail tracking view in the bases: each element of a batch is parsed and recorded alone.

    anymail's batch parsers build their list with `self.esp_to_anymail_event(...)` (SparkPost also
    `self.unwrap_event(...)`) per element, so a failure there is caught per element; the events that
    parsed are sent to the receiver one by one, each in its own transaction. tests/notifier/
    test_webhooks.py fails loudly if an anymail upgrade stops calling these per element."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bad_events: list[str] = []

    def _bad(self, where: str, error: BaseException) -> None:
        # The kind of error only: a provider's payload holds addresses and message contents.
        self.bad_events.append(type(error).__name__)
        logger.warning("%s webhook: one %s rejected (%s)", self.esp_name, where, type(error).__name__)

    def esp_to_anymail_event(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().esp_to_anymail_event(*args, **kwargs)
        except BAD_ELEMENT as error:
            self._bad("event", error)
            return None

    def unwrap_event(self, raw_event: Any) -> Any:
        try:
            return super().unwrap_event(raw_event)
        except BAD_ELEMENT as error:
            self._bad("event", error)
            return None, None, raw_event

    def parse_events(self, request: HttpRequest) -> list[Any]:
        return [event for event in super().parse_events(request) if event is not None]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.run_validators(request)
        try:
            events = self.parse_events(request)
        except AnymailConfigurationError:  # a whole request of a kind this endpoint does not take
            return _refusal(400, "événement d'un autre type que le suivi / not a tracking event")
        received = 0
        for event in events:
            try:
                with transaction.atomic():
                    self.signal.send(sender=self.__class__, event=event, esp_name=self.esp_name)
            except BAD_EVENT as error:
                self._bad("event's values", error)
            else:
                received += 1
        if self.bad_events and not received:
            return _refusal(400, "aucun événement lisible dans la requête / no readable event in the request")
        return JsonResponse({"recus": received, "rejetes": len(self.bad_events)})


def _refusal(status: int, message: str) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def guarded(view: Callable[..., HttpResponse], esp: str) -> Callable[..., HttpResponse]:
    """A webhook view whose bad input is a 4xx with a French line (never a 500 with a traceback)."""

    @csrf_exempt
    @wraps(view)
    def guarded_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except AnymailConfigurationError:  # from the view's construction: a key this deployment lacks
            logger.warning("%s webhook called but not configured for this deployment", esp)
            return _refusal(404, "point d'accès non configuré / webhook not configured")
        except AnymailWebhookValidationFailure:
            logger.warning("%s webhook: missing or invalid credentials or signature", esp)
            return _refusal(400, "authentification du webhook refusée / webhook authentication failed")
        except RequestDataTooBig:
            return _refusal(413, "requête trop volumineuse / request too large")
        except SuspiciousOperation:
            return _refusal(400, "requête refusée / request refused")
        except MALFORMED as error:
            logger.warning("%s webhook: unreadable body (%s)", esp, type(error).__name__)
            return _refusal(400, "contenu du webhook illisible / unreadable webhook body")

    return guarded_view


def _tracking_urlpatterns() -> list:
    """anymail's tracking endpoints (same paths and names), each per-event and guarded; no inbound ones:
    this application receives no mail, so those endpoints are not mounted at all."""
    patterns = []
    for pattern in anymail_urls.urlpatterns:
        if not (pattern.name or "").endswith("_tracking_webhook"):
            continue
        view_class = pattern.callback.view_class
        per_event = type(f"PerEvent{view_class.__name__}", (PerEventMixin, view_class), {})
        esp = str(pattern.pattern).split("/", 1)[0]
        patterns.append(path(str(pattern.pattern), guarded(per_event.as_view(), esp), name=pattern.name))
    return patterns


app_name = "anymail"  # the names anymail's own urls.py gives (reverse("anymail:sendgrid_tracking_webhook"))
urlpatterns = _tracking_urlpatterns()
