import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from labs import access
from labs.models import Laboratory
from tests.access_fixtures import PASSWORD, make_staff

pytestmark = pytest.mark.django_db


def test_a_dpo_sees_only_their_laboratories(dpo_lab_a, lab_a, lab_b):
    # given a DPO of A, when their laboratories are asked, then only A comes back
    assert list(access.laboratories_for(dpo_lab_a)) == [lab_a]
    assert list(access.scope_queryset(Laboratory.objects.all(), dpo_lab_a, "pk")) == [lab_a]


def test_the_cnil_liaison_sees_every_laboratory_but_may_not_read_patient_data(cnil_liaison, lab_a, lab_b):
    # given the CNIL liaison, when laboratories and permissions are asked
    labs = set(access.laboratories_for(cnil_liaison))
    # then all laboratories, filings yes, patient rows no
    assert labs == {lab_a, lab_b}
    assert cnil_liaison.has_perm("labs.view_lab_data")
    assert not cnil_liaison.has_perm("labs.read_patient_data")
    assert not cnil_liaison.has_perm("labs.file_with_cnil")


def test_a_user_without_role_or_an_inactive_dpo_sees_nothing(dpo_lab_a, lab_a):
    # given a staff user without a role, and the DPO deactivated
    nobody = make_staff("nobody")
    dpo_lab_a.is_active = False
    # then neither sees any laboratory
    assert not access.laboratories_for(nobody).exists()
    assert not access.laboratories_for(dpo_lab_a).exists()


def test_rows_without_a_laboratory_are_for_superusers_only(dpo_lab_a, admin_user, lab_a):
    # given a model scoped with lab_path=None, then the DPO gets nothing and the superuser everything
    assert not access.scope_queryset(Laboratory.objects.all(), dpo_lab_a, None).exists()
    assert access.scope_queryset(Laboratory.objects.all(), admin_user, None).count() == 1


def test_the_admin_requires_a_verified_second_factor(client, dpo_lab_a):
    # given a DPO logged in with a password only
    client.force_login(dpo_lab_a)
    # when they open the admin, then they are sent to the log-in page (which asks for the OTP token)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    login_page = client.get(response["Location"])
    assert "otp_token" in login_page.content.decode()


def test_a_verified_dpo_opens_their_laboratory_and_gets_404_on_another(client, login_verified, dpo_lab_a, lab_a, lab_b):
    # given a DPO of A with a verified device
    login_verified(client, dpo_lab_a)
    # when they open A's and B's change pages
    own = client.get(reverse("admin:labs_laboratory_change", args=[lab_a.pk]))
    other = client.get(reverse("admin:labs_laboratory_change", args=[lab_b.pk]))
    # then A opens, B does not exist for them
    assert own.status_code == 200
    assert other.status_code == 404


def test_the_admin_client_fixture_is_a_verified_superuser(admin_client):
    # given pytest-django's admin_client (overridden), when it opens the admin index, then it gets in
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200


def test_a_wrong_code_or_no_code_does_not_log_in(client, dpo_lab_a):
    # given a DPO with one confirmed TOTP device
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=dpo_lab_a, name="phone", confirmed=True)
    wrong = f"{(totp(device.bin_key) + 1) % 1_000_000:06d}"
    url = reverse("admin:login")
    # when they send the right password with a wrong code, then with no code
    for token in (wrong, ""):
        response = client.post(url, {"username": "dpo-a", "password": PASSWORD, "otp_token": token})
        # then the log-in page comes back and the admin stays closed
        assert response.status_code == 200
        assert client.get(reverse("admin:index")).status_code == 302


def test_log_in_with_password_and_totp_code_then_lockout_after_repeated_failures(client, dpo_lab_a, settings):
    # given a DPO with a confirmed TOTP device and a limit of 3 failures
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.AXES_FAILURE_LIMIT = 3
    device = TOTPDevice.objects.create(user=dpo_lab_a, name="phone", confirmed=True)
    code = f"{totp(device.bin_key):06d}"
    url = reverse("admin:login")
    # when they log in with the password and the right code, then they are in
    ok = client.post(url, {"username": "dpo-a", "password": PASSWORD, "otp_token": code})  # one device: no choice
    assert ok.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200
    client.logout()
    # when the password is wrong three times, then even the right password is refused afterwards
    for _ in range(3):
        client.post(url, {"username": "dpo-a", "password": "wrong", "otp_token": "000000"})
    locked = client.post(
        url, {"username": "dpo-a", "password": PASSWORD, "otp_device": device.persistent_id, "otp_token": code}
    )
    assert locked.status_code in (403, 429)
    assert "_auth_user_id" not in client.session
    assert get_user_model().objects.filter(username="dpo-a").exists()


def test_the_audit_trail_is_shown_to_a_dpo_for_their_laboratory_and_never_to_the_cnil_liaison(
    client, login_verified, dpo_lab_a, cnil_liaison, lab_a, lab_b
):
    # given events of A, of B, and one without a laboratory (a patient search typed by staff)
    from labs.audit import audit_record

    audit_record(actor=None, action="import", laboratory=lab_a)
    audit_record(actor=None, action="import", laboratory=lab_b)
    audit_record(actor=dpo_lab_a, action="list", object_type="patients.patient", query="q=Durand")
    url = reverse("admin:labs_auditevent_changelist")
    # when the DPO of A and the CNIL liaison open the trail
    as_dpo = login_verified(client, dpo_lab_a).get(url)
    as_cnil = login_verified(client, cnil_liaison).get(url)
    # then the DPO sees A's single event; the liaison is refused
    assert as_dpo.status_code == 200
    assert as_dpo.context["cl"].result_count == 1
    assert as_cnil.status_code == 403


def test_an_add_form_offers_and_accepts_only_the_users_laboratories(client, login_verified, dpo_lab_a, lab_a, lab_b):
    from labs.models import BreachLaboratory
    from notifier.models import Campaign
    from tests.factories import BreachFactory

    # given a breach both laboratories are party to, and A's DPO
    breach = BreachFactory()
    for lab in (lab_a, lab_b):
        BreachLaboratory.objects.create(breach=breach, laboratory=lab, aware_at=breach.aware_at)
    login_verified(client, dpo_lab_a)
    url = reverse("admin:notifier_campaign_add")
    # when they open the campaign form: only A is offered
    page = client.get(url).content.decode()
    assert f'value="{lab_a.pk}"' in page and f'value="{lab_b.pk}"' not in page
    # and when they post B's id anyway: refused on the field, nothing created
    form = {"breach": breach.pk, "laboratory": lab_b.pk, "name": "Vague 1", "language": "fr",
            "channel_policy": "post", "letter_template": "", "email_template": "breach_notice",
            "actions-TOTAL_FORMS": 0, "actions-INITIAL_FORMS": 0}  # fmt: skip
    response = client.post(url, form)
    assert response.status_code == 200 and "laboratory" in response.context["adminform"].form.errors
    assert not Campaign.objects.exists()
    # and with their own laboratory it is created
    assert client.post(url, {**form, "laboratory": lab_a.pk}).status_code == 302
    assert Campaign.objects.get().laboratory == lab_a
