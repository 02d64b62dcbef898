"""Print batches leave the building: labels a person understands, audited downloads of the PDF and its
manifest for whoever may read that laboratory's letters, a hand-over confirmation page, a French command."""

from __future__ import annotations

import hashlib
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from labs import access
from labs.audit import AuditEvent
from labs.storage import private_delete, private_read, private_save
from notifier import launch
from notifier.models import Campaign, Notification, PrintBatch
from tests.access_fixtures import login_verified, make_staff

pytestmark = pytest.mark.django_db
S = Notification.Status
CHANGELIST = "admin:notifier_printbatch_changelist"


@pytest.fixture
def batches(make_patients, make_campaign, approver, settings, django_capture_on_commit_callbacks):
    """A running postal campaign of 5 letters in 3 built batches (2 letters a batch)."""
    settings.CAMPAIGN_PRINT_CHUNK = 2
    make_patients(5)
    campaign = make_campaign("post")
    with django_capture_on_commit_callbacks(execute=True):
        launch.campaign_launch(campaign=campaign, by=approver)
    return list(PrintBatch.objects.filter(campaign=campaign).order_by("sequence"))


@pytest.fixture
def dpo_client(laboratory):
    return login_verified(Client(raise_request_exception=False), make_staff("dpo-a", role=access.DPO,
                                                                             laboratories=[laboratory]))  # fmt: skip


def test_a_batch_is_named_by_its_rank_among_the_campaign_s_batches_and_its_campaign(batches, dpo_client):
    assert str(batches[1]) == "lot 2 sur 3 — campagne «\u00a0Information des patients\u00a0» (LABA)"
    html = dpo_client.get(reverse(CHANGELIST)).content.decode()
    assert "lot 2 sur 3 — campagne" in html and " de " + str(batches[0].campaign_id) not in html


def test_the_batch_page_shows_size_letters_and_fingerprint_never_the_server_path(batches, dpo_client, settings):
    batch = batches[0]
    html = dpo_client.get(reverse("admin:notifier_printbatch_change", args=[batch.pk])).content.decode()
    assert str(settings.VAR_DIR) not in html and batch.pdf_path not in html
    assert batch.manifest_sha256 not in html
    assert "empreinte" in html and batch.pdf_sha256[:8] in html
    assert re.search(r"\d+(,\d+)?\s*(Kio|Mio|octets)", html)
    assert "Télécharger le PDF des lettres" in html and "Remettre ce lot" in html


@pytest.mark.parametrize("kind", ["pdf", "manifest"])
def test_a_dpo_downloads_the_batch_file_streamed_and_audited(batches, dpo_client, kind):
    batch = batches[0]
    # when the laboratory's DPO downloads it
    response = dpo_client.get(reverse(f"admin:notifier_printbatch_{kind}", args=[batch.pk]))
    # then the file itself, as an attachment with a name the printer understands
    content = b"".join(response.streaming_content)
    stored = private_read(batch.pdf_path if kind == "pdf" else batch.manifest_path)
    assert response.status_code == 200 and content == stored
    assert hashlib.sha256(content).hexdigest() == (batch.pdf_sha256 if kind == "pdf" else batch.manifest_sha256)
    assert 'attachment; filename="lot-01-LABA-campagne-' in response["Content-Disposition"]
    # and the download is in the audit trail
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT, object_type="notifier.printbatch")
    assert event.object_id == str(batch.pk) and event.extra["file"] == kind and event.laboratory.code == "LABA"


def test_another_laboratory_and_the_cnil_liaison_cannot_download(batches, dpo_lab_b, cnil_liaison):
    url = reverse("admin:notifier_printbatch_pdf", args=[batches[0].pk])
    assert login_verified(Client(), dpo_lab_b).get(url).status_code == 404
    assert login_verified(Client(), cnil_liaison).get(url).status_code == 403
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


def test_a_changed_or_missing_file_is_refused_with_a_french_message(batches, dpo_client):
    first, second, _ = batches
    private_save(first.pdf_path, b"%PDF-1.7 autre chose")
    private_delete(second.pdf_path)
    for batch, message in ((first, "a été modifié depuis sa fabrication"), (second, "introuvable sur le serveur")):
        response = dpo_client.get(reverse("admin:notifier_printbatch_pdf", args=[batch.pk]), follow=True)
        assert response.status_code == 200 and message in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).exists()


def test_handing_over_asks_first_saying_how_many_letters_and_that_it_cannot_be_undone(batches, dpo_client):
    first, second, _ = batches
    # when the DPO chooses the action for two batches
    response = dpo_client.post(reverse(CHANGELIST), {"action": "hand_over", "index": 0,
                                                     "_selected_action": [first.pk, second.pk]})  # fmt: skip
    # then a confirmation page, and nothing has moved yet
    html = response.content.decode()
    assert response.status_code == 200
    assert "4 lettres" in html and "ne peut pas être annulée" in html and "Non, revenir aux lots" in html
    assert Notification.objects.filter(status=S.SENT).count() == 0
    # when they confirm
    dpo_client.post(reverse(CHANGELIST), {"action": "hand_over", "post": "yes",
                                          "_selected_action": [first.pk, second.pk]})  # fmt: skip
    # then those 4 letters are sent, the third batch's letter still waits
    assert Notification.objects.filter(status=S.SENT).count() == 4
    assert Notification.objects.filter(status=S.QUEUED).count() == 1
    # and asking again says it was already done
    again = dpo_client.post(reverse(CHANGELIST), {"action": "hand_over", "index": 0, "_selected_action": [first.pk]})
    assert "Déjà remis" in again.content.decode()


def test_the_handover_command_speaks_french_and_is_re_runnable(batches, approver):
    out = StringIO()
    call_command("campaign", "handover", str(batches[2].pk), "--by", approver.username, stdout=out)
    assert out.getvalue().strip() == (
        "lot 3 sur 3 — campagne «\u00a0Information des patients\u00a0» (LABA) remis à l'imprimeur / La Poste : "
        "1 lettre(s) passent à l'état « envoyée »."
    )
    again = StringIO()
    call_command("campaign", "handover", str(batches[2].pk), "--by", approver.username, stdout=again)
    assert "déjà remis le" in again.getvalue() and "rien à faire" in again.getvalue()
    assert Campaign.objects.get(pk=batches[0].campaign_id).status == Campaign.Status.RUNNING
