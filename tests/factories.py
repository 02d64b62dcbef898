"""factory_boy factories shared by the test suite (synthetic data only)."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from labs.models import Breach, Laboratory
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
