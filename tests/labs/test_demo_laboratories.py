import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from labs.models import Laboratory

pytestmark = pytest.mark.django_db


def test_demo_laboratories_fills_imported_codes_once_and_keeps_real_contacts():
    # given a laboratory created by an import (code only) and one with its real DPO contact
    bare = Laboratory.objects.create(code="LAB01", name="LAB01")
    real = Laboratory.objects.create(code="LAB02", name="Labo réel", dpo_email="dpo@reel.example")
    # when run twice
    call_command("demo_laboratories")
    first = Laboratory.objects.get(pk=bare.pk)
    call_command("demo_laboratories")
    # then the bare one has a name and a DPO contact, stable across runs; the real one is untouched
    again = Laboratory.objects.get(pk=bare.pk)
    assert first.name != "LAB01" and first.dpo_email and first.dpo_name and first.city
    assert (again.name, again.dpo_email) == (first.name, first.dpo_email)
    assert Laboratory.objects.get(pk=real.pk).name == "Labo réel"


def test_demo_laboratories_is_refused_in_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        call_command("demo_laboratories")
