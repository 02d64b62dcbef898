"""A malformed-input corpus for the ESP tracking webhooks (/anymail/<esp>/tracking/): never a 5xx.

Generated: for each ESP anymail supports (configured or not: SendGrid, SparkPost, Postmark, Mailjet and
Brevo need only the basic auth; Mailgun, Mandrill, Resend, Postal, MailerSend… need a signing key this
deployment does not set), bodies that are truncated JSON, wrong types, missing fields, non-UTF-8 bytes,
deep nesting, form data, a body over the upload limit; each sent with good, missing, wrong and garbled
credentials, plus unknown ESPs and paths. Every answer must be a 4xx (or a 200 that applied nothing
wrong), never a 5xx and never a traceback. The figure printed is what the report quotes.
"""

from __future__ import annotations

import base64
import json

import pytest
from django.conf import settings as django_settings
from django.test import Client

pytestmark = pytest.mark.django_db

ESPS = ["sendgrid", "sparkpost", "postmark", "mailjet", "brevo", "sendinblue", "mailgun", "mandrill", "resend",
        "postal", "mailersend", "amazon_ses", "unisender_go", "mailtrap"]  # fmt: skip

# One plausible event per ESP that parses JSON: the base the type and field mutations start from.
SHAPES = {
    "sendgrid": [{"event": "delivered", "timestamp": 1700000000, "sg_event_id": "e1", "anymail_id": "m1"}],
    "sparkpost": [
        {
            "msys": {
                "message_event": {
                    "type": "delivery",
                    "event_id": "e1",
                    "timestamp": "1700000000",
                    "transmission_id": "m1",
                    "rcpt_to": "a@example.org",
                }
            }
        }
    ],  # fmt: skip
    "postmark": {
        "RecordType": "Delivery",
        "MessageID": "m1",
        "Recipient": "a@example.org",
        "DeliveredAt": "2023-11-14T22:13:20Z",
        "Metadata": {"notification_id": "1"},
    },  # fmt: skip
    "mailjet": [{"event": "sent", "time": 1700000000, "MessageID": 1, "email": "a@example.org", "Payload": "{}"}],
    "brevo": {"event": "delivered", "email": "a@example.org", "message-id": "<m1>", "ts_event": 1700000000},
    "mailgun": {
        "signature": {"timestamp": "1", "token": "t", "signature": "s"},
        "event-data": {"event": "delivered", "timestamp": 1700000000.0, "id": "e1"},
    },  # fmt: skip
}


def _truncations(text: str) -> list[bytes]:
    return [text[:cut].encode() for cut in (1, len(text) // 3, len(text) // 2, len(text) - 1)]


def _wrong_types(shape) -> list[bytes]:
    """The shape with each of its leaf values replaced by a value of another type, and whole-body swaps."""
    bodies = [b"0", b"null", b"true", b'"text"', b"[1, 2, 3]", b"[null]", b"[[]]", b"{}", b"[{}]", b'[""]']
    first = shape[0] if isinstance(shape, list) else shape
    for key in list(first)[:4]:
        for value in (None, 12, [], {"x": 1}, "not-a-number", -1e308):
            mutated = dict(first, **{key: value})
            bodies.append(json.dumps([mutated] if isinstance(shape, list) else mutated).encode())
    # missing fields: each key dropped in turn
    for key in first:
        dropped = {k: v for k, v in first.items() if k != key}
        bodies.append(json.dumps([dropped] if isinstance(shape, list) else dropped).encode())
    # a batch with a good-looking event between two bad ones
    if isinstance(shape, list):
        bodies.append(json.dumps([7, shape[0], {"event": []}]).encode())
    return bodies


def _bodies(esp: str) -> list[tuple[str, bytes]]:
    shape = SHAPES.get(esp, SHAPES["sendgrid"])
    text = json.dumps(shape)
    bodies = [("application/json", body) for body in [*_truncations(text), *_wrong_types(shape)]]
    bodies += [
        ("application/json", b""),
        ("application/json", b"\xff\xfe\x00garbage\x80"),  # not UTF-8
        ("application/json", text.encode("utf-16")),
        ("application/json", b"[" * 50_000 + b"]" * 50_000),  # nesting deep enough to exhaust the parser
        ("application/json", b'{"a": "' + b"x" * 3_000_000 + b'"}'),  # over DATA_UPLOAD_MAX_MEMORY_SIZE
        ("application/x-www-form-urlencoded", b"mandrill_events=%5B%7B&event=delivered&signature=x"),
        ("multipart/form-data; boundary=zz", b"--zz\r\nbroken"),
        ("text/plain", b"hello"),
    ]
    return bodies


def _auths() -> dict[str, dict[str, str]]:
    good = base64.b64encode(django_settings.ANYMAIL["WEBHOOK_SECRET"].encode()).decode()
    return {
        "good": {"HTTP_AUTHORIZATION": f"Basic {good}"},
        "none": {},
        "wrong": {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"intruder:guess").decode()},
        "garbled": {"HTTP_AUTHORIZATION": "Basic !!!\xff"},
    }


def corpus() -> list[tuple[str, str, str, bytes, dict[str, str]]]:
    """(url, label, content type, body, headers) for every case."""
    cases = []
    auths = _auths()
    for esp in ESPS:
        url = f"/anymail/{esp}/tracking/"
        for index, (content_type, body) in enumerate(_bodies(esp)):
            # the body variants with good credentials; the first few with every kind of credentials
            for auth_name in auths if index < 6 else ["good"]:
                cases.append((url, f"{esp}#{index}/{auth_name}", content_type, body, auths[auth_name]))
    for url in ["/anymail/nope/tracking/", "/anymail/sendgrid/", "/anymail/sendgrid/inbound/",
                "/anymail/mailgun/inbound_mime/", "/anymail/%ff/tracking/", "/anymail/sendgrid/tracking/x"]:  # fmt: skip
        cases.append((url, url, "application/json", b"[]", auths["good"]))
    return cases


def test_the_corpus_is_large_and_spans_several_esps():
    cases = corpus()
    assert len(cases) >= 100
    assert len({case[0] for case in cases}) >= 3


def test_no_malformed_webhook_request_gets_a_server_error_or_a_traceback():
    # given the corpus, and a client that returns the 500 page instead of raising
    client = Client(raise_request_exception=False)
    cases = corpus()
    # when every case is posted (and, for the first ones, read with GET and HEAD too)
    server_errors = []
    for url, label, content_type, body, headers in cases:
        response = client.generic("POST", url, body, content_type=content_type, **headers)
        if response.status_code >= 500 or b"Traceback" in response.content:
            server_errors.append(f"{label}: {response.status_code}")
    for url in {case[0] for case in cases}:
        for method in ("GET", "HEAD", "PUT"):
            if client.generic(method, url).status_code >= 500:
                server_errors.append(f"{method} {url}")
    print(f"webhook corpus: {len(cases)} POST cases, {len(server_errors)} server errors")
    # then none is a server error
    assert server_errors == []
