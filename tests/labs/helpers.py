"""Builders for labs tests: a case file with every Art. 33(3) element filled in (synthetic data)."""

from __future__ import annotations

import datetime as dt

from labs.models import BreachLaboratory, BreachMeasure
from tests.factories import BreachFactory


def complete_case_file(laboratory, *, breach=None, aware_at=None) -> BreachLaboratory:
    laboratory.siren = "552100554"
    laboratory.legal_representative_name = "Jeanne Durand"
    laboratory.save()
    breach = breach or BreachFactory()
    aware_at = aware_at or breach.aware_at
    case_file = BreachLaboratory.objects.create(
        breach=breach,
        laboratory=laboratory,
        aware_at=aware_at,
        started_at=aware_at - dt.timedelta(days=3),
        discovered_at=aware_at - dt.timedelta(hours=2),
        cause=BreachLaboratory.Cause.EXTERNAL_MALICIOUS,
        nature_confidentiality=True,
        discovery="Article de presse signalant la mise en ligne du fichier.",
        description="Fichier de patients publié sur un forum.",
        data_categories="identité, NIR, date de naissance",
        health_data=True,
        people_estimate=1200,
        records_estimate=1500,
        consequences=["phishing"],
        high_risk=BreachLaboratory.HighRisk.YES,
        high_risk_justification="Données de santé et NIR.",
    )
    BreachMeasure.objects.create(case_file=case_file, text="Mot de passe des comptes changé.")
    return case_file
