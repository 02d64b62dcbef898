"""A small world of rows for one laboratory, built generically so new models are covered automatically.

`populate_world(lab)` creates the rows the known factories and services make; `build(model, lab)` makes one
row of any model by filling its required fields (foreign keys recursively, laboratory → `lab`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone

from labs.models import Breach, Laboratory
from labs.services import breach_measure_add, cnil_filing_record
from tests.factories import BreachFactory, PatientFactory

from .helpers import complete_case_file

_counter = itertools.count(1)


def populate_world(lab: Laboratory) -> None:
    """Rows of `lab` through the project's own factories and services (the realistic part)."""
    breach = BreachFactory(aware_at=timezone.now() - dt.timedelta(hours=80))
    case_file = complete_case_file(lab, breach=breach, aware_at=breach.aware_at)
    breach_measure_add(case_file=case_file, text="Réinitialisation des accès.")
    cnil_filing_record(case_file=case_file, submitted_at=timezone.now(), by=None, delay_reasons="Avis tardif.")
    PatientFactory(breach=breach, laboratory=lab)


def build(model: type[models.Model], lab: Laboratory) -> models.Model:
    """One saved row of `model` tied to `lab` where a laboratory is asked for; required fields filled in."""
    if model is Laboratory:
        return lab
    if model is Breach:
        return BreachFactory()
    if model is get_user_model():
        return model.objects.create_user(username=f"user-{next(_counter)}")
    values = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.null or field.has_default() or getattr(field, "auto_now_add", False):
            continue
        if getattr(field, "auto_now", False):
            continue
        values[field.name] = _value(field, lab)
    return model._default_manager.create(**values)


def _value(field: models.Field, lab: Laboratory):
    if field.is_relation:
        related = field.related_model
        return lab if related is Laboratory else build(related, lab)
    if field.choices:
        return field.choices[0][0]
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return timezone.localdate()
    if isinstance(field, models.IntegerField | models.FloatField | models.DecimalField):
        return 1
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, models.EmailField):
        return f"row{next(_counter)}@example.org"
    if isinstance(field, models.GenericIPAddressField):
        return "192.0.2.1"
    if isinstance(field, models.CharField | models.TextField):
        size = getattr(field, "max_length", None) or 32
        return f"x{next(_counter)}{uuid.uuid4().hex}"[:size]
    raise TypeError(f"tests/labs/world.py cannot fill {field.model._meta.label}.{field.name} ({type(field).__name__})")
