"""Personas and logged-in clients for the OTP-protected admin (imported by tests/conftest.py).

The admin requires a verified TOTP device: `login_verified(client, user)` logs a user in and marks the
session as verified by a confirmed device, the way django_otp.login() does after a right code.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from labs import access
from tests.factories import LaboratoryFactory

PASSWORD = "correct horse battery staple 42"  # noqa: S105 (test-only)


def login_verified(client, user):
    """Log `user` in on `client` with a verified second factor; returns the client."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def make_staff(username, *, role=None, laboratories=(), superuser=False):
    user = get_user_model().objects.create_user(
        username=username, password=PASSWORD, email=f"{username}@staff.example", is_staff=True, is_superuser=superuser
    )
    if role:
        user.groups.add(access.roles_ensure()[role])
    access.memberships_set(user=user, laboratories=laboratories)
    return user


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests create many users: a fast hasher (Django's advice for tests); production keeps PBKDF2."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(name="login_verified")
def login_verified_fixture():
    return login_verified


@pytest.fixture
def admin_client(client, admin_user):
    """pytest-django's admin_client, with the second factor the admin requires."""
    return login_verified(client, admin_user)


@pytest.fixture
def lab_a(db):
    return LaboratoryFactory(code="LAB-A", name="Laboratoire A", dpo_email="dpo@lab-a.example")


@pytest.fixture
def lab_b(db):
    return LaboratoryFactory(code="LAB-B", name="Laboratoire B", dpo_email="dpo@lab-b.example")


@pytest.fixture
def dpo_lab_a(lab_a):
    return make_staff("dpo-a", role=access.DPO, laboratories=[lab_a])


@pytest.fixture
def dpo_lab_b(lab_b):
    return make_staff("dpo-b", role=access.DPO, laboratories=[lab_b])


@pytest.fixture
def operator_lab_a(lab_a):
    return make_staff("operator-a", role=access.OPERATOR, laboratories=[lab_a])


@pytest.fixture
def cnil_liaison(db):
    return make_staff("cnil", role=access.CNIL_LIAISON)
