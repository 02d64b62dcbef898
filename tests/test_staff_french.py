"""Staff pages read as French: field labels, choices, event types, reject reasons, import/export screens, the
admin's own chrome whatever the browser's language; English only when a person picks it with the switch."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from notifier import campaigns
from notifier.models import DeliveryEvent, Notification
from patients import importer
from patients.models import ImportBatch, ImportRejection
from tests.access_fixtures import login_verified
from tests.factories import BreachFactory, PatientFactory

PROJECT_APPS = {"labs", "patients", "letters", "notifier", "status_page", "dashboards"}
# Labels that are the same word in French as the field's English name.
SAME_IN_FRENCH = {"action", "code", "description", "message", "notification", "obligation", "patient", "source", "type"}


def _project_admin_fields():
    for model in admin.site._registry:
        if model._meta.app_label not in PROJECT_APPS:
            continue
        for field in model._meta.get_fields():
            if getattr(field, "concrete", False) and not field.auto_created:
                yield model, field


@pytest.mark.parametrize(
    ("model", "field"), list(_project_admin_fields()), ids=lambda value: getattr(value, "name", str(value))
)
def test_every_field_shown_in_the_admin_has_a_french_label(model, field):
    # Django's default label is the field's English name with spaces ("started at", "breach"): never shown
    label = str(field.verbose_name)
    assert label != field.name.replace("_", " ") or label in SAME_IN_FRENCH, f"{model._meta.label}.{field.name}"


def test_every_admin_model_has_a_french_name():
    for model in admin.site._registry:
        if model._meta.app_label in PROJECT_APPS:
            name = str(model._meta.verbose_name)
            assert name != model.__name__.lower() or name in SAME_IN_FRENCH, model._meta.label


@pytest.mark.django_db
def test_delivery_event_types_are_shown_as_french_words(admin_client, lab_a, django_user_model):
    # given a bounced email, a letter handed over to the printer, a notice read, and a type unknown here
    patient = PatientFactory(laboratory=lab_a)
    user = django_user_model.objects.create_user("auteur", is_staff=True)
    campaign = campaigns.campaign_create(breach=patient.breach, laboratory=lab_a, name="Information", by=user)
    notification = Notification.objects.create(
        campaign=campaign, patient=patient, channel="email", reference="N1-1-E", code_digest="0" * 64
    )
    now = timezone.now()
    for event_type in ("bounced", "handed_over", "acknowledged", "something_new"):
        DeliveryEvent.objects.create(notification=notification, event_type=event_type, at=now, source="esp")
    # when the delivery events list is opened
    page = html.unescape(admin_client.get(reverse("admin:notifier_deliveryevent_changelist")).content.decode())
    # then each type is a French word; an unknown type is shown as it came (nothing is lost)
    for french in ("rejeté par le serveur du destinataire", "remis à l'imprimeur", "lu par le patient"):
        assert french in page, french
    assert "something_new" in page
    assert ">bounced<" not in page and ">handed_over<" not in page


@pytest.mark.django_db
def test_import_reject_reasons_are_shown_in_french(admin_client):
    # given an import with rejected records
    batch = ImportBatch.objects.create(breach=BreachFactory(), file_name="fuite.csv", sha256="a" * 64)
    for number, reason in enumerate(["no_identity", "unknown_lab_code", "field_count"], start=1):
        ImportRejection.objects.create(batch=batch, record_number=number, line_number=number + 1, reason=reason,
                                       message="…")  # fmt: skip
    # when the import's page is opened
    page = admin_client.get(reverse("admin:patients_importbatch_change", args=[batch.pk])).content.decode()
    # then the reasons read as French
    for french in ("ni nom ni NIR", "code de laboratoire inconnu", "nombre de colonnes inattendu"):
        assert french in page, french
    assert "no_identity" not in page and "unknown_lab_code" not in page


def test_every_reject_reason_of_the_importer_has_a_french_label():
    constants = {importer.FIELD_COUNT, importer.UNDECODABLE, importer.UNPARSEABLE, importer.NO_LAB_CODE,
                 importer.LAB_CODE_TOO_LONG, importer.UNKNOWN_LAB_CODE, importer.NO_IDENTITY}  # fmt: skip
    assert constants <= set(ImportRejection.Reason.values)


@pytest.mark.django_db
def test_the_admin_is_french_even_for_a_browser_asking_for_english(admin_client):
    # given a staff member whose browser prefers English
    # when they open the admin index
    page = admin_client.get(reverse("admin:index"), headers={"accept-language": "en-GB,en;q=0.9"}).content.decode()
    # then the admin's own words are French
    assert "Déconnexion" in page and "Log out" not in page
    assert '<html lang="fr"' in page


@pytest.mark.django_db
def test_the_language_switch_turns_the_admin_english_and_back(admin_client):
    # given the admin in French, with its language switch
    index = reverse("admin:index")
    page = admin_client.get(index).content.decode()
    switch = reverse("admin:set_language")
    assert f'action="{switch}"' in page
    # when English is chosen
    response = admin_client.post(switch, {"language": "en", "next": index})
    assert response.status_code == 302 and response.url == index
    # then the admin speaks English
    page = admin_client.get(index).content.decode()
    assert "Log out" in page and '<html lang="en"' in page and "Notifier — data breaches" in page
    # and back to French
    admin_client.post(switch, {"language": "fr", "next": index})
    assert "Déconnexion" in admin_client.get(index).content.decode()


@pytest.mark.django_db
def test_the_language_switch_refuses_a_language_it_does_not_offer_without_an_error(admin_client):
    response = admin_client.post(reverse("admin:set_language"), {"language": "xx", "next": "/admin/"})
    assert response.status_code == 302
    assert "Déconnexion" in admin_client.get(reverse("admin:index")).content.decode()


def _labels(page: str) -> list[str]:
    return [" ".join(html.unescape(label).split()) for label in re.findall(r"<label[^>]*>([^<]*)</label>", page)]


@pytest.mark.django_db
def test_the_export_screen_of_import_export_is_french(admin_client):
    # when the patients' export screen is opened
    page = admin_client.get(reverse("admin:patients_patient_export")).content.decode()
    labels = _labels(page)
    # then django-import-export's own words come out French, and each box is named by its French column
    assert "Exporter" in page and "Tout sélectionner" in labels
    assert "laboratoire" in labels and "date de naissance" in labels and "données exposées" in labels
    assert not [label for label in labels if re.search(r"\b(Select|Laboratory|Birth|Exposure|Record)\b", label)]


@pytest.mark.django_db
def test_the_laboratories_export_picker_names_fields_in_french_with_their_column(admin_client):
    labels = _labels(admin_client.get(reverse("admin:labs_laboratory_export")).content.decode())
    # the columns keep the file's header (an import reads them back), the label says what it is
    assert "nom (name)" in labels and "courriel du DPO (dpo_email)" in labels and "code dans la fuite (code)" in labels
    assert "Dpo Email" not in labels and "Name" not in labels


@pytest.mark.django_db
def test_voir_le_site_leads_to_the_users_dashboard(client, dpo_lab_a, cnil_liaison):
    # given a DPO: « Voir le site » leads to their dashboard, which opens
    login_verified(client, dpo_lab_a)
    page = client.get(reverse("admin:index")).content.decode()
    assert f'href="{reverse("dashboards:dpo")}"' in page
    assert client.get(reverse("dashboards:dpo")).status_code == 200
    # and the CNIL liaison's leads to theirs
    client.logout()
    login_verified(client, cnil_liaison)
    page = client.get(reverse("admin:index")).content.decode()
    assert f'href="{reverse("dashboards:cnil")}"' in page
    assert 'href="/"' not in page


@pytest.mark.django_db
def test_a_staff_member_without_a_dashboard_sees_no_voir_le_site_link(client, django_user_model):
    user = django_user_model.objects.create_user("sans-role", password="x" * 16, is_staff=True)
    login_verified(client, user)
    page = client.get(reverse("admin:index")).content.decode()
    assert "Voir le site" not in page
