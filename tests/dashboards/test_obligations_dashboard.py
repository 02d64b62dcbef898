"""The obligations on the dashboards: the DPO sees each of their laboratory's obligations with its own clock; the
CNIL liaison sees the CNIL regime's state per laboratory and nothing of the other regimes."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from labs.models import BreachLaboratory, Obligation
from labs.obligation_services import obligation_assess, obligation_file, obligations_open
from tests.access_fixtures import login_verified
from tests.factories import BreachFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def opened(lab_a, lab_b, dpo_lab_a, settings):
    """Both laboratories' case files for one breach, aware 30 hours ago, NIS2 on; A filed its NIS2 early warning."""
    settings.NOTIFIER_REGIMES = {
        **settings.NOTIFIER_REGIMES,
        "nis2": {**settings.NOTIFIER_REGIMES["nis2"], "enabled": True},
    }
    aware = timezone.now() - dt.timedelta(hours=30)
    breach = BreachFactory(aware_at=aware, title="Fuite du sous-traitant")
    files = {}
    for lab in (lab_a, lab_b):
        files[lab.code] = BreachLaboratory.objects.create(breach=breach, laboratory=lab, aware_at=aware)
        obligations_open(case_file=files[lab.code])
    nis2 = Obligation.objects.get(case_file=files["LAB-A"], regime="nis2")
    obligation_file(obligation=nis2, step="early_warning", notified_at=aware + dt.timedelta(hours=20), by=dpo_lab_a)
    ars = Obligation.objects.get(case_file=files["LAB-A"], regime="ars_cert_sante")
    obligation_assess(obligation=ars, required=False, rationale="Hors champ.", by=dpo_lab_a)
    return files


def test_the_dpo_sees_each_obligation_of_their_laboratory_with_its_own_clock(client, opened, dpo_lab_a):
    # when the DPO of A opens the dashboard
    page = login_verified(client, dpo_lab_a).get(reverse("dashboards:dpo")).content.decode()
    # then each regime of A is listed with its state and the clock of its next step
    assert "Obligations du laboratoire et leurs horloges" in page
    for label in ("CNIL — notification de la violation", "Information des personnes (art. 34 RGPD)",
                  "ARS et CERT Santé", "NIS2 — notification d&#x27;incident important"):  # fmt: skip
        assert label in page, label
    assert "« non requise » en attente d&#x27;approbation" in page  # ARS, assessed but not yet approved
    assert "notification d&#x27;incident : échéance" in page  # NIS2: the early warning filed, the 72 h step next
    assert (
        "information des personnes : « sans délai » — écoulé : 1 j 06 h 00 min" in page
    )  # Art. 34: no invented deadline
    assert "déclaration : échéance 03/12/2026 07:00 (UTC+01:00) — reste 1 j 18 h 00 min" in page  # the CNIL 72 h clock
    # and nothing of laboratory B's obligations
    for obligation in Obligation.objects.filter(case_file=opened["LAB-B"]):
        assert reverse("admin:labs_obligation_change", args=[obligation.pk]) not in page


def test_the_cnil_liaison_sees_the_cnil_state_per_laboratory_and_no_other_regime(client, opened, cnil_liaison):
    # when the liaison opens the CNIL dashboard
    page = login_verified(client, cnil_liaison).get(reverse("dashboards:cnil")).content.decode()
    # then each laboratory's CNIL filing state is there, and nothing of ARS / CERT Santé, NIS2 or Art. 34 obligations
    assert "Laboratoire A" in page and "Laboratoire B" in page
    assert "à déposer, dans les délais" in page
    for other in ("ARS", "CERT Santé", "NIS2", "alerte précoce", "Hors champ", "non requise » en attente"):
        assert other not in page, other
    # and the obligations admin is closed to the liaison
    assert client.get(reverse("admin:labs_obligation_changelist")).status_code == 403
