import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from notifier import launch
from notifier.codes import status_code_digest
from notifier.models import Notification

pytestmark = pytest.mark.django_db


def test_demo_patient_prints_a_code_that_the_status_page_accepts(make_patients, make_campaign):
    # given a launched campaign with a patient who has a health comment
    patient = make_patients(1, birth_date=dt.date(1962, 8, 9), sensitive_mask=1)[0]
    campaign = make_campaign("post")
    launch.campaign_launch(campaign=campaign, by=campaign.created_by)
    # when
    out = StringIO()
    call_command("demo_patient", json=True, stdout=out)
    sample = json.loads(out.getvalue())
    # then the code is this patient's and the QR URL carries it after '#'
    assert Notification.objects.filter(patient=patient, code_digest=status_code_digest(sample["code"])).exists()
    assert sample["birth_date"] == "09/08/1962"
    assert sample["qr_url"].endswith("/verifier/#" + sample["code"])


def test_demo_patient_is_refused_in_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        call_command("demo_patient")
