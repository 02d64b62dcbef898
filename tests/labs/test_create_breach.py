import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from labs.models import Breach

pytestmark = pytest.mark.django_db


def test_create_breach_twice_creates_one_breach_and_says_so():
    # given / when
    first, second = StringIO(), StringIO()
    call_command(
        "create_breach", "leak-2021", title="Fuite", aware_at="2021-02-23T09:00+01:00", json=True, stdout=first
    )
    call_command("create_breach", "leak-2021", title="Autre", aware_at="2021-03-01T09:00+01:00", stdout=second)
    # then
    assert json.loads(first.getvalue())["created"] is True
    assert "already exists" in second.getvalue()
    breach = Breach.objects.get()
    assert breach.title == "Fuite"
    assert breach.aware_at.isoformat() == "2021-02-23T08:00:00+00:00"


def test_create_breach_refuses_a_naive_or_garbled_date():
    with pytest.raises(CommandError, match="--aware-at"):
        call_command("create_breach", "x", title="t", aware_at="23/02/2021")
    assert not Breach.objects.exists()
