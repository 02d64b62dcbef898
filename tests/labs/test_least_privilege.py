"""Issue #11, findings 1 and 2, replayed as the tester did them (synthetic data).

1. Any staff user rewrote any laboratory through the Laboratories import (cross-lab match on the code).
2. The CNIL liaison acted on campaigns, exported a call list, handed a print batch over and read
   delivery events (bounce texts with patient emails, per-letter references).
"""

from __future__ import annotations

import html

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from labs.audit import AuditEvent
from labs.models import Laboratory
from notifier import campaigns
from notifier.models import Campaign, DeliveryEvent, Notification, PrintBatch
from tests.access_fixtures import make_staff
from tests.factories import BreachFactory, PatientFactory, case_file_complete

pytestmark = pytest.mark.django_db

LAB_CSV = (
    "code,name,dpo_email\n"
    "LAB-B,Laboratoire pirate,pirate@evil.example\n"
    "LAB-NEW,Laboratoire inventé,nouveau@evil.example\n"
)


def _import_as(client, username_fixture_user, login_verified):
    login_verified(client, username_fixture_user)
    upload = SimpleUploadedFile("labs.csv", LAB_CSV.encode(), content_type="text/csv")
    preview = client.post(reverse("admin:labs_laboratory_import"), {"format": 0, "resource": 0, "import_file": upload})
    confirm = client.post(
        reverse("admin:labs_laboratory_process_import"),
        {"format": 0, "resource": 0, "import_file_name": "x", "original_file_name": "labs.csv"},
    )
    changelist = client.get(reverse("admin:labs_laboratory_changelist"))
    return preview, confirm, changelist


@pytest.mark.parametrize("persona", ["dpo_lab_a", "operator_lab_a", "cnil_liaison"])
def test_no_staff_role_may_import_laboratories_nor_is_offered_the_button(
    persona, request, client, login_verified, lab_a, lab_b
):
    # given LAB-B's contact, and a staff member of another role
    user = request.getfixturevalue(persona)
    # when they upload a laboratory file that rewrites LAB-B and adds a laboratory
    preview, confirm, changelist = _import_as(client, user, login_verified)
    # then both steps are refused, no Import button is shown, LAB-B is untouched and nothing is created
    assert (preview.status_code, confirm.status_code) == (403, 403)
    assert changelist.status_code == 200 and changelist.context["has_import_permission"] is False
    assert reverse("admin:labs_laboratory_import") not in changelist.content.decode()
    lab_b.refresh_from_db()
    assert (lab_b.name, lab_b.dpo_email) == ("Laboratoire B", "dpo@lab-b.example")
    assert not Laboratory.objects.filter(code="LAB-NEW").exists()


def test_a_superusers_laboratory_import_lands_in_the_audit_trail_row_by_row(admin_client, lab_b):
    # given the superuser's import page
    upload = SimpleUploadedFile("labs.csv", LAB_CSV.encode(), content_type="text/csv")
    preview = admin_client.post(
        reverse("admin:labs_laboratory_import"), {"format": 0, "resource": 0, "import_file": upload}
    )
    # when the import is confirmed
    admin_client.post(reverse("admin:labs_laboratory_process_import"), preview.context["confirm_form"].initial)
    # then each changed or created laboratory has its own event, naming the laboratory and the import
    events = AuditEvent.objects.filter(object_type="labs.laboratory", extra__via="import")
    assert sorted((e.action, e.laboratory.code) for e in events) == [("add", "LAB-NEW"), ("change", "LAB-B")]
    assert {e.actor_username for e in events} == {"admin"}


def test_only_the_laboratorys_own_dpo_changes_its_contact_and_the_change_is_audited(
    client, login_verified, dpo_lab_a, operator_lab_a, lab_a, lab_b
):
    form = {
        "code": "LAB-A", "name": "Laboratoire A renommé", "address_line": "1 rue", "postcode": "35000",
        "city": "Rennes", "country": "FR", "dpo_name": "Nouvelle DPO", "dpo_email": "nouvelle@lab-a.example",
        "dpo_phone": "", "finess_ej": "", "finess_eg": "", "siren": "", "legal_representative_name": "",
    }  # fmt: skip
    url_a = reverse("admin:labs_laboratory_change", args=[lab_a.pk])
    # when the operator of A tries, then it is refused (the page is read-only, a POST 403)
    assert login_verified(client, operator_lab_a).post(url_a, form).status_code == 403
    # when the DPO of A posts to B's page, then B does not exist for them
    login_verified(client, dpo_lab_a)
    assert client.post(reverse("admin:labs_laboratory_change", args=[lab_b.pk]), form).status_code == 404
    # when the DPO of A changes A, then it is saved and the change is in the trail
    response = client.post(url_a, form)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    lab_a.refresh_from_db()
    assert lab_a.dpo_email == "nouvelle@lab-a.example"
    assert AuditEvent.objects.filter(action="change", object_type="labs.laboratory", laboratory=lab_a).exists()
    lab_b.refresh_from_db()
    assert lab_b.name == "Laboratoire B"


# --- finding 2: the CNIL liaison --------------------------------------------------------------------------
@pytest.fixture
def lab_b_campaigns(lab_b, dpo_lab_b):
    """LAB-B's campaigns: a draft, an approved one, a running one with a built print batch and a bounce."""
    breach = BreachFactory()
    PatientFactory(breach=breach, laboratory=lab_b, last_name="Patiente", email="patiente@example.org")
    author = make_staff("author-b", role="Opérateur", laboratories=[lab_b])
    case_file_complete(breach=breach, laboratory=lab_b)  # the launch gate's Art. 34(2) facts
    draft = campaigns.campaign_create(breach=breach, laboratory=lab_b, name="Brouillon", by=author)
    approved = campaigns.campaign_create(breach=breach, laboratory=lab_b, name="Approuvée", by=author)
    campaigns.campaign_approve(campaign=approved, by=dpo_lab_b)
    batch = PrintBatch.objects.create(campaign=approved, sequence=1, letter_count=1, built_at=timezone.now())
    patient = lab_b.patients.first()
    letter = Notification.objects.create(
        campaign=approved, patient=patient, channel="post", status="queued", reference="REF-B-1", print_batch=batch
    )
    email = Notification.objects.create(
        campaign=approved, patient=patient, channel="email", status="failed", reference="REF-B-2"
    )
    DeliveryEvent.objects.create(
        notification=email, event_type="bounced", at=timezone.now(), source="smtp", event_id="b-1",
        reason="550 patiente@example.org: user unknown",
    )  # fmt: skip
    return {"draft": draft, "approved": approved, "batch": batch, "letter": letter}


CAMPAIGN_ACTIONS = ["approve", "launch", "pause", "resume", "cancel", "export_call_centre_list",
                    "export_call_centre_list_xlsx"]  # fmt: skip


def test_the_cnil_liaison_is_offered_no_campaign_action_and_every_post_is_refused(
    client, login_verified, cnil_liaison, lab_b_campaigns
):
    login_verified(client, cnil_liaison)
    url = reverse("admin:notifier_campaign_changelist")
    # when the liaison opens the campaigns, then no action is offered
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["action_form"] is None or not page.context["cl"].model_admin.get_actions(page.wsgi_request)
    # when they post each action anyway, then each is refused and nothing changed nor was exported
    draft, approved = lab_b_campaigns["draft"], lab_b_campaigns["approved"]
    for action in CAMPAIGN_ACTIONS:
        response = client.post(url, {"action": action, ACTION_CHECKBOX_NAME: [draft.pk, approved.pk]})
        assert response.status_code == 403, action
        assert "Patiente" not in response.content.decode(errors="replace")
    assert Campaign.objects.get(pk=draft.pk).status == Campaign.Status.DRAFT
    assert Campaign.objects.get(pk=approved.pk).status == Campaign.Status.APPROVED


def test_the_cnil_liaison_cannot_hand_a_print_batch_over_nor_read_per_letter_rows(
    client, login_verified, cnil_liaison, lab_b_campaigns
):
    login_verified(client, cnil_liaison)
    batch = lab_b_campaigns["batch"]
    # when the liaison posts "hand over" on LAB-B's batch
    response = client.post(
        reverse("admin:notifier_printbatch_changelist"), {"action": "hand_over", ACTION_CHECKBOX_NAME: [batch.pk]}
    )
    # then it is refused, the batch is not handed over and its letter is not "sent"
    assert response.status_code == 403
    batch.refresh_from_db()
    assert batch.handed_over_at is None
    assert Notification.objects.get(reference="REF-B-1").status == "queued"
    # and every per-letter list is closed to them: letters, delivery events (bounce texts), print batches
    for name in ("notification", "deliveryevent", "printbatch"):
        listing = client.get(reverse(f"admin:notifier_{name}_changelist"))
        assert listing.status_code == 403, name
        assert "patiente@example.org" not in listing.content.decode() and "REF-B" not in listing.content.decode()
    # nor is the returned-mail import (a write) open to them
    assert client.get(reverse("admin:notifier_notification_import")).status_code == 403


def test_a_dpo_acting_on_another_laboratorys_campaign_gets_404_and_nothing_moves(
    client, login_verified, dpo_lab_a, lab_b_campaigns
):
    # given the DPO of A, when they post "cancel" with LAB-B's approved campaign selected
    login_verified(client, dpo_lab_a)
    approved = lab_b_campaigns["approved"]
    response = client.post(
        reverse("admin:notifier_campaign_changelist"), {"action": "cancel", ACTION_CHECKBOX_NAME: [approved.pk]}
    )
    # then it does not exist for them, and the campaign is still approved
    assert response.status_code == 404
    assert Campaign.objects.get(pk=approved.pk).status == Campaign.Status.APPROVED


def test_a_refused_action_says_why_in_french(client, login_verified, cnil_liaison, lab_b_campaigns):
    login_verified(client, cnil_liaison)
    response = client.post(
        reverse("admin:notifier_campaign_changelist"),
        {"action": "approve", ACTION_CHECKBOX_NAME: [lab_b_campaigns["draft"].pk]},
    )
    assert response.status_code == 403
    assert "Action non autorisée" in html.unescape(response.content.decode())


@pytest.mark.parametrize(
    ("persona", "offered"), [("dpo_lab_a", True), ("operator_lab_a", False), ("cnil_liaison", False)]
)
def test_the_file_with_the_cnil_button_is_shown_only_to_those_who_may_file(
    persona, offered, request, client, login_verified, lab_a
):
    from labs.models import BreachLaboratory

    # given A's case file
    case_file = BreachLaboratory.objects.create(breach=BreachFactory(), laboratory=lab_a, aware_at=timezone.now())
    login_verified(client, request.getfixturevalue(persona))
    # when the persona opens it
    page = client.get(reverse("admin:labs_breachlaboratory_change", args=[case_file.pk]))
    file_url = reverse("admin:labs_breachlaboratory_file", args=[case_file.pk])
    # then the button is there exactly when the filing page would accept them
    assert page.status_code == 200
    assert (file_url in page.content.decode()) is offered
    assert (client.get(file_url).status_code == 200) is offered
