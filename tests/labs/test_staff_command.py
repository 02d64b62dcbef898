"""`manage.py staff add|totp|deactivate|list`: staff accounts with a role, laboratories and a second factor, in production."""

from __future__ import annotations

import json
import re
from io import StringIO
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from labs import access
from labs.audit import AuditEvent

pytestmark = pytest.mark.django_db
User = get_user_model()


def run(*args: str) -> str:
    out = StringIO()
    call_command("staff", *args, stdout=out)
    return out.getvalue()


def run_json(*args: str) -> dict:
    return json.loads(run(*args, "--json"))


@pytest.fixture(autouse=True)
def production(settings):
    """The command is meant for production: every test runs as there (unlike demo_users)."""
    settings.PRODUCTION = True


def test_add_creates_a_dpo_of_two_laboratories_with_a_password_shown_once(lab_a, lab_b, rf):
    # when
    out = run("add", "m.durand", "--role", "dpo", "--labs", "LAB-A, LAB-B", "--email", "m.durand@lab-a.example",
              "--first-name", "Marie", "--last-name", "Durand")  # fmt: skip
    # then a staff account, not a superuser, in the DPO role for exactly those laboratories
    user = User.objects.get(username="m.durand")
    assert (user.is_staff, user.is_active, user.is_superuser) == (True, True, False)
    assert (user.email, user.first_name, user.last_name) == ("m.durand@lab-a.example", "Marie", "Durand")
    assert access.role_names(user) == [access.DPO]
    assert sorted(access.laboratories_for(user).values_list("code", flat=True)) == ["LAB-A", "LAB-B"]
    # and the password printed once logs in
    password = re.search(r"mot de passe provisoire \(affiché une seule fois\) : (\S+)", out).group(1)
    assert authenticate(rf.post("/admin/login/"), username="m.durand", password=password) is not None
    assert "manage.py staff totp m.durand" in out
    # and it is in the audit trail, without the password
    event = AuditEvent.objects.get(action="staff_add")
    assert event.object_id == str(user.pk) and event.extra["role"] == access.DPO
    assert event.extra["laboratories"] == ["LAB-A", "LAB-B"] and password not in json.dumps(event.extra)


def test_running_add_again_changes_role_and_laboratories_and_keeps_the_password(lab_a, lab_b):
    # given an operator of A
    first = run_json("add", "p.martin", "--role", "operateur", "--labs", "LAB-A", "--email", "p@lab-a.example")
    user = User.objects.get(username="p.martin")
    password_hash = user.password
    # when the same command runs again, now a DPO of B
    again = run_json("add", "p.martin", "--role", "dpo", "--labs", "LAB-B", "--email", "p@lab-a.example")
    # then one account, one role, B only; the password is neither changed nor shown
    user.refresh_from_db()
    assert User.objects.filter(username="p.martin").count() == 1
    assert access.role_names(user) == [access.DPO]
    assert list(access.laboratories_for(user).values_list("code", flat=True)) == ["LAB-B"]
    assert first["created"] is True and first["password"]
    assert again["created"] is False and again["password"] is None and user.password == password_hash
    assert AuditEvent.objects.filter(action="staff_add", object_id=str(user.pk)).count() == 2


def test_a_cnil_liaison_gets_every_laboratory_and_no_membership(lab_a, lab_b):
    run("add", "liaison", "--role", "liaison", "--email", "liaison@cnil.example")
    user = User.objects.get(username="liaison")
    assert access.role_names(user) == [access.CNIL_LIAISON]
    assert access.laboratories_for(user).count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "chef", "--labs", "LAB-A"], "Rôle inconnu « chef » : dpo, operateur, liaison ou centre-appels"),
        (["--role", "dpo"], "Un DPO, un opérateur ou un agent du centre d'appels a au moins un laboratoire : --labs"),
        (["--role", "operateur", "--labs", "LAB-A,LAB-Z"], "Laboratoire inconnu : LAB-Z"),
        (["--role", "liaison", "--labs", "LAB-A"], "La liaison CNIL voit tous les laboratoires : sans --labs"),
        (["--role", "dpo", "--labs", "LAB-A", "--email", "pas-une-adresse"], "Adresse électronique invalide"),
        (["--labs", "LAB-A"], "Le rôle est obligatoire : --role dpo, operateur, liaison ou centre-appels"),
    ],
)
def test_bad_input_to_add_is_refused_in_french_and_creates_nothing(lab_a, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        run("add", "x.nouveau", *args)
    assert not User.objects.filter(username="x.nouveau").exists()
    assert not AuditEvent.objects.exists()


def test_add_refuses_a_bad_username_and_a_superuser_account(lab_a):
    with pytest.raises(CommandError, match="Identifiant invalide"):
        run("add", "pas d'espace", "--role", "dpo", "--labs", "LAB-A")
    User.objects.create_superuser("root", "root@example.org", "a long enough password 42")
    with pytest.raises(CommandError, match="superutilisateur"):
        run("add", "root", "--role", "dpo", "--labs", "LAB-A")
    assert User.objects.get(username="root").groups.count() == 0


def test_a_missing_argument_or_an_unknown_subcommand_is_told_in_french():
    with pytest.raises(CommandError, match="arguments obligatoires manquants"):
        run("add")
    with pytest.raises(CommandError, match="choix invalide"):
        run("supprimer", "x")


def test_totp_enrols_a_device_and_shows_its_url_and_a_terminal_qr_once(lab_a):
    run("add", "m.durand", "--role", "dpo", "--labs", "LAB-A")
    user = User.objects.get(username="m.durand")
    # when
    out = run("totp", "m.durand")
    # then one confirmed device, whose otpauth URL is printed with a QR code drawn in the terminal
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed
    (url,) = re.findall(r"otpauth://totp/\S+", out)
    assert url == device.config_url
    assert "█" in out or "▀" in out
    # and a code computed from the printed secret is accepted by the device
    secret = parse_qs(urlparse(url).query)["secret"][0]
    assert secret.rstrip("=") in out
    assert device.verify_token(f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}")
    assert AuditEvent.objects.filter(action="staff_totp", object_id=str(user.pk)).count() == 1
    # when run again: refused (the secret is never shown twice) unless --reset, which replaces the device
    with pytest.raises(CommandError, match="déjà un second facteur"):
        run("totp", "m.durand")
    reset = run("totp", "m.durand", "--reset")
    assert TOTPDevice.objects.filter(user=user).count() == 1
    assert TOTPDevice.objects.get(user=user).pk != device.pk and device.config_url not in reset


def test_deactivate_blocks_the_log_in_and_is_audited(lab_a, rf):
    added = run_json("add", "p.martin", "--role", "operateur", "--labs", "LAB-A")
    # when
    out = run("deactivate", "p.martin")
    # then
    user = User.objects.get(username="p.martin")
    assert not user.is_active and "désactivé" in out
    assert authenticate(rf.post("/admin/login/"), username="p.martin", password=added["password"]) is None
    assert not access.laboratories_for(user).exists()
    assert AuditEvent.objects.filter(action="staff_deactivate", object_id=str(user.pk)).count() == 1
    # and a deactivated account is not silently brought back by add
    with pytest.raises(CommandError, match="désactivé.*--reactivate"):
        run("add", "p.martin", "--role", "operateur", "--labs", "LAB-A")
    run("add", "p.martin", "--role", "operateur", "--labs", "LAB-A", "--reactivate")
    assert User.objects.get(username="p.martin").is_active


def test_totp_and_deactivate_of_an_unknown_user_say_so_in_french(db):
    for subcommand in ("totp", "deactivate"):
        with pytest.raises(CommandError, match="Utilisateur inconnu : « personne »"):
            run(subcommand, "personne")


def test_list_shows_each_staff_member_with_role_laboratories_and_second_factor(lab_a, lab_b):
    run("add", "m.durand", "--role", "dpo", "--labs", "LAB-A,LAB-B")
    run("totp", "m.durand")
    run("add", "liaison", "--role", "liaison")
    run("add", "p.martin", "--role", "operateur", "--labs", "LAB-B")
    run("deactivate", "p.martin")
    # when
    listed = {row["username"]: row for row in run_json("list")["staff"]}
    human = run("list")
    # then
    assert listed["m.durand"] == {
        "username": "m.durand", "email": "", "role": "DPO", "laboratories": ["LAB-A", "LAB-B"], "active": True,
        "totp": True, "superuser": False, "last_login": None,
    }  # fmt: skip
    assert listed["liaison"]["laboratories"] == [] and listed["liaison"]["role"] == "Liaison CNIL"
    assert listed["p.martin"]["active"] is False
    assert "m.durand" in human and "LAB-A, LAB-B" in human and "désactivé" in human and "TOTP : oui" in human
