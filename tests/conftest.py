"""Personas shared by the whole suite.

Organization A (900123456-8) has alice (Back office) and bob (Contador); organization B
(800197268-4) has charlie (Back office), an outsider to A; sofia is Soporte (every
organization, no secrets); root is a superuser.
"""

import pytest
from django.contrib.auth.models import Group
from django.http import HttpRequest
from django.test import Client
from django.utils.functional import empty

from config.storage import private_storage
from organizations.roles import SOPORTE_GROUP, Role, role_groups_sync
from organizations.services import membership_set, organization_add

pytest_plugins = ["tests.harness.fixtures"]

PASSWORD = "correct horse battery staple"


def pytest_configure(config: pytest.Config) -> None:
    """Compile the translation catalogues (locale/*.po) as `make test` does, so a test run
    straight from pytest reads the same texts; once, before the xdist workers start."""
    if hasattr(config, "workerinput"):
        return
    from django.core.management import call_command

    call_command("compilemessages", ignore_patterns=[".venv"], verbosity=0)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """The personas log in many times; a slow hasher would only slow the suite down."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class LoginClient(Client):
    """Django's test client whose login() brings a request, as the admin's login form does.

    The login rate limit (django-axes) refuses an authentication without the request it keys
    its counters by; force_login() needs nothing.
    """

    def login(self, **credentials) -> bool:
        request = HttpRequest()
        request.META["REMOTE_ADDR"] = "127.0.0.1"
        return super().login(request=request, **credentials)


@pytest.fixture
def client() -> LoginClient:
    return LoginClient()


@pytest.fixture
def role_groups(db):
    """The role groups come from a data migration; a transactional test's flush removes them,
    so tests that need them make sure they are there."""
    if not Group.objects.filter(name=SOPORTE_GROUP).exists():
        role_groups_sync()


@pytest.fixture
def org_a(db):
    return organization_add(nit="900123456-8", name="Comercializadora Andina S.A.S.")[0]


@pytest.fixture
def org_b(db):
    return organization_add(nit="800197268-4", name="Distribuidora del Pacífico S.A.")[0]


def _user(django_user_model, username: str, **extra):
    return django_user_model.objects.create_user(
        username=username, password=PASSWORD, email=f"{username}@example.test", **extra
    )


@pytest.fixture
def alice(django_user_model, org_a, role_groups):
    user = _user(django_user_model, "alice")
    membership_set(user=user, organization=org_a, role=Role.BACK_OFFICE)
    return user


@pytest.fixture
def bob(django_user_model, org_a, role_groups):
    user = _user(django_user_model, "bob")
    membership_set(user=user, organization=org_a, role=Role.CONTADOR)
    return user


@pytest.fixture
def charlie(django_user_model, org_b, role_groups):
    user = _user(django_user_model, "charlie")
    membership_set(user=user, organization=org_b, role=Role.BACK_OFFICE)
    return user


@pytest.fixture
def sofia(django_user_model, role_groups):
    user = _user(django_user_model, "sofia", is_staff=True)
    user.groups.add(Group.objects.get(name=SOPORTE_GROUP))
    return user


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_superuser(
        username="root", password=PASSWORD, email="root@example.test"
    )


@pytest.fixture
def private_storage_root(settings, tmp_path, monkeypatch):
    """Point the private storage at a fresh directory for one test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "media" / "private"
    monkeypatch.setattr(private_storage, "_wrapped", empty)
    return settings.PRIVATE_STORAGE_ROOT
