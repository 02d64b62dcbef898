"""The staff roles (Django groups) and how the audit trail names them.

A module of its own because two others need it and must not need each other: `labs.access` decides
what a role may do, `labs.audit` writes the role of whoever acted into each event, and access records
to the audit trail.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group

DPO = "DPO"
CNIL_LIAISON = "Liaison CNIL"
OPERATOR = "Opérateur"
CALL_CENTRE = "Centre d'appels"  # call-centre agents: the kit of their laboratories, one notice at a time
ROLES = (DPO, CNIL_LIAISON, OPERATOR, CALL_CENTRE)


def roles_ensure() -> dict[str, Group]:
    """Create the role groups once; re-running changes nothing."""
    return {name: Group.objects.get_or_create(name=name)[0] for name in ROLES}


def role_names(user: Any) -> list[str]:
    """The user's roles, sorted; asked many times per request, so cached on the user object."""
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_notifier_roles", None)
    if cached is None:
        cached = sorted(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        user._notifier_roles = cached
    return cached


def role_label(user: Any) -> str:
    """How the audit trail names the user's role(s)."""
    names = role_names(user)
    if getattr(user, "is_superuser", False):
        names = ["superuser", *names]
    return ", ".join(names) or "staff"
