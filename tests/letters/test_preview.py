"""The DPO previews sample letters (and the email) before approving a campaign."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from labs.audit import AuditEvent
from letters.selectors import preview_samples
from patients.categories import Exposure
from tests.factories import BreachFactory, PatientFactory

from .conftest import ADULT_BIRTH, CHILD_BIRTH, pdf_text

pytestmark = pytest.mark.django_db

A = int(Exposure.IDENTITY | Exposure.POSTAL_ADDRESS)
B = A | int(Exposure.NIR)
C = B | int(Exposure.MEDICAL_COMMENT)


@pytest.fixture
def breach_a(lab_a):
    breach = BreachFactory(slug="preview")
    for mask, birth in [(A, ADULT_BIRTH), (A, ADULT_BIRTH), (B, ADULT_BIRTH), (C, ADULT_BIRTH), (A, CHILD_BIRTH)]:
        PatientFactory(breach=breach, laboratory=lab_a, exposure_mask=mask, birth_date=birth)
    return breach


def test_samples_cover_each_combination_once_and_include_a_minor(breach_a, lab_a, lab_b):
    # given patients with three combinations of categories, and one minor sharing the commonest one
    PatientFactory(breach=breach_a, laboratory=lab_b, exposure_mask=int(Exposure.EMAIL))
    # when the samples are chosen for laboratory A
    samples = preview_samples(breach=breach_a, laboratory=lab_a)
    # then there is one per combination (most frequent first), plus the minor, and none of lab B
    assert [p.exposure_mask for p in samples] == [A, B, C, A]
    assert [p.birth_date == CHILD_BIRTH for p in samples] == [False, False, False, True]
    assert {p.laboratory_id for p in samples} == {lab_a.pk}


def test_the_sample_minor_is_a_minor_by_age_not_by_the_leaks_civility(lab_a):
    # given an adult the leak calls "Enfant" (flagged minor at import by the old rule) and a real child
    breach = BreachFactory(slug="preview-age")
    PatientFactory(breach=breach, laboratory=lab_a, exposure_mask=A, birth_date=ADULT_BIRTH, civility="Enfant",
                   is_minor=True)  # fmt: skip
    PatientFactory(breach=breach, laboratory=lab_a, exposure_mask=A, birth_date=ADULT_BIRTH)
    child = PatientFactory(breach=breach, laboratory=lab_a, exposure_mask=A, birth_date=CHILD_BIRTH)
    # when the samples are chosen, then the minor sample is the child
    samples = preview_samples(breach=breach, laboratory=lab_a, on=dt.date(2026, 11, 22))
    assert samples[-1] == child


def test_dpo_sees_samples_with_pdf_links_and_the_email(client, login_verified, dpo_lab_a, breach_a, lab_a):
    # given the DPO of laboratory A, logged in with a second factor
    login_verified(client, dpo_lab_a)
    # when they open the preview
    response = client.get(reverse("letters:preview", args=[breach_a.pk, lab_a.pk]))
    # then the page lists the samples with French and English letter links, and the email
    assert response.status_code == 200
    body = response.content.decode()
    sample = preview_samples(breach=breach_a, laboratory=lab_a)[0]
    assert reverse("letters:preview_pdf", args=[breach_a.pk, lab_a.pk, sample.pk, "en"]) in body
    assert "un commentaire lié à votre santé" in body
    # and the email in each language and each of its three wordings
    for language in ("FR", "EN"):
        for wording in (
            "un courrier suit aussi par la poste",
            "courriel seulement",
            "envoyé car le courrier est revenu",
        ):
            assert f"Courriel ({language}, {wording})" in body
    assert AuditEvent.objects.filter(action="letters.preview").count() == 1


def test_sample_letter_pdf_is_marked_specimen_and_audited(client, login_verified, dpo_lab_a, breach_a, lab_a):
    # given the DPO of laboratory A
    login_verified(client, dpo_lab_a)
    sample = preview_samples(breach=breach_a, laboratory=lab_a)[-1]
    # when they open a sample letter
    response = client.get(reverse("letters:preview_pdf", args=[breach_a.pk, lab_a.pk, sample.pk, "fr"]))
    # then it is that patient's letter with a made-up code marked SPÉCIMEN, and the view is audited
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "SPÉCIMEN" in text and "Aux parents ou représentant légal de" in text
    assert AuditEvent.objects.filter(action="letters.preview_pdf", object_id=str(sample.pk)).exists()


def test_another_laboratorys_dpo_cannot_preview(client, login_verified, dpo_lab_b, breach_a, lab_a):
    # given the DPO of laboratory B
    login_verified(client, dpo_lab_b)
    sample = preview_samples(breach=breach_a, laboratory=lab_a)[0]
    # when they try laboratory A's preview and sample letter
    page = client.get(reverse("letters:preview", args=[breach_a.pk, lab_a.pk]))
    pdf = client.get(reverse("letters:preview_pdf", args=[breach_a.pk, lab_a.pk, sample.pk, "fr"]))
    # then both are not found for them
    assert (page.status_code, pdf.status_code) == (404, 404)


def test_cnil_liaison_and_anonymous_users_get_no_patient_letter(client, login_verified, cnil_liaison, breach_a, lab_a):
    # given an anonymous visitor, then the CNIL liaison (aggregates only)
    url = reverse("letters:preview", args=[breach_a.pk, lab_a.pk])
    anonymous = client.get(url)
    login_verified(client, cnil_liaison)
    liaison = client.get(url)
    # then the visitor is sent to the admin login and the liaison is refused
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    assert liaison.status_code == 403
