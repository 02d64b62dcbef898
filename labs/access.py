"""Who may see and do what: the ONE place that decides (the role × action table, scoping, admin mixin).

Roles are Django groups (`DPO`, `Liaison CNIL`, `Opérateur`, named in `labs.roles`) plus superusers;
a `LaboratoryMembership` links a DPO or operator to their laboratories. Everything else asks this module:
- `PERMISSION_TABLE` — each permission and the roles that hold it (rules permissions `labs.*`);
- `ADMIN_TABLE`, `VIEW_TABLE`, `COMMAND_TABLE` — every admin page, action, import, export and custom view,
  every staff page outside the admin and every management command, mapped to one permission of that
  table. An admin action, import or export missing from it is offered to nobody and refused to everybody;
  the README's "Rôles et permissions" is rendered from these tables (`roles_table_markdown`, checked by
  a test), and a test generated from the admin registry checks every URL × role × method against them;
- `laboratories_for(user)` / `scope_queryset(qs, user, lab_path)` — a DPO or operator sees their own
  laboratories only (another laboratory's objects are 404), the liaison and superusers every laboratory;
- `LabScopedAdminMixin` — the same table applied to an admin; patient-level reads are audited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import rules
from axes.backends import AxesStandaloneBackend
from django.contrib.admin import RelatedOnlyFieldListFilter
from django.contrib.admin.exceptions import NotRegistered
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import get_fields_from_path, unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpRequest

from .audit import AuditEvent, audit_record
from .models import Laboratory, LaboratoryMembership
from .roles import CALL_CENTRE, CNIL_LIAISON, DPO, OPERATOR, role_names
from .roles import roles_ensure as roles_ensure  # callers set up roles through this module, as the rest

SUPERUSER = "superuser"
TABLE_ROLES = (DPO, OPERATOR, CNIL_LIAISON, CALL_CENTRE, SUPERUSER)  # the README's columns, in this order
ROLE_LABELS = {
    DPO: "DPO", OPERATOR: "Opérateur", CNIL_LIAISON: "Liaison CNIL", CALL_CENTRE: "Centre d'appels",
    SUPERUSER: "Superutilisateur",
}  # fmt: skip
NOBODY = ""  # an operation nobody may do in the application: engine-written or append-only rows
REFUSED = "Action non autorisée pour votre rôle. / Not allowed for your role."


# --- the table -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Permission:
    label: str  # French: what holding it allows
    roles: frozenset[str]


def _roles(*names: str) -> frozenset[str]:
    return frozenset(names)


PERMISSION_TABLE: dict[str, Permission] = {
    "labs.view_lab_data": Permission(
        "Voir les laboratoires, violations, dossiers art. 33, notifications CNIL, campagnes et imports (comptes)",
        _roles(DPO, OPERATOR, CNIL_LIAISON, SUPERUSER),
    ),
    "labs.read_patient_data": Permission(
        "Lire ou exporter une donnée de patient ou de lettre (patients, envois, événements, lots, liste d'appels)",
        _roles(DPO, OPERATOR, SUPERUSER),
    ),
    "labs.edit_lab_data": Permission("Créer ou modifier une campagne en brouillon", _roles(DPO, OPERATOR, SUPERUSER)),
    "labs.run_operations": Permission(
        "Conduire une campagne, remettre un lot à l'imprimeur, importer les retours de courrier",
        _roles(DPO, OPERATOR, SUPERUSER),
    ),
    "labs.edit_laboratory": Permission(
        "Modifier les coordonnées de son laboratoire (nom, adresse, contact DPO)", _roles(DPO, SUPERUSER)
    ),
    "labs.edit_breach": Permission("Tenir le dossier art. 33 de son laboratoire", _roles(DPO, SUPERUSER)),
    "labs.file_with_cnil": Permission("Enregistrer une notification à la CNIL", _roles(DPO, SUPERUSER)),
    "labs.view_obligations": Permission(
        "Voir les obligations de son laboratoire par régime (CNIL, art. 34, ARS / CERT Santé, NIS2) et leurs horloges",
        _roles(DPO, OPERATOR, SUPERUSER),
    ),
    "labs.view_audit": Permission("Lire le journal d'audit de son laboratoire", _roles(DPO, SUPERUSER)),
    "labs.answer_access_request": Permission(
        "Traiter les demandes d'accès (art. 15) des patients de son laboratoire", _roles(DPO, SUPERUSER)
    ),
    "labs.view_cnil_dashboard": Permission(
        "Tableau de bord de la liaison CNIL (comptes masqués sous 10)", _roles(CNIL_LIAISON, SUPERUSER)
    ),
    "labs.view_call_centre_kit": Permission(
        "Voir le kit du centre d'appels de ses laboratoires (FAQ, script d'appel)",
        _roles(DPO, OPERATOR, CALL_CENTRE, SUPERUSER),
    ),
    "labs.open_notice_by_reference": Permission(
        "Ouvrir un avis par sa référence et la date de naissance dite par l'appelant (un à la fois, audité)",
        _roles(CALL_CENTRE, SUPERUSER),
    ),
    "labs.evidence_pack": Permission(
        "Préparer et télécharger le dossier de preuves de ses laboratoires (version DPO)", _roles(DPO, SUPERUSER)
    ),
    # The CNIL's version of the same pack: aggregates only, no patient-level file (evidence/contents.py).
    "labs.evidence_pack_liaison": Permission(
        "Préparer et télécharger la version CNIL d'un dossier de preuves (sans donnée de patient)",
        _roles(CNIL_LIAISON, SUPERUSER),
    ),
    "labs.manage_shared": Permission(
        "Créer ou importer des laboratoires, modifier une violation commune, gérer les accès", _roles(SUPERUSER)
    ),
    "labs.delete_lab_data": Permission("Supprimer une donnée de laboratoire", _roles(SUPERUSER)),
    # Management commands run by whoever has a shell on the server: de facto a superuser. A command acting
    # for a named person (`--by`) also checks that person against the permission of the same admin action.
    "ops.shell": Permission("Commandes d'exploitation (accès au serveur)", _roles(SUPERUSER)),
}


@dataclass(frozen=True)
class AdminRules:
    """One admin's line of the table: a permission name (or NOBODY) per operation.

    `import_` / `export` are None when the admin has no such button; `actions` and `views` map each admin
    action and each custom admin URL (by the suffix of its name) to (permission, French label)."""

    label: str
    view: str
    add: str = NOBODY
    change: str = NOBODY
    delete: str = NOBODY
    import_: str | None = None
    export: str | None = None
    actions: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    views: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    import_label: str = "importer"


_RUN, _READ_PATIENTS = "labs.run_operations", "labs.read_patient_data"
ADMIN_TABLE: dict[str, AdminRules] = {
    "labs.laboratory": AdminRules(
        "Laboratoires", view="labs.view_lab_data", add="labs.manage_shared", change="labs.edit_laboratory",
        delete="labs.delete_lab_data", import_="labs.manage_shared", export="labs.view_lab_data",
    ),
    "labs.breach": AdminRules(
        "Violations", view="labs.view_lab_data", add="labs.manage_shared", change="labs.manage_shared",
        delete="labs.delete_lab_data",
        actions={"sync_case_files": ("labs.manage_shared", "créer les dossiers par laboratoire")},
    ),
    "labs.breachlaboratory": AdminRules(
        "Dossiers art. 33", view="labs.view_lab_data", add="labs.manage_shared", change="labs.edit_breach",
        delete="labs.delete_lab_data", export="labs.view_lab_data",
        actions={"prefill_estimates": ("labs.edit_breach", "reprendre les estimations de l'import")},
        views={
            "file": ("labs.file_with_cnil", "notifier la CNIL"),
            "register_pdf": ("labs.view_lab_data", "registre PDF (art. 33(5))"),
            "ars_pdf": ("labs.edit_breach", "fiche ARS / CERT Santé (PDF : projet, ou version transmise)"),
        },
    ),
    "labs.breachmeasure": AdminRules(
        "Mesures (dans le dossier)", view="labs.view_lab_data", add="labs.edit_breach", change="labs.edit_breach",
        delete="labs.delete_lab_data",
    ),
    "labs.cnilfiling": AdminRules(
        "Notifications CNIL (ajout seul)", view="labs.view_lab_data",
        views={
            "sheet_pdf": ("labs.view_lab_data", "fiche PDF"),
            "sheet_json": ("labs.view_lab_data", "fiche JSON"),
            # Counts and the contacts filed, no patient-level data: read like the sheet, the CNIL liaison included.
            "edpb_json": ("labs.view_lab_data", "export au modèle EDPB (JSON, validé)"),
            "receipt": ("labs.view_lab_data", "télécharger l'accusé de réception (PDF)"),
            "attach_receipt": ("labs.file_with_cnil", "ajouter la référence CNIL et l'accusé de réception (une fois)"),
        },
    ),
    "labs.authoritynotification": AdminRules(
        "Autres autorités informées (dans le dossier)", view="labs.view_lab_data", add="labs.edit_breach",
        change="labs.edit_breach", delete="labs.delete_lab_data",
    ),
    "labs.obligation": AdminRules(
        "Obligations par régime", view="labs.view_obligations",
        actions={"approve_not_required": ("labs.edit_breach", "approuver « non requise » (seconde personne)")},
        views={
            "assess": ("labs.edit_breach", "évaluer (requise, ou non requise avec motif)"),
            "file": ("labs.edit_breach", "enregistrer le dépôt d'une étape (ARS / CERT Santé, NIS2)"),
        },
    ),
    "labs.publiccommunication": AdminRules(
        "Communications publiques (art. 34(3)(c)), avec leurs chiffres figés", view="labs.view_lab_data",
        add="labs.edit_breach", delete="labs.delete_lab_data",
    ),
    "labs.deadlinereminder": AdminRules("Rappels d'échéance", view="labs.view_lab_data"),
    "labs.laboratorymembership": AdminRules(
        "Accès aux laboratoires", view="labs.view_lab_data", add="labs.manage_shared", change="labs.manage_shared",
        delete="labs.delete_lab_data",
    ),
    "labs.auditevent": AdminRules("Journal d'audit (ajout seul)", view="labs.view_audit"),
    "patients.importbatch": AdminRules("Imports (comptes)", view="labs.view_lab_data"),
    "patients.importrejection": AdminRules("Enregistrements rejetés (dans l'import)", view=_READ_PATIENTS),
    "patients.patient": AdminRules("Patients", view=_READ_PATIENTS, export=_READ_PATIENTS),
    "patients.exposedrecord": AdminRules("Enregistrements exposés", view=_READ_PATIENTS),
    "notifier.campaign": AdminRules(
        "Campagnes", view="labs.view_lab_data", add="labs.edit_lab_data", change="labs.edit_lab_data",
        delete="labs.delete_lab_data",
        actions={
            "approve": (_RUN, "approuver (quatre yeux)"),
            "launch": (_RUN, "lancer"),
            "pause": (_RUN, "suspendre"),
            "resume": (_RUN, "reprendre"),
            "cancel": (_RUN, "annuler"),
            "export_call_centre_list": (_READ_PATIENTS, "exporter la liste du centre d'appels (CSV)"),
            "export_call_centre_list_xlsx": (_READ_PATIENTS, "exporter la liste du centre d'appels (XLSX)"),
        },
        views={
            "plan": ("labs.view_lab_data", "voir le plan de remise (appels attendus par jour)"),
            "capacity": (_RUN, "déclarer la capacité du centre d'appels (plan de remise)"),
        },
    ),
    "notifier.notification": AdminRules(
        "Envois (lettres, courriels)", view=_READ_PATIENTS, import_=_RUN,
        import_label="importer les retours de courrier (PND), pour ses laboratoires",
    ),
    "notifier.deliveryevent": AdminRules("Événements de distribution", view=_READ_PATIENTS),
    "status_page.accessrequest": AdminRules(
        "Demandes d'accès des patients (art. 15)", view="labs.answer_access_request",
        change="labs.answer_access_request",
    ),
    "notifier.printbatch": AdminRules(
        "Lots d'impression", view=_READ_PATIENTS, delete="labs.delete_lab_data",
        actions={"hand_over": (_RUN, "marquer remis à l'imprimeur / La Poste")},
        views={"pdf": (_READ_PATIENTS, "télécharger le PDF"), "manifest": (_READ_PATIENTS, "télécharger le manifeste")},
    ),
}  # fmt: skip

# Admins of other packages (users, groups, TOTP devices, lockouts) keep Django's model permissions, which
# no role group holds (a test checks it): superusers only.
THIRD_PARTY_ADMIN_APPS = frozenset({"auth", "otp_totp", "axes"})

# Staff pages outside the admin, by URL name.
VIEW_TABLE: dict[str, tuple[str, str]] = {
    "dashboards:dpo": (_READ_PATIENTS, "Tableau de bord du DPO"),
    "dashboards:delivery_report": (_READ_PATIENTS, "Tableau de bord : rapport d'envois par lettre"),
    "dashboards:unreachable": (_READ_PATIENTS, "Tableau de bord : liste des injoignables"),
    "dashboards:cnil": ("labs.view_cnil_dashboard", "Tableau de bord CNIL"),
    "dashboards:cnil_export": ("labs.view_cnil_dashboard", "Tableau de bord CNIL : export CSV"),
    "letters:preview": (_READ_PATIENTS, "Aperçu des lettres"),
    "call_centre:index": ("labs.view_call_centre_kit", "Centre d'appels : les kits de ses laboratoires"),
    "call_centre:kit": ("labs.view_call_centre_kit", "Centre d'appels : FAQ et script d'appel"),
    "call_centre:kit_pdf": ("labs.view_call_centre_kit", "Centre d'appels : FAQ et script (PDF)"),
    "call_centre:call_list": (_READ_PATIENTS, "Centre d'appels : liste d'appels sortants (CSV, XLSX)"),
    "call_centre:notice": (
        "labs.open_notice_by_reference",
        "Centre d'appels : ouvrir un avis (référence + date de naissance)",
    ),
    "letters:preview_pdf": (_READ_PATIENTS, "Aperçu d'une lettre (PDF spécimen)"),
    "evidence:dpo": ("labs.evidence_pack", "Dossiers de preuves (version DPO) : la page"),
    "evidence:dpo_build": ("labs.evidence_pack", "Dossiers de preuves (version DPO) : préparer"),
    "evidence:dpo_download": ("labs.evidence_pack", "Dossiers de preuves (version DPO) : télécharger"),
    "evidence:liaison": ("labs.evidence_pack_liaison", "Dossiers de preuves (version CNIL) : la page"),
    "evidence:liaison_build": ("labs.evidence_pack_liaison", "Dossiers de preuves (version CNIL) : préparer"),
    "evidence:liaison_download": ("labs.evidence_pack_liaison", "Dossiers de preuves (version CNIL) : télécharger"),
}

# Management commands: "ops.shell" for those run by the operations team; a subcommand acting for a
# person (`--by USER`) names the permission that person must hold on the campaign's laboratory.
COMMAND_TABLE: dict[str, tuple[str, str]] = {
    "campaign create": ("labs.edit_lab_data", "campaign create --by (créer une campagne)"),
    "campaign approve": (_RUN, "campaign approve --by"),
    "campaign launch": (_RUN, "campaign launch --by"),
    "campaign pause": (_RUN, "campaign pause --by"),
    "campaign resume": (_RUN, "campaign resume --by"),
    "campaign cancel": (_RUN, "campaign cancel --by"),
    "campaign handover": (_RUN, "campaign handover --by (lot remis)"),
    "campaign returns": (_RUN, "campaign returns FICHIER --by (retours de courrier)"),
    "campaign capacity": (_RUN, "campaign capacity --by (capacité du centre d'appels, plan de remise)"),
    "campaign plan": ("ops.shell", "campaign plan (plan de remise jour par jour, --json)"),
    "campaign status": ("ops.shell", "campaign status"),
    "campaign unconfirmed": ("ops.shell", "campaign unconfirmed (courriels sans accusé du serveur, --csv)"),
    "campaign demo": ("ops.shell", "campaign demo (refusée en production)"),
    "import_leak": ("ops.shell", "import_leak (import du fichier fuité)"),
    "generate_leak": ("ops.shell", "generate_leak (fichier synthétique)"),
    "create_breach": ("ops.shell", "create_breach"),
    "case_files_sync": ("ops.shell", "case_files_sync"),
    "demo_laboratories": ("ops.shell", "demo_laboratories (refusée en production)"),
    "demo_users": ("ops.shell", "demo_users (refusée en production)"),
    "demo_patient": ("ops.shell", "demo_patient (refusée en production)"),
    "staff": ("ops.shell", "staff add, totp, deactivate, list (comptes du personnel)"),
    "run_periodic": ("ops.shell", "run_periodic (tâches périodiques sans broker)"),
    "filing_export": ("ops.shell", "filing_export ID --format edpb-json|cnil-pdf|ars-pdf (fiches d'une notification)"),
    "evidence_pack": (
        "ops.shell",
        "evidence_pack VIOLATION LABORATOIRE [--liaison] [--out FICHIER] (dossier de preuves)",
    ),
}


def admin_rules(model: type[models.Model]) -> AdminRules:
    """The table's line for a model's admin; a model missing from it may do nothing but be refused."""
    return ADMIN_TABLE.get(model._meta.label_lower) or AdminRules(label=model._meta.label, view=NOBODY)


def view_permission(url_name: str) -> str:
    """The permission a staff page outside the admin needs (`VIEW_TABLE`; a page missing from it: nobody)."""
    return VIEW_TABLE.get(url_name, (NOBODY, ""))[0]


def command_permission(command: str) -> str:
    """The permission a management command (or its `--by` person) needs (`COMMAND_TABLE`)."""
    return COMMAND_TABLE.get(command, (NOBODY, ""))[0]


def roles_allowed(permission: str | None) -> frozenset[str]:
    if not permission:
        return frozenset()
    return PERMISSION_TABLE[permission].roles


# --- rules predicates and permissions -------------------------------------------------------------
@rules.predicate
def is_dpo(user: Any) -> bool:
    return bool(getattr(user, "is_active", False)) and DPO in role_names(user)


@rules.predicate
def is_cnil_liaison(user: Any) -> bool:
    return bool(getattr(user, "is_active", False)) and CNIL_LIAISON in role_names(user)


@rules.predicate
def is_operator(user: Any) -> bool:
    return bool(getattr(user, "is_active", False)) and OPERATOR in role_names(user)


@rules.predicate
def is_call_centre_agent(user: Any) -> bool:
    return bool(getattr(user, "is_active", False)) and CALL_CENTRE in role_names(user)


@rules.predicate
def is_active_superuser(user: Any) -> bool:
    return bool(getattr(user, "is_active", False) and getattr(user, "is_superuser", False))


@rules.predicate
def in_users_laboratories(user: Any, obj: Any) -> bool:
    """Object-level: the object belongs to one of the user's laboratories (lab_path declared on its class)."""
    if obj is None:
        return True
    return can_access(user, obj, getattr(type(obj), "lab_path", "laboratory"))


ROLE_PREDICATES = {
    DPO: is_dpo, OPERATOR: is_operator, CNIL_LIAISON: is_cnil_liaison, CALL_CENTRE: is_call_centre_agent,
    SUPERUSER: is_active_superuser,
}  # fmt: skip


def _predicate_for(roles_: frozenset[str]) -> Any:
    predicate = rules.always_false
    for role in TABLE_ROLES:
        if role in roles_:
            predicate = predicate | ROLE_PREDICATES[role]
    return predicate


# The rules permissions, derived from the table (Django's ModelBackend answers True to active superusers
# for any name, hence SUPERUSER in every line of the table: the table says what actually happens).
PERMISSIONS = {name: _predicate_for(permission.roles) for name, permission in PERMISSION_TABLE.items()}
PERMISSIONS["labs.access_object"] = is_active_superuser | in_users_laboratories
for _name, _predicate in PERMISSIONS.items():
    rules.set_perm(_name, _predicate)


def may(user: Any, permission: str | None) -> bool:
    """Whether `user` holds `permission` of the table (NOBODY / None: nobody, superusers included)."""
    return bool(permission) and bool(getattr(user, "is_active", False)) and user.has_perm(permission)


def require(user: Any, permission: str | None, message: str = REFUSED) -> None:
    """Raise PermissionDenied (403, with a French message) unless `user` holds `permission`."""
    if not may(user, permission):
        raise PermissionDenied(message)


# --- scoping -------------------------------------------------------------------------------------
def sees_all_laboratories(user: Any) -> bool:
    """Superusers and the CNIL liaison see every laboratory (the liaison only its aggregates and filings)."""
    return bool(is_active_superuser(user) or (getattr(user, "is_active", False) and is_cnil_liaison(user)))


def laboratories_for(user: Any) -> models.QuerySet:
    """The laboratories this user may see, as a queryset."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Laboratory.objects.none()
    if sees_all_laboratories(user):
        return Laboratory.objects.all()
    return Laboratory.objects.filter(memberships__user=user)


def _crosses_many(model: type[models.Model], path: str) -> bool:
    for part in path.split("__"):
        if part == "pk":
            return False
        field = model._meta.get_field(part)
        if field.many_to_many or field.one_to_many:
            return True
        if field.related_model is None:
            return False
        model = field.related_model
    return False


def scope_queryset(qs: models.QuerySet, user: Any, lab_path: str | None = "laboratory") -> models.QuerySet:
    """Cut `qs` down to the user's laboratories; `lab_path` leads from the model to a Laboratory ("pk" for
    Laboratory itself, None for rows with no laboratory — superusers only)."""
    if is_active_superuser(user):
        return qs
    if lab_path is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return qs.none()
    if sees_all_laboratories(user):
        return qs
    labs = laboratories_for(user).values("pk")
    lookup = {f"{lab_path}__in": labs}
    if _crosses_many(qs.model, lab_path):
        # A many-valued path (a breach with several laboratories) would duplicate rows: filter by pk instead.
        return qs.filter(pk__in=qs.model._default_manager.filter(**lookup).values("pk"))
    return qs.filter(**lookup)


def can_access(user: Any, obj: models.Model, lab_path: str | None = "laboratory") -> bool:
    return scope_queryset(type(obj)._default_manager.filter(pk=obj.pk), user, lab_path).exists()


def memberships_set(*, user: Any, laboratories: Iterable[Any]) -> None:
    """Make `user` a member of exactly these laboratories (idempotent)."""
    wanted = {lab.pk for lab in laboratories}
    LaboratoryMembership.objects.filter(user=user).exclude(laboratory_id__in=wanted).delete()
    for lab_id in wanted:
        LaboratoryMembership.objects.get_or_create(user=user, laboratory_id=lab_id)


# --- authentication ------------------------------------------------------------------------------
class AxesRequestBackend(AxesStandaloneBackend):
    """django-axes lockout for log-ins that come with a request (the admin form); a call without a request
    (`Client.login` in tests, scripts) is left to the next backend instead of failing."""

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> Any:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


# --- admin ---------------------------------------------------------------------------------------
def _cached_perm(request: HttpRequest, name: str | None) -> bool:
    """A role permission, evaluated once per request (the admin's sidebar asks it for every model)."""
    if not name or not request.user.is_active:
        return False
    cache = request.__dict__.setdefault("_notifier_perms", {})
    key = (request.user.pk, name)  # keyed by user: a log-in within the request must not reuse answers
    if key not in cache:
        cache[key] = request.user.has_perm(name)
    return cache[key]


class LabScopedAdminMixin:
    """Put first in an admin's bases: `class PatientAdmin(LabScopedAdminMixin, admin.ModelAdmin)`.

    What each role may do is the admin's line of `ADMIN_TABLE` (view, add, change, delete, import,
    export, each action, each custom URL); the admin itself declares only
    - `lab_path`: the lookup from the model to its Laboratory ("laboratory", "patient__laboratory",
      "laboratories" for a breach, "pk" for Laboratory, None for superuser-only models);
    - `patient_data = True` for person-level rows: their reads are audited.
    Objects outside the user's laboratories are 404 on every object URL (change, delete, history) and
    when selected for an action; an action the table does not give the user is not offered, and posting
    it anyway is 403.
    """

    lab_path: str | None = "laboratory"
    patient_data: bool = False

    @property
    def table_rules(self) -> AdminRules:
        return admin_rules(self.model)

    def _perm(self, request: HttpRequest, name: str | None) -> bool:
        return _cached_perm(request, name)

    def get_queryset(self, request: HttpRequest) -> models.QuerySet:
        return scope_queryset(super().get_queryset(request), request.user, self.lab_path)

    def get_list_filter(self, request: HttpRequest) -> Any:
        # A plain relation filter lists every related row (e.g. every laboratory's name): for anyone but a
        # superuser, offer only the values present in the scoped queryset.
        filters = super().get_list_filter(request)
        if is_active_superuser(request.user):
            return filters
        return [self._related_only(spec) for spec in filters]

    def _related_only(self, spec: Any) -> Any:
        if not isinstance(spec, str):
            return spec
        try:
            field = get_fields_from_path(self.model, spec)[-1]
        except (models.FieldDoesNotExist, LookupError):
            return spec
        return (spec, RelatedOnlyFieldListFilter) if field.is_relation and field.many_to_one else spec

    def _scoped_choices(self, model: type[models.Model], user: Any) -> models.QuerySet | None:
        """The choices a select of `model` may offer this user: their laboratories, or rows of their
        laboratories for a model whose admin is laboratory-scoped; None for a model with no laboratory."""
        try:
            registered = self.admin_site.get_model_admin(model)
        except NotRegistered:
            return None
        lab_path = getattr(registered, "lab_path", None)
        if lab_path is None:
            return None
        return scope_queryset(model._default_manager.all(), user, lab_path)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # Without this a DPO's add form lists every laboratory, and a posted id of another one is accepted.
        if "queryset" not in kwargs:
            scoped = self._scoped_choices(db_field.related_model, request.user)
            if scoped is not None:
                kwargs["queryset"] = scoped
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _in_scope(self, request: HttpRequest, obj: Any) -> bool:
        return obj is None or can_access(request.user, obj, self.lab_path)

    # --- the table, operation by operation ---
    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._perm(request, self.table_rules.view) and self._in_scope(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._perm(request, self.table_rules.change) and self._in_scope(request, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._perm(request, self.table_rules.add)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._perm(request, self.table_rules.delete) and self._in_scope(request, obj)

    def has_import_permission(self, request: HttpRequest) -> bool:
        return self._perm(request, self.table_rules.import_)

    def has_export_permission(self, request: HttpRequest) -> bool:
        return self._perm(request, self.table_rules.export)

    def has_url_permission(self, request: HttpRequest, name: str) -> bool:
        """A custom admin URL (`<app>_<model>_<name>`), e.g. the case file's "file" page."""
        return self._perm(request, self.table_rules.views.get(name, (NOBODY, ""))[0])

    def action_permission(self, name: str) -> str | None:
        """The permission an action needs: Django's bulk delete is the delete permission."""
        if name == "delete_selected":
            return self.table_rules.delete
        return self.table_rules.actions.get(name, (NOBODY, ""))[0]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        return {name: action for name, action in actions.items() if self._perm(request, self.action_permission(name))}

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST" and "action" in request.POST:
            self._refuse_unless_action_allowed(request)
        if self.patient_data and request.method == "GET":
            audit_record(
                actor=request.user,
                action=AuditEvent.Action.LIST,
                request=request,
                object_type=self.model._meta.label_lower,
                query=request.GET.urlencode()[:500],
                via="admin",
            )
        return super().changelist_view(request, extra_context)

    def _refuse_unless_action_allowed(self, request: HttpRequest) -> None:
        # Django answers an action it does not offer with a "no action selected" redirect: say 403 instead,
        # and 404 when a selected object is another laboratory's (as on every object URL).
        names = request.POST.getlist("action")
        try:
            name = names[int(request.POST.get("index", 0))]
        except (ValueError, IndexError):
            name = names[0] if names else ""
        if name not in self.get_actions(request):
            raise PermissionDenied(REFUSED)
        selected = request.POST.getlist(ACTION_CHECKBOX_NAME)
        if selected and request.POST.get("select_across") != "1":
            try:
                found = self.get_queryset(request).filter(pk__in=selected).count()
            except (ValueError, TypeError) as error:
                raise Http404("Objet introuvable / not found") from error
            if found != len(set(selected)):
                raise Http404("Objet introuvable / not found")

    def import_action(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied(REFUSED)
        return super().import_action(request, **kwargs)

    def process_import(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied(REFUSED)
        return super().process_import(request, **kwargs)

    def export_action(self, request):
        if not self.has_export_permission(request):
            raise PermissionDenied(REFUSED)
        return super().export_action(request)

    def _get_obj_does_not_exist_redirect(self, request: HttpRequest, opts: Any, object_id: str) -> Any:
        # Django redirects to the index for a missing object; out of scope must look like "does not exist": 404.
        raise Http404("Objet introuvable / not found")

    def _404_unless_in_scope(self, request: HttpRequest, object_id: str) -> None:
        # Django checks permissions before existence (403 on delete for a DPO): existence in scope comes first,
        # so another laboratory's object is indistinguishable from a missing one.
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404("Objet introuvable / not found")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._404_unless_in_scope(request, object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._404_unless_in_scope(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._404_unless_in_scope(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # django-simple-history's version page: scoped like the rest, and read-only — its "revert" POST
        # checks no change permission and would write around the services (and the filings' append-only rule).
        self._404_unless_in_scope(request, object_id)
        if request.method == "POST":
            raise PermissionDenied("Restaurer une version est désactivé / reverting a version is disabled.")
        return super().history_form_view(request, object_id, version_id, extra_context)

    def _laboratory_of(self, obj: Any) -> Any:
        """The object's laboratory along lab_path (for the trail), when the path is single-valued."""
        if obj is None or self.lab_path is None:
            return None
        if self.lab_path == "pk":
            return obj
        if _crosses_many(type(obj), self.lab_path):
            return None
        for part in self.lab_path.split("__"):
            obj = getattr(obj, part, None)
            if obj is None:
                return None
        return obj

    def _audit(self, request: HttpRequest, action: str, obj: Any, **extra: Any) -> None:
        audit_record(
            actor=request.user, action=action, obj=obj, laboratory=self._laboratory_of(obj), request=request, **extra
        )

    # The trail: reads of person-level rows, exports, and every write made through the admin.
    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and not add and request.method == "GET" and self.patient_data:
            self._audit(request, AuditEvent.Action.VIEW, obj, via="admin")
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def get_export_queryset(self, request):
        qs = super().get_export_queryset(request)
        audit_record(
            actor=request.user,
            action=AuditEvent.Action.EXPORT,
            request=request,
            object_type=self.model._meta.label_lower,
            rows=qs.count(),
            via="admin",
        )
        return qs

    def log_addition(self, request, obj, message):
        self._audit(request, AuditEvent.Action.ADD, obj, via="admin")
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._audit(request, AuditEvent.Action.CHANGE, obj, via="admin", change=message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit(request, AuditEvent.Action.DELETE, obj, via="admin")
        return super().log_deletions(request, queryset)


class LabScopedInlineMixin:
    """Inlines follow the table's line of their own model (the parent object is already scoped by its admin)."""

    def _perm(self, request: HttpRequest, name: str | None) -> bool:
        return _cached_perm(request, name)

    @property
    def table_rules(self) -> AdminRules:
        return admin_rules(self.model)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._perm(request, self.table_rules.view) or self.has_change_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._perm(request, self.table_rules.change)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._perm(request, self.table_rules.add)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._perm(request, self.table_rules.delete)


# --- the README's table --------------------------------------------------------------------------
def _cells(permission: str | None) -> str:
    allowed = roles_allowed(permission)
    return " | ".join("oui" if role in allowed else "—" for role in TABLE_ROLES)


def roles_table_markdown() -> str:
    """The README's "Rôles et permissions" table, rendered from the tables above (a test keeps them equal).

    Operations nobody may do (rows written by the engine, append-only rows) are left out."""
    header = "| opération | " + " | ".join(ROLE_LABELS[role] for role in TABLE_ROLES) + " | permission |"
    lines = [header, "|" + " --- |" * (len(TABLE_ROLES) + 2)]

    def row(label: str, permission: str | None) -> None:
        if permission:
            lines.append(f"| {label} | {_cells(permission)} | `{permission}` |")

    for rules_ in ADMIN_TABLE.values():
        row(f"{rules_.label} : consulter", rules_.view)
        row(f"{rules_.label} : ajouter", rules_.add)
        row(f"{rules_.label} : modifier", rules_.change)
        row(f"{rules_.label} : supprimer", rules_.delete)
        row(f"{rules_.label} : {rules_.import_label}", rules_.import_)
        row(f"{rules_.label} : exporter", rules_.export)
        for permission, label in [*rules_.actions.values(), *rules_.views.values()]:
            row(f"{rules_.label} : {label}", permission)
    for permission, label in VIEW_TABLE.values():
        row(label, permission)
    for permission, label in COMMAND_TABLE.values():
        row(f"`manage.py {label}`", permission)
    return "\n".join(lines)
