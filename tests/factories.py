"""factory_boy factories shared by the test suite (synthetic data only)."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from labs.models import Breach, BreachLaboratory, BreachMeasure, Laboratory
from patients import categories
from patients.models import Patient


class LaboratoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Laboratory
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"LAB{n:02d}")
    name = factory.Sequence(lambda n: f"Laboratoire d'analyses n°{n}")
    address_line = "12 rue de la Santé"
    postcode = "35000"
    city = "Rennes"
    dpo_name = "Claire Martin"
    dpo_email = factory.Sequence(lambda n: f"dpo{n}@lab.example")
    dpo_phone = "+33299000000"


class BreachFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Breach
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"breach-{n}")
    title = "Fuite de données patients"
    processor = "Éditeur du logiciel de laboratoire"
    aware_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=10))
    description = "Un fichier de résultats d'analyses a été copié sans autorisation chez l'éditeur du logiciel."
    period_start = dt.date(2015, 1, 1)
    period_end = dt.date(2020, 12, 31)


def case_file_complete(*, breach: Breach, laboratory: Laboratory) -> BreachLaboratory:
    """The laboratory's Art. 33 case file with what the launch gate asks (notifier.gate): a campaign may go."""
    case_file, _ = BreachLaboratory.objects.get_or_create(
        breach=breach, laboratory=laboratory, defaults={"aware_at": breach.aware_at}
    )
    case_file.consequences = case_file.consequences or ["phishing"]
    case_file.high_risk = BreachLaboratory.HighRisk.YES
    case_file.high_risk_justification = case_file.high_risk_justification or "Données de santé et NIR."
    case_file.save()
    if not case_file.measures.exists():
        BreachMeasure.objects.create(case_file=case_file, text="Accès de l'éditeur coupé.")
    return case_file


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    breach = factory.SubFactory(BreachFactory)
    laboratory = factory.SubFactory(LaboratoryFactory)
    person_key = factory.Sequence(lambda n: f"{n:064x}")
    civility = "Mme"
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    birth_date = dt.date(1970, 5, 17)
    address_line = "3 place du Marché"
    postcode = "56000"
    city = "Vannes"
    email = factory.Sequence(lambda n: f"patient{n}@example.org")
    mobile_phone = "+33612345678"
    nir_masked = "2 70 •• •• ••• ••• 42"
    nir_valid = True
    exposure_mask = int(
        categories.Exposure.IDENTITY
        | categories.Exposure.BIRTH_DATE
        | categories.Exposure.NIR
        | categories.Exposure.POSTAL_ADDRESS
        | categories.Exposure.EMAIL
    )
    record_count = 1
