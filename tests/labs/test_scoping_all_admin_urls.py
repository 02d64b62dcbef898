"""Generated from the admin's registry and URL patterns: every object URL of every registered model is 404
for another laboratory's DPO, the CNIL liaison never reads a patient-level row, and reads are audited.

New models and new object URLs (custom `<path:object_id>/...` views) are covered without editing this file;
a model of the project with no object out of the DPO's reach is built generically (`tests/labs/world.py`).
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from labs.access import LabScopedAdminMixin, scope_queryset
from labs.audit import AuditEvent

from .world import build, populate_world

PROJECT_APPS = {"labs", "patients", "letters", "notifier", "evidence"}
REGISTRY = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def _object_urls(model_admin, obj) -> list[str]:
    """Every named admin URL of this model that takes the object (path converters, or simple-history's regex)."""
    urls = []
    for pattern in model_admin.urls:
        name = f"{model_admin.admin_site.name}:{pattern.name}" if pattern.name else None
        if name and "object_id" in getattr(pattern.pattern, "converters", {}):
            urls.append(reverse(name, kwargs={"object_id": obj.pk}))
        elif name and name.endswith("_simple_history"):
            urls.extend(reverse(name, args=[obj.pk, version.pk]) for version in obj.history.all()[:1])
    return urls


def _out_of_scope_objects(model, model_admin, user):
    lab_path = getattr(model_admin, "lab_path", None)
    visible = scope_queryset(model._default_manager.all(), user, lab_path)
    return list(model._default_manager.exclude(pk__in=visible.values("pk"))[:3])


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "model_admin"), REGISTRY, ids=[m._meta.label for m, _ in REGISTRY])
def test_every_object_url_is_404_for_another_laboratorys_dpo(
    model, model_admin, client, login_verified, dpo_lab_a, lab_b
):
    # given objects of laboratory B (or of no laboratory) for every model, and the DPO of A logged in
    project = model._meta.app_label in PROJECT_APPS
    if project:
        assert isinstance(model_admin, LabScopedAdminMixin), f"{model._meta.label}: admin without LabScopedAdminMixin"
    populate_world(lab_b)
    others = _out_of_scope_objects(model, model_admin, dpo_lab_a)
    if not others:  # every registered model, third-party ones too (devices, lockout records)
        built = build(model, lab_b)
        in_reach = {o.pk for o in _out_of_scope_objects(model, model_admin, dpo_lab_a)}
        # A third-party model has no laboratory: its rows are all "in scope", and the DPO must be kept
        # out of them by permission (403) instead.
        others = [built] if (built.pk in in_reach or not project) else []
    assert others, f"{model._meta.label}: could not build a row outside laboratory A's reach"
    login_verified(client, dpo_lab_a)
    # when the DPO of A opens each object URL of each such object
    statuses = {url: client.get(url).status_code for obj in others for url in _object_urls(model_admin, obj)}
    # then each is 404 (third-party admins, which the DPO holds no permission on, may answer 403)
    allowed = {404} if project else {403, 404}
    assert statuses, f"{model._meta.label}: no object URL found"
    assert {key: code for key, code in statuses.items() if code not in allowed} == {}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "model_admin"),
    [(m, a) for m, a in REGISTRY if getattr(a, "patient_data", False)],
    ids=[m._meta.label for m, a in REGISTRY if getattr(a, "patient_data", False)],
)
def test_the_cnil_liaison_cannot_read_patient_level_rows(
    model, model_admin, client, login_verified, cnil_liaison, lab_b
):
    # given a patient-level row
    populate_world(lab_b)
    obj = model._default_manager.first() or build(model, lab_b)
    login_verified(client, cnil_liaison)
    # when the CNIL liaison opens its list and its page
    listing = client.get(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
    page = client.get(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk]))
    # then both are refused
    assert listing.status_code == 403
    assert page.status_code in (403, 404)


@pytest.mark.django_db
def test_a_dpo_reading_a_patient_is_written_to_the_audit_trail(client, login_verified, dpo_lab_a, lab_a):
    # given a patient of laboratory A
    from tests.factories import PatientFactory

    patient = PatientFactory(laboratory=lab_a)
    login_verified(client, dpo_lab_a)
    # when the DPO lists patients and opens the patient's page
    client.get(reverse("admin:patients_patient_changelist") + "?q=Durand")
    response = client.get(reverse("admin:patients_patient_change", args=[patient.pk]))
    # then both reads are in the trail: who, in which role, which patient, which laboratory
    assert response.status_code == 200
    view = AuditEvent.objects.get(action="view", object_type="patients.patient")
    assert (view.actor_username, view.role, view.object_id, view.laboratory_id) == (
        "dpo-a",
        "DPO",
        str(patient.pk),
        lab_a.pk,
    )
    assert AuditEvent.objects.get(action="list", object_type="patients.patient").extra["query"] == "q=Durand"


# --- views outside the admin's model pages (dashboards, previews…) ---------------------------------------
STR_VALUES = {"fmt": ["csv", "pdf", "xlsx", "json"], "language": ["fr"], "lang": ["fr"]}


def _walk(patterns, prefix=""):
    from django.urls import URLPattern, URLResolver

    for entry in patterns:
        if isinstance(entry, URLResolver):
            namespace = f"{prefix}{entry.namespace}:" if entry.namespace else prefix
            if entry.namespace == admin.site.name:
                continue  # model admin pages: the test above
            yield from _walk(entry.url_patterns, namespace)
        elif isinstance(entry, URLPattern) and entry.name and getattr(entry.pattern, "converters", None):
            yield f"{prefix}{entry.name}", entry


def _object_views():
    from django.urls import get_resolver

    return [(name, pattern) for name, pattern in _walk(get_resolver().url_patterns) if _int_params(pattern)]


def _int_params(pattern) -> list[str]:
    from django.urls.converters import IntConverter

    return [name for name, conv in pattern.pattern.converters.items() if isinstance(conv, IntConverter)]


def _project_models():
    from django.apps import apps

    return [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS]


def _model_for(param: str, route: str):
    """`patient_id` → Patient; `pk` → the model named just before it in the route (e.g. "campagne/<int:pk>")."""
    models_ = _project_models()
    if param.endswith("_id"):
        return next((m for m in models_ if m._meta.model_name == param[:-3]), None)
    before = route.split("<")[0].rstrip("/").rsplit("/", 1)[-1].lower()
    return next((m for m in models_ if before in (m._meta.model_name, str(m._meta.verbose_name).lower())), None)


def _kwargs_candidates(pattern, user, lab):
    """Keyword arguments naming objects outside `user`'s laboratories, kept coherent (patient → its breach, lab)."""
    route = str(pattern.pattern)
    ints = _int_params(pattern)
    out_of_scope = {}
    for param in ints:
        model = _model_for(param, route)
        if model is None:
            return []
        scoping = type("Scoping", (), {"lab_path": getattr(model, "lab_path", None)})
        out_of_scope[param] = _out_of_scope_objects(model, scoping, user) or [build(model, lab)]
    anchor = max(ints, key=lambda p: sum(hasattr(o, f"{q[:-3]}_id") for o in out_of_scope[p][:1] for q in ints))
    results = []
    for obj in out_of_scope[anchor]:
        kwargs = {anchor: obj.pk}
        for param in ints:
            if param != anchor:
                related = getattr(obj, param, None) if param.endswith("_id") else None
                kwargs[param] = (
                    related if related is not None else (out_of_scope[param][0].pk if out_of_scope[param] else 0)
                )
        for name in pattern.pattern.converters:
            if name not in kwargs:
                kwargs[name] = STR_VALUES.get(name, ["x"])
        results.append(kwargs)
    return results


def _expand(kwargs):
    fixed = {k: v for k, v in kwargs.items() if not isinstance(v, list)}
    choices = [(k, v) for k, v in kwargs.items() if isinstance(v, list)]
    if not choices:
        return [fixed]
    key, values = choices[0]
    return [dict(rest, **{key: value}) for value in values for rest in _expand({**fixed, **dict(choices[1:])})]


OBJECT_VIEWS = _object_views()


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "pattern"), OBJECT_VIEWS, ids=[name for name, _ in OBJECT_VIEWS])
def test_every_object_view_outside_the_admin_is_404_for_another_laboratorys_dpo(
    name, pattern, client, login_verified, dpo_lab_a, lab_b, admin_user
):
    from django.test import Client

    # given laboratory B's rows; a superuser proves each URL works (not 404) before the DPO of A tries it
    populate_world(lab_b)
    superuser = login_verified(Client(), admin_user)
    login_verified(client, dpo_lab_a)
    tried = {}
    for kwargs in (k for candidate in _kwargs_candidates(pattern, dpo_lab_a, lab_b) for k in _expand(candidate)):
        url = reverse(name, kwargs=kwargs)
        if superuser.get(url).status_code == 404:
            continue  # e.g. a format this view does not offer
        # when the DPO of A opens it, then it does not exist for them
        tried[url] = client.get(url).status_code
    if not tried:
        pytest.skip(f"{name}: no URL the superuser can open with laboratory B's rows")
    assert {url: code for url, code in tried.items() if code != 404} == {}


SCOPED_LISTS = [(m, a) for m, a in REGISTRY if isinstance(a, LabScopedAdminMixin)]


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "model_admin"), SCOPED_LISTS, ids=[m._meta.label for m, _ in SCOPED_LISTS])
def test_no_list_page_names_another_laboratory(model, model_admin, client, login_verified, dpo_lab_a, lab_b):
    # given laboratory B's rows (its name is distinctive), every model having one
    lab_b.name = "Laboratoire Zéphyrin-Bêta"
    lab_b.save()
    populate_world(lab_b)
    if not model._default_manager.exists():
        build(model, lab_b)
    login_verified(client, dpo_lab_a)
    # when the DPO of A opens the model's list (filters included)
    response = client.get(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"))
    # then B's name appears nowhere (rows, filters, counts)
    assert response.status_code in (200, 403)
    assert "Zéphyrin-Bêta" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "model_admin"),
    [(m, a) for m, a in REGISTRY if getattr(a, "patient_data", False)],
    ids=[m._meta.label for m, a in REGISTRY if getattr(a, "patient_data", False)],
)
def test_every_patient_level_page_read_is_audited_with_its_laboratory(
    model, model_admin, client, login_verified, admin_user, lab_b
):
    # given a patient-level row of laboratory B
    populate_world(lab_b)
    obj = build(model, lab_b) if not model._default_manager.exists() else model._default_manager.first()
    login_verified(client, admin_user)
    # when its page is opened
    response = client.get(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk]))
    # then one "view" event names it and the laboratory it belongs to (so B's DPO sees it in their trail)
    assert response.status_code == 200
    event = AuditEvent.objects.get(action="view", object_type=model._meta.label_lower, object_id=str(obj.pk))
    assert event.laboratory_id == lab_b.pk
