"""Returned mail (PND) from the admin's Import and from `manage.py campaign returns`: French or English
headers, `;` or `,`, cp1252 or UTF-8, CSV or XLSX; a French preview with a reason on every row; confirm
gives a report, never a 500; the same file twice changes nothing; « décédé » is a death."""

from __future__ import annotations

import io
import json
import re
from io import StringIO

import openpyxl
import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from labs.audit import AuditEvent
from notifier import launch, postal, selectors
from notifier.admin import NotificationAdmin
from notifier.models import Campaign, DeliveryEvent, Notification, PrintBatch
from tests.access_fixtures import login_verified

pytestmark = pytest.mark.django_db
S = Notification.Status
IMPORT = "admin:notifier_notification_import"
CONFIRM = "admin:notifier_notification_process_import"
# The words a person must never read: the engine's own outcome names, or a Python error.
TECHNICAL = re.compile(r"\b(applied|unknown|duplicate|invalid|Traceback|AttributeError|Error:)\b")


def shown(html: str) -> str:
    """The text a person reads (tags, attributes and scripts aside)."""
    return re.sub(r"<script.*?</script>|<style.*?</style>|<[^>]+>", " ", html, flags=re.S)


@pytest.fixture
def letters(make_patients, make_campaign, approver, django_capture_on_commit_callbacks):
    """A post_then_email campaign of 3 patients whose letters were handed over to La Poste."""
    make_patients(3)
    campaign = make_campaign("post_then_email")
    with django_capture_on_commit_callbacks(execute=True):
        launch.campaign_launch(campaign=campaign, by=approver)
    with django_capture_on_commit_callbacks(execute=True):
        postal.print_batch_hand_over(batch=PrintBatch.objects.get(campaign=campaign), by=approver)
    mail.outbox.clear()
    return list(Notification.objects.filter(campaign=campaign).order_by("pk"))


@pytest.fixture
def operator_client(approver):
    return login_verified(Client(raise_request_exception=False), approver)


def french_file(letters) -> bytes:
    """What a DPO gets from La Poste's PND service or types in Excel: `;`, cp1252, French headers."""
    first, second, third = letters
    today = f"{timezone.localdate():%d/%m/%Y}"  # a return cannot predate the hand-over (today, in these tests)
    rows = [
        "Référence;Date de retour;Motif",
        f"{first.reference};{today};N'habite pas à l'adresse indiquée",
        f"{second.reference};{today};Décédé",
        f"N999-1-C;{today};NPAI",
        f"{third.reference};31/02/2021;Refusé",
    ]
    return ("\r\n".join(rows) + "\r\n").encode("cp1252")


def upload(client, content: bytes, name: str = "retours.csv"):
    return client.post(reverse(IMPORT), {"import_file": SimpleUploadedFile(name, content)})


def hidden_fields(html: str) -> dict[str, str]:
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    fields.pop("csrfmiddlewaretoken", None)
    return {name: value.replace("&quot;", '"').replace("&amp;", "&") for name, value in fields.items()}


def confirm(client, preview):
    return client.post(reverse(CONFIRM), hidden_fields(preview.content.decode()))


# --- the admin: preview, confirm, report ---------------------------------------------------------------
def test_a_french_semicolon_cp1252_file_previews_in_french_with_a_reason_on_every_row(letters, operator_client):
    # when the operator uploads La Poste's French file
    response = upload(operator_client, french_file(letters))
    # then the preview lists every row, in French, each with its reason, and writes nothing
    html = response.content.decode()
    assert response.status_code == 200
    assert not TECHNICAL.search(shown(html)), TECHNICAL.search(shown(html))
    for expected in ("sera appliqué", "décès", "inconnu", "invalide", "date illisible", "31/02/2021",
                     "courriel de repli", "ligne 2", "ligne 5"):  # fmt: skip
        assert expected in html, expected
    assert not DeliveryEvent.objects.filter(source=DeliveryEvent.Source.POSTAL_RETURN).exists()
    assert {n.status for n in Notification.objects.filter(channel="post")} == {S.SENT}


def test_confirming_applies_the_rows_and_gives_a_report_not_a_500(
    letters, operator_client, approver, django_capture_on_commit_callbacks
):
    first, second, third = letters
    # given the preview of the French file
    preview = upload(operator_client, french_file(letters))
    # when the operator confirms
    with django_capture_on_commit_callbacks(execute=True):
        response = confirm(operator_client, preview)
    # then a French report: counts and, for each row not applied, its line and reason
    html = response.content.decode()
    assert response.status_code == 200, html[:2000]
    assert not TECHNICAL.search(shown(html)), TECHNICAL.search(shown(html))
    assert re.search(r"2\s*appliqués?", html) and re.search(r"1\s*inconnue?s?", html)
    assert re.search(r"0\s*doublons?", html) and re.search(r"1\s*invalides?", html)
    assert "ligne 4" in html and "ligne 5" in html and "N999-1-C" in html
    for row in letters:
        row.refresh_from_db()
    assert (first.status, second.status, third.status) == (S.RETURNED, S.RETURNED, S.SENT)
    # and the moved patient gets the fallback email, once
    assert [m.to for m in mail.outbox] == [[first.patient.email]]
    # and the import is in the audit trail with its counts
    event = AuditEvent.objects.filter(action=AuditEvent.Action.IMPORT, actor=approver).latest("at")
    assert event.extra["appliqués"] == 2 and event.extra["inconnus"] == 1


def test_importing_the_same_file_again_changes_nothing(letters, operator_client):
    operator_client.post(
        reverse(CONFIRM), hidden_fields(upload(operator_client, french_file(letters)).content.decode())
    )
    events, sent = DeliveryEvent.objects.count(), len(mail.outbox)
    # when the same file is imported again
    preview = upload(operator_client, french_file(letters))
    assert "déjà enregistré" in preview.content.decode()
    response = confirm(operator_client, preview)
    # then nothing moves: both rows are duplicates
    html = response.content.decode()
    assert re.search(r"0\s*appliqué", html) and re.search(r"2\s*doublons", html)
    assert DeliveryEvent.objects.count() == events and len(mail.outbox) == sent


def test_a_deceased_patient_is_recorded_as_a_death_gets_no_fallback_and_leaves_the_call_list(letters, approver):
    # given a post_then_email letter returned « Décédé » and its patient with no email (so no fallback anyway)
    _, second, third = letters
    # when both come back, one as deceased, one as moved
    postal.returned_mail_record(reference=second.reference, returned_on=timezone.localdate(second.sent_at), reason="Décédé",
                                by=approver)  # fmt: skip
    postal.returned_mail_record(reference=third.reference, returned_on=timezone.localdate(third.sent_at), reason="npai",
                                by=approver)  # fmt: skip
    # then the death is recorded, not an address problem, and no fallback email is written for them
    second.refresh_from_db()
    assert second.status == S.RETURNED and second.return_reason == Notification.ReturnReason.DECEASED
    assert not Notification.objects.filter(patient=second.patient, channel="email").exists()
    assert Notification.objects.filter(patient=third.patient, channel="email", is_fallback=True).exists()
    # and the call-centre list (the moved patient's fallback failed) never holds the deceased
    Notification.objects.filter(patient=third.patient, channel="email").update(status=S.BOUNCED)
    campaign = Campaign.objects.get(pk=second.campaign_id)
    assert list(selectors.unreachable_patients(campaign=campaign)) == [third.patient]


def test_an_english_comma_utf8_file_and_an_xlsx_file_are_read_alike(letters, operator_client):
    first, second, _ = letters
    today = timezone.localdate().isoformat()
    english = f"reference,return_date,reason\n{first.reference},{today},moved\n".encode()
    workbook = openpyxl.Workbook()
    workbook.active.append(["Réf.", "Date retour", "Motif"])
    workbook.active.append([second.reference, timezone.localdate(), "destinataire inconnu"])
    xlsx = io.BytesIO()
    workbook.save(xlsx)
    for content, name in ((english, "returns.csv"), (xlsx.getvalue(), "retours.xlsx")):
        preview = upload(operator_client, content, name)
        assert "sera appliqué" in preview.content.decode(), preview.content.decode()[:3000]
        assert confirm(operator_client, preview).status_code == 200
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == S.RETURNED
    assert second.return_reason == Notification.ReturnReason.UNKNOWN_RECIPIENT


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"<html><table><tr><td>reference</td></tr></table></html>", "retours.html", "Format non pris en charge"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "retours.xls", "ancien format Excel"),
        (b"PK\x03\x04pas vraiment un classeur", "retours.xlsx", "classeur Excel illisible"),
        (b"", "vide.csv", "Le fichier est vide"),
        (b"nom;prenom\nDurand;Anne\n", "autre.csv", "Colonne « référence » introuvable"),
        (b"reference;motif\nN1-1-C;npai\n", "sansdate.csv", "Colonne « date de retour » introuvable"),
        (b"reference;date\n", "entete.csv", "aucune ligne"),
        ("référence;date\n".encode("utf-16"), "utf16.csv", "Encodage"),
    ],
    ids=["html", "xls", "broken-xlsx", "empty", "no-reference", "no-date", "header-only", "utf16"],
)
def test_a_bad_upload_gets_a_french_message_never_a_500(letters, operator_client, content, name, message):
    response = upload(operator_client, content, name)
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert not TECHNICAL.search(shown(html)), TECHNICAL.search(shown(html))


def test_no_file_and_a_forged_confirmation_get_a_french_message(letters, operator_client):
    assert "Choisissez un fichier" in operator_client.post(reverse(IMPORT), {}).content.decode()
    for data in ({}, {"payload": "forgé"}, {"payload": "a" * 50 + ":b:c"}):
        response = operator_client.post(reverse(CONFIRM), data)
        assert response.status_code == 200
        assert "importez à nouveau le fichier" in response.content.decode()
    assert not DeliveryEvent.objects.filter(source=DeliveryEvent.Source.POSTAL_RETURN).exists()


def test_the_import_page_offers_csv_and_xlsx_only_and_explains_the_columns(letters, operator_client):
    formats = NotificationAdmin(Notification, None).get_import_formats()
    assert [f().get_title() for f in formats] == ["csv", "xlsx"]
    html = operator_client.get(reverse(IMPORT)).content.decode()
    assert "référence" in html and "date de retour" in html and "décédé" in html


# --- the command ------------------------------------------------------------------------------------
def test_the_returns_command_reads_a_french_file_reports_in_french_and_is_re_runnable(letters, approver, tmp_path):
    path = tmp_path / "retours.csv"
    path.write_bytes(french_file(letters))
    # when run twice
    out = StringIO()
    call_command("campaign", "returns", str(path), "--by", approver.username, stdout=out)
    again = StringIO()
    call_command("campaign", "returns", str(path), "--by", approver.username, "--json", stdout=again)
    # then the first run applies two rows and says why the others were not; the second changes nothing
    text = out.getvalue()
    assert "2 appliqués" in text and "ligne 4" in text and "ligne 5 " in text and "date illisible" in text
    assert not TECHNICAL.search(text)
    summary = json.loads(again.getvalue())
    assert summary["counts"] == {"appliqués": 0, "inconnus": 1, "doublons": 2, "invalides": 1}


def test_the_returns_command_refuses_bad_input_in_french(letters, approver, dpo_lab_b, tmp_path):
    with pytest.raises(CommandError, match="Fichier introuvable"):
        call_command("campaign", "returns", str(tmp_path / "absent.csv"), "--by", approver.username)
    html = tmp_path / "retours.html"
    html.write_bytes(b"<html></html>")
    with pytest.raises(CommandError, match="Format non pris en charge"):
        call_command("campaign", "returns", str(html), "--by", approver.username)
    good = tmp_path / "retours.csv"
    good.write_bytes(french_file(letters))
    out = StringIO()
    call_command("campaign", "returns", str(good), "--by", dpo_lab_b.username, "--json", stdout=out)
    assert json.loads(out.getvalue())["counts"]["appliqués"] == 0  # another laboratory's letters: unknown
