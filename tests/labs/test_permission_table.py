"""Generated from the admin registry: every URL × role × method of every admin against `labs.access`'s table.

For each registered admin, every named URL (list, add, change, delete, history, simple-history's version
page, import, process_import, export, custom views such as the case file's "file" page) is opened with
GET and POST, and every admin action is posted to the changelist, as the DPO of laboratory A (on A's
objects and on B's), the operator of A (same), the CNIL liaison and a superuser. The outcome must be the
one the table gives: "allowed" (no 403/404, no error), 403, or 404 (another laboratory's object, for a
DPO or operator: it does not exist for them). An action must be offered in the changelist's select
exactly when allowed, and the Import / Export buttons likewise. No refused request, no request of the
liaison and no request of a DPO or operator on the other laboratory's objects may write a data row
(the SQL of each request is captured: INSERT / UPDATE / DELETE outside the trail and the session). Each request runs in a savepoint rolled
back afterwards, so a superuser's allowed delete does not spoil the next case.

A new admin, action, import, export or custom URL without a line in the table fails
`test_every_admin_operation_has_a_line_in_the_table`; once it has one, it is walked here. Set
PERMISSION_REPORT=/path to get one JSON line per case (the figures in the issue's report).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from import_export.admin import ExportMixin, ImportMixin

from labs import access
from labs.access import (
    ADMIN_TABLE,
    CNIL_LIAISON,
    DPO,
    OPERATOR,
    SUPERUSER,
    THIRD_PARTY_ADMIN_APPS,
    LabScopedAdminMixin,
    scope_queryset,
)
from tests.access_fixtures import login_verified, make_staff

from .world import build, populate_world

REGISTRY = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
STANDARD = {"changelist", "add", "change", "delete", "history", "simple_history"}
SCOPED_ROLES = {DPO, OPERATOR}


# --- the cases, from the registry ---------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    kind: str  # "url" or "action"
    name: str  # URL name suffix (changelist, change, file, import…) or action name
    method: str
    object_url: bool  # takes an object of laboratory A or B


def _suffix(model, url_name: str) -> str:
    return url_name.removeprefix(f"{model._meta.app_label}_{model._meta.model_name}_")


def _url_patterns(model, model_admin):
    return [p for p in model_admin.urls if p.name]


def _object_param(pattern) -> str | None:
    converters = getattr(pattern.pattern, "converters", {})
    if converters:
        return next(iter(converters))
    return "object_id" if pattern.name.endswith("_simple_history") else None


def cases_for(model, model_admin) -> list[Case]:
    cases = []
    for pattern in _url_patterns(model, model_admin):
        suffix = _suffix(model, pattern.name)
        methods = ["POST"] if suffix == "process_import" else ["GET", "POST"]
        cases += [Case("url", suffix, method, _object_param(pattern) is not None) for method in methods]
    cases += [Case("action", name, "POST", True) for _, name, _ in model_admin._get_base_actions()]
    return cases


def permission_for(model_admin, case: Case) -> str | None:
    """What the table says this case needs (project admins only)."""
    line = model_admin.table_rules
    if case.kind == "action":
        return model_admin.action_permission(case.name)
    match case.name:
        case "changelist" | "history" | "simple_history":
            return NOBODY_ON_POST if (case.name == "simple_history" and case.method == "POST") else line.view
        case "add":
            return line.add
        case "change":
            return line.view if case.method == "GET" else line.change
        case "delete":
            return line.delete
        case "import" | "process_import":
            return line.import_
        case "export":
            return line.export
    return line.views.get(case.name, (access.NOBODY, ""))[0]


NOBODY_ON_POST = access.NOBODY  # simple-history's "revert" is disabled for everybody


# A superuser's click on django-axes' "clean up expired attempts" raises AttributeError (500): the action
# reads `request.axes_attempt_time`, set only on a log-in request. Not a permission matter; left to axes.
KNOWN_THIRD_PARTY_ERRORS = {("axes.accessattempt", "cleanup_expired_attempts")}


def expected(model_admin, case: Case, role: str, side: str) -> str:
    if not isinstance(model_admin, LabScopedAdminMixin):
        # Django's model permissions, held by no role group: refused to every role; a superuser gets what
        # the package's admin allows (axes logs are read-only even for them).
        return "superuser" if role == SUPERUSER else "refused"
    allowed = role in access.roles_allowed(permission_for(model_admin, case))
    foreign = case.object_url and side == "B" and role in SCOPED_ROLES
    if case.kind == "action":  # the action is judged first (403), then the selection (404)
        return "403" if not allowed else ("404" if foreign else "allowed")
    if foreign:
        return "404"
    if case.name == "changelist" and case.method == "POST" and allowed:
        return "allowed"
    return "allowed" if allowed else "403"


# Rows a request may write without changing any data: its own trail, the session, the admin's log.
BOOKKEEPING_TABLES = ("labs_auditevent", "django_session", "django_admin_log")
_WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.I)


def data_writes(queries) -> list[str]:
    """The tables a request wrote to, bookkeeping aside."""
    tables = [m.group(2) for q in queries if (m := _WRITE.match(q["sql"]))]
    return [table for table in tables if table not in BOOKKEEPING_TABLES]


def outcome(status: int) -> str:
    if status in (403, 404):
        return str(status)
    if status >= 500:
        return "error"
    assert status < 400 or status == 405, status
    return "allowed"


# --- objects of laboratory A and B ------------------------------------------------------------------------
def _in_lab(model, model_admin, lab, dpo_a, side: str):
    """An object of `lab` (side A: in the DPO of A's reach; side B: out of it), built when missing."""
    lab_path = getattr(model_admin, "lab_path", None)
    visible = scope_queryset(model._default_manager.all(), dpo_a, lab_path).values("pk")
    if side == "A":
        found = model._default_manager.filter(pk__in=visible).first()
    else:
        found = model._default_manager.exclude(pk__in=visible).first()
    if found is not None:
        return found
    built = build(model, lab)
    if (side == "A") == model._default_manager.filter(pk__in=visible, pk=built.pk).exists():
        return built
    # e.g. an import batch belongs to a laboratory through its records: build a row pointing to it
    for relation in model._meta.related_objects:
        if relation.one_to_many and relation.related_model._meta.app_label in access_apps():
            child = build(relation.related_model, lab)
            candidate = getattr(child, relation.field.name)
            if (side == "A") == model._default_manager.filter(pk__in=visible, pk=candidate.pk).exists():
                return candidate
    raise AssertionError(f"{model._meta.label}: no object of laboratory {lab.code} could be built")


def access_apps() -> set[str]:
    return {"labs", "patients", "letters", "notifier"}


def _url(model, pattern, obj) -> str:
    name = f"admin:{pattern.name}"
    param = _object_param(pattern)
    if param is None:
        return reverse(name)
    if pattern.name.endswith("_simple_history"):
        version = obj.history.first()
        return reverse(name, args=[obj.pk, version.pk]) if version else ""
    return reverse(name, kwargs={param: obj.pk})


def _offered_actions(content: str) -> set[str]:
    select = re.search(r'<select name="action".*?</select>', content, re.S)
    return set(re.findall(r'<option value="([^"]+)"', select.group(0))) if select else set()


PERSONAS = [(DPO, "A"), (DPO, "B"), (OPERATOR, "A"), (OPERATOR, "B"), (CNIL_LIAISON, "B"), (SUPERUSER, "B")]


def _persona(role: str, lab_a):
    if role == SUPERUSER:
        return make_staff("root", superuser=True)
    return make_staff(f"persona-{role}", role=role, laboratories=[] if role == CNIL_LIAISON else [lab_a])


def _report(lines: list[dict]) -> None:
    path = os.environ.get("PERMISSION_REPORT")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.writelines(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


# --- the generated walk ---------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "model_admin", "role", "side"),
    [(m, a, role, side) for m, a in REGISTRY for role, side in PERSONAS],
    ids=[f"{m._meta.label}-{role}-{side}" for m, a in REGISTRY for role, side in PERSONAS],
)
def test_every_admin_url_and_action_answers_what_the_table_says(model, model_admin, role, side, lab_a, lab_b):
    # given both laboratories' rows, and the persona logged in with a verified second factor
    populate_world(lab_a)
    populate_world(lab_b)
    dpo_a = make_staff("dpo-of-a", role=DPO, laboratories=[lab_a])
    lab = lab_a if side == "A" else lab_b
    obj = _in_lab(model, model_admin, lab, dpo_a, side) if model._meta.app_label in access_apps() else None
    if obj is None:
        obj = model._default_manager.first() or build(model, lab)
    user = _persona(role, lab_a)
    client = login_verified(Client(raise_request_exception=False), user)
    patterns = {_suffix(model, p.name): p for p in _url_patterns(model, model_admin)}
    changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    results, wrong = [], []
    # when each URL is opened and each action posted (each in a savepoint, rolled back)
    for case in cases_for(model, model_admin):
        want = expected(model_admin, case, role, side)
        # "post=yes" confirms a delete (page or bulk action): a refused delete must be refused for real
        if case.kind == "action":
            url, data = changelist, {"action": case.name, "_selected_action": [obj.pk], "index": 0, "post": "yes"}
        else:
            url, data = _url(model, patterns[case.name], obj), {"post": "yes"} if case.name == "delete" else {}
            if not url:
                continue
        with transaction.atomic(), CaptureQueriesContext(connection) as queries:
            response = client.get(url) if case.method == "GET" else client.post(url, data)
            transaction.set_rollback(True)
        got = outcome(response.status_code)
        writes = data_writes(queries.captured_queries)
        if writes and (role == CNIL_LIAISON or (side == "B" and role in SCOPED_ROLES) or got in ("403", "404")):
            wrong.append(f"{case.method} {case.kind}:{case.name} wrote to {sorted(set(writes))}")
        if want == "refused":
            ok = got in ("403", "404")
        elif want == "superuser":
            ok = got != "error" or (model._meta.label_lower, case.name) in KNOWN_THIRD_PARTY_ERRORS
        else:
            ok = got == want
        results.append({"admin": model._meta.label, "role": role, "side": side, "case": case.name,
                        "kind": case.kind, "method": case.method, "expected": want, "got": got,
                        "writes": len(writes)})  # fmt: skip
        if not ok:
            wrong.append(f"{case.method} {case.kind}:{case.name} → {got} (table: {want})")
    # and the changelist offers exactly the allowed actions and buttons
    listing = client.get(changelist)
    if listing.status_code == 200 and isinstance(model_admin, LabScopedAdminMixin):
        content = listing.content.decode()
        offered = _offered_actions(content)
        rows = listing.context["cl"].result_count  # Django hides the action select on an empty list
        for _, name, _ in model_admin._get_base_actions() if rows else ():
            allowed = role in access.roles_allowed(model_admin.action_permission(name))
            if (name in offered) != allowed:
                wrong.append(f"action {name} offered={name in offered} (table: {allowed})")
        for button, rule in (("import", model_admin.table_rules.import_), ("export", model_admin.table_rules.export)):
            if button in patterns:
                shown = reverse(f"admin:{patterns[button].name}") in content
                if shown != (role in access.roles_allowed(rule)):
                    wrong.append(f"button {button} shown={shown} (table: {rule})")
    _report(results)
    # then every answer is the table's
    assert results
    assert wrong == []


# --- the table covers the registry ---------------------------------------------------------------------
@pytest.mark.parametrize(("model", "model_admin"), REGISTRY, ids=[m._meta.label for m, _ in REGISTRY])
def test_every_admin_operation_has_a_line_in_the_table(model, model_admin):
    if model._meta.app_label in THIRD_PARTY_ADMIN_APPS:
        assert not isinstance(model_admin, LabScopedAdminMixin)
        return
    # given a project admin: it reads the table, and the table knows each of its operations
    assert isinstance(model_admin, LabScopedAdminMixin), f"{model._meta.label}: admin without LabScopedAdminMixin"
    line = ADMIN_TABLE.get(model._meta.label_lower)
    assert line is not None, f"{model._meta.label}: no line in labs.access.ADMIN_TABLE"
    for _, name, _ in model_admin._get_base_actions():
        if name != "delete_selected":
            assert name in line.actions, f"{model._meta.label}: action {name!r} missing from the table"
    for pattern in _url_patterns(model, model_admin):
        suffix = _suffix(model, pattern.name)
        if suffix in STANDARD or suffix in ("import", "process_import", "export"):
            continue
        assert suffix in line.views, f"{model._meta.label}: URL {suffix!r} missing from the table"
    assert (line.import_ is not None) == isinstance(model_admin, ImportMixin), "import: table and admin disagree"
    assert (line.export is not None) == isinstance(model_admin, ExportMixin), "export: table and admin disagree"
    for inline in model_admin.inlines:
        assert inline.model._meta.label_lower in ADMIN_TABLE, f"inline {inline.model._meta.label} missing"
        assert issubclass(inline, access.LabScopedInlineMixin)
    for permission in (line.view, line.add, line.change, line.delete, line.import_, line.export):
        assert permission in (None, access.NOBODY) or permission in access.PERMISSION_TABLE


def test_the_table_holds_only_known_permissions_and_superusers_everywhere():
    # Django answers True to an active superuser for any permission name: the table must say so.
    for name, permission in access.PERMISSION_TABLE.items():
        assert SUPERUSER in permission.roles, name
        assert permission.roles <= set(access.TABLE_ROLES), name
    used = {p for line in ADMIN_TABLE.values() for p in (line.view, line.add, line.change, line.delete,
            line.import_, line.export)} | {p for line in ADMIN_TABLE.values() for p, _ in
            [*line.actions.values(), *line.views.values()]}  # fmt: skip
    used |= {p for p, _ in access.VIEW_TABLE.values()} | {p for p, _ in access.COMMAND_TABLE.values()}
    assert used - {None, access.NOBODY} <= set(access.PERMISSION_TABLE)


def test_the_cnil_liaison_holds_no_write_and_no_patient_level_permission():
    liaison = {name for name, p in access.PERMISSION_TABLE.items() if CNIL_LIAISON in p.roles}
    # The evidence pack's CNIL version is aggregates only (tests/evidence/test_pack.py reads every file of it).
    assert liaison == {"labs.view_lab_data", "labs.view_cnil_dashboard", "labs.evidence_pack_liaison"}


@pytest.mark.django_db
def test_no_role_group_holds_a_django_model_permission():
    # The third-party admins (users, devices, lockouts) rely on it: superusers only.
    groups = access.roles_ensure()
    assert not Group.objects.filter(pk__in=[g.pk for g in groups.values()], permissions__isnull=False).exists()


# --- staff pages outside the admin ------------------------------------------------------------------------
def _staff_views():
    from django.urls import get_resolver

    names = []
    for namespace in ("dashboards", "letters", "call_centre", "evidence"):
        resolver = get_resolver().namespace_dict[namespace][1]
        names += [(f"{namespace}:{p.name}", p) for p in resolver.url_patterns if p.name]
    return names


STAFF_VIEWS = _staff_views()


def test_every_staff_page_outside_the_admin_has_a_line_in_the_table():
    assert STAFF_VIEWS
    assert {name for name, _ in STAFF_VIEWS} == set(access.VIEW_TABLE)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "pattern"), STAFF_VIEWS, ids=[n for n, _ in STAFF_VIEWS])
@pytest.mark.parametrize("role", [DPO, OPERATOR, CNIL_LIAISON, access.CALL_CENTRE, SUPERUSER])
def test_every_staff_page_answers_each_role_what_the_table_says(name, pattern, role, lab_a, make_campaign_in):
    # given a campaign and a patient of laboratory A, and the persona
    campaign, patient = make_campaign_in(lab_a)
    values = {"pk": campaign.pk, "fmt": "csv", "breach_id": patient.breach_id, "laboratory_id": lab_a.pk,
              "patient_id": patient.pk, "language": "fr"}  # fmt: skip
    if name.startswith("evidence:"):  # the case file the pack is prepared from, and a pack of the URL's version
        values["evidencepack_id"] = _evidence_pack(patient, "liaison" if ":liaison" in name else "dpo").pk
    kwargs = {key: values[key] for key in pattern.pattern.converters}
    client = login_verified(Client(), _persona(role, lab_a))
    # when the page is opened
    status = client.get(reverse(name, kwargs=kwargs)).status_code
    # then it is refused exactly when the table says so
    allowed = role in access.roles_allowed(access.view_permission(name))
    _report([{"admin": name, "role": role, "side": "A", "case": name, "kind": "view", "method": "GET",
              "expected": "allowed" if allowed else "403", "got": outcome(status)}])  # fmt: skip
    assert outcome(status) == ("allowed" if allowed else "403")


def _evidence_pack(patient, kind: str):
    from evidence.services import evidence_pack_request
    from tests.factories import case_file_complete

    case_file = case_file_complete(breach=patient.breach, laboratory=patient.laboratory)
    return evidence_pack_request(case_file=case_file, kind=kind, by=None, enqueue=False)


@pytest.fixture
def make_campaign_in():
    from notifier import campaigns
    from tests.factories import BreachFactory, PatientFactory

    def make(lab):
        breach = BreachFactory()
        patient = PatientFactory(breach=breach, laboratory=lab)
        author = make_staff("auteur-a", role=OPERATOR, laboratories=[lab])
        return campaigns.campaign_create(breach=breach, laboratory=lab, name="Vague", by=author), patient

    return make


# --- the README's table ---------------------------------------------------------------------------------
def test_the_readme_roles_table_is_the_code_table():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- roles-table:start")
    start = readme.index("\n", start) + 1
    end = readme.index("<!-- roles-table:end -->")
    # regenerate with: python manage.py shell -c "from labs.access import roles_table_markdown as t; print(t())"
    assert readme[start:end].strip() == access.roles_table_markdown()
