import json
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from labs import access

pytestmark = pytest.mark.django_db


def _run(**options):
    out = StringIO()
    call_command("demo_users", json=True, stdout=out, **options)
    return {u["username"]: u for u in json.loads(out.getvalue())["users"]}


def test_demo_users_twice_keeps_one_user_and_one_device_each_and_prints_working_log_ins(lab_a, lab_b, rf):
    # given two laboratories, when the command runs twice
    first = _run()
    second = _run()
    # then the same five users, one confirmed TOTP device each, the TOTP secret kept across runs
    assert set(second) == {"admin", "dpo-lab-a", "dpo-lab-b", "operateur", "liaison-cnil"}
    assert get_user_model().objects.count() == 5
    assert TOTPDevice.objects.filter(confirmed=True).count() == 5
    assert first["dpo-lab-a"]["totp_secret"] == second["dpo-lab-a"]["totp_secret"]
    # and the printed password and current code log the DPO in, scoped to their laboratory
    user = authenticate(rf.post("/admin/login/"), username="dpo-lab-a", password=second["dpo-lab-a"]["password"])
    assert user is not None
    device = TOTPDevice.objects.get(user=user)
    assert device.verify_token(second["dpo-lab-a"]["totp_now"])  # within the device's ±1 step tolerance
    assert list(access.laboratories_for(user)) == [lab_a]
    assert second["dpo-lab-a"]["otpauth_url"].startswith("otpauth://totp/")


def test_demo_users_opens_the_case_files_of_imported_breaches(lab_a):
    # given an imported patient at A, when the command runs twice, then A's case file is opened once
    from labs.models import BreachLaboratory
    from tests.factories import PatientFactory

    PatientFactory(laboratory=lab_a)
    out = [StringIO(), StringIO()]
    for stream in out:
        call_command("demo_users", json=True, stdout=stream, password="a demo password 123")  # noqa: S106
    assert [json.loads(s.getvalue())["case_files_created"] for s in out] == [1, 0]
    assert BreachLaboratory.objects.filter(laboratory=lab_a).count() == 1


def test_demo_users_creates_two_demo_laboratories_when_none_were_imported():
    # given no laboratory, when the command runs, then two DPOs each get one of two new laboratories
    users = _run(password="a demo password 123")  # noqa: S106
    assert users["dpo-demo-a"]["laboratories"] == ["DEMO-A"]
    assert users["dpo-demo-b"]["laboratories"] == ["DEMO-B"]


def test_demo_users_refuses_to_run_in_production(settings):
    # given production settings, when the command runs without the override, then it refuses
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        call_command("demo_users", stdout=StringIO())
    assert not get_user_model().objects.exists()
