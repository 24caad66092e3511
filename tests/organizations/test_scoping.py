"""A user sees and acts only for his organizations: outsiders get 404, read-only roles 403.

Each role counts in its own organization (Soporte in all of them), by one table.
"""

import importlib

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse

from organizations.admin import OrganizationScopedAdminMixin, SuperuserOnlyAdminMixin
from organizations.roles import (
    BACK_OFFICE_GROUP,
    CONTADOR_GROUP,
    GROUP_PERMISSIONS,
    ROLE_TABLE,
    SOPORTE,
    SOPORTE_GROUP,
    Action,
    Role,
    role_groups_sync,
)
from organizations.scoping import (
    allows,
    allows_anywhere,
    allows_everything,
    organizations_allowing,
    scope_queryset,
)
from organizations.services import membership_set
from reception.models import ReceptionMailbox
from tests.factories.documents import ReceivedDocumentFactory
from tests.factories.mailboxes import make_mailbox
from tests.reception.mailbox_data import SECRET, admin_post, basic, modern

MAILBOXES = reverse("admin:reception_receptionmailbox_changelist")
ORGANIZATIONS = reverse("admin:organizations_organization_changelist")


def mailbox_url(mailbox, view="change"):
    return reverse(f"admin:reception_receptionmailbox_{view}", args=[mailbox.pk])


@pytest.fixture
def mailbox_a(org_a):
    return make_mailbox(org_a, secret=SECRET)


@pytest.fixture
def mailbox_b(org_b):
    return make_mailbox(org_b, secret=SECRET, username="recepcion@pacifico.example.test")


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client

    return login


@pytest.mark.parametrize(("view", "own"), [("change", 200), ("history", 200), ("delete", 403)])
def test_it_hides_another_organizations_mailbox(as_user, charlie, mailbox_a, mailbox_b, view, own):
    """Deleting a mailbox is a superuser's, even for its own Back office."""
    client = as_user(charlie)
    assert client.get(mailbox_url(mailbox_a, view)).status_code == 404
    assert client.get(mailbox_url(mailbox_b, view)).status_code == own


def test_it_refuses_an_outsiders_post_with_404(as_user, charlie, mailbox_a):
    client = as_user(charlie)
    response = client.post(mailbox_url(mailbox_a), admin_post(basic(), _continue="1"))
    assert response.status_code == 404
    fresh = ReceptionMailbox.objects.get(pk=mailbox_a.pk)
    assert fresh.server_type == "outlook_modern"
    assert fresh.current_secret.value == SECRET


def test_it_lists_only_the_users_mailboxes(as_user, charlie, mailbox_a, mailbox_b):
    response = as_user(charlie).get(MAILBOXES)
    assert list(response.context["cl"].queryset) == [mailbox_b]
    assert "andina" not in response.content.decode().lower()


def test_it_lists_only_the_users_organizations(as_user, charlie, org_a, org_b):
    client = as_user(charlie)
    response = client.get(ORGANIZATIONS)
    assert list(response.context["cl"].queryset) == [org_b]
    url = reverse("admin:organizations_organization_change", args=[org_a.pk])
    assert client.get(url).status_code == 404


def test_it_does_not_offer_another_organization_to_configure(as_user, charlie, org_a, org_b):
    client = as_user(charlie)
    add = reverse("admin:reception_receptionmailbox_add")
    response = client.post(add, admin_post(modern(), organization=org_a.pk))
    assert response.status_code == 200
    assert "organization" in response.context["adminform"].form.errors
    assert not ReceptionMailbox.objects.exists()


def test_it_scopes_each_membership_by_its_own_role(as_user, charlie, org_a, mailbox_a, mailbox_b):
    """Back office of B and Contador of A: B's mailbox is editable, A's is read-only."""
    membership_set(user=charlie, organization=org_a, role=Role.CONTADOR)
    client = as_user(charlie)
    assert 'name="tenant_id_confirm"' in client.get(mailbox_url(mailbox_b)).content.decode()
    page = client.get(mailbox_url(mailbox_a)).content.decode()
    assert 'name="tenant_id_confirm"' not in page
    assert client.post(mailbox_url(mailbox_a), admin_post(modern())).status_code == 403


@pytest.mark.parametrize("persona", ["sofia", "root"])
def test_it_shows_every_mailbox_to_support_and_superusers(
    request, as_user, mailbox_a, mailbox_b, persona
):
    response = as_user(request.getfixturevalue(persona)).get(MAILBOXES)
    assert set(response.context["cl"].queryset) == {mailbox_a, mailbox_b}


def test_it_scopes_querysets_by_the_role_in_each_organization(
    alice, charlie, sofia, root, mailbox_a, mailbox_b
):
    queryset = ReceptionMailbox.objects.all()

    def scoped(user, action):
        return set(scope_queryset(queryset, user, action=action))

    assert scoped(alice, Action.MAILBOX_VIEW) == {mailbox_a}
    assert scoped(charlie, Action.MAILBOX_VIEW) == {mailbox_b}
    assert scoped(sofia, Action.MAILBOX_VIEW) == {mailbox_a, mailbox_b}
    assert scoped(root, Action.MAILBOX_VIEW) == {mailbox_a, mailbox_b}
    assert scoped(alice, Action.MESSAGE_REPROCESS) == set()
    assert scoped(sofia, Action.SECRET_ROTATE) == set()


def test_it_hides_another_organizations_documents(as_user, charlie, org_a, org_b):
    document_a = ReceivedDocumentFactory(organization=org_a)
    document_b = ReceivedDocumentFactory(organization=org_b)
    client = as_user(charlie)
    url = reverse("admin:invoices_receiveddocument_change", args=[document_a.pk])
    assert client.get(url).status_code == 404
    response = client.get(reverse("admin:invoices_receiveddocument_changelist"))
    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == [document_b]


# --- The decision itself -------------------------------------------------------------------------


def test_it_counts_back_office_only_in_the_organization_of_the_membership(sofia, org_a, org_b):
    """Soporte and Back office of B: Back office in B, only Soporte in A."""
    membership_set(user=sofia, organization=org_b, role=Role.BACK_OFFICE)
    assert allows(sofia, Action.SECRET_ROTATE, org_b.pk)
    assert not allows(sofia, Action.SECRET_ROTATE, org_a.pk)
    assert not allows(sofia, Action.MAILBOX_CONFIGURE, org_a.pk)
    assert allows(sofia, Action.MAILBOX_CHECK, org_a.pk)
    assert allows(sofia, Action.MAILBOX_REACTIVATE, org_a.pk)
    assert organizations_allowing(sofia, Action.SECRET_ROTATE) == [org_b.pk]
    assert organizations_allowing(sofia, Action.MAILBOX_CHECK) is None


def test_it_gives_soporte_only_soporte_s_abilities(sofia, org_a):
    may = {action for action in Action if allows(sofia, action, org_a.pk)}
    assert may == {action for action, rule in ROLE_TABLE.items() if SOPORTE in rule.roles}
    assert may == {
        Action.ORGANIZATION_VIEW,
        Action.MAILBOX_VIEW,
        Action.MAILBOX_CHECK,
        Action.MAILBOX_REACTIVATE,
        Action.MAILBOX_CONFIRM_BACKUP,
        Action.FETCH_RUN_VIEW,
    }


def test_it_gives_a_superuser_everything_and_an_inactive_one_nothing(root, org_a):
    assert all(allows(root, action, org_a.pk) for action in Action)
    root.is_active = False
    assert not any(allows(root, action, org_a.pk) for action in Action)
    assert organizations_allowing(root, Action.DOCUMENT_VIEW) == []


def test_only_an_active_superuser_sees_the_admins_no_role_scopes(root, django_user_model, sofia):
    staff = django_user_model.objects.create_user("personal", password="x", is_staff=True)
    assert allows_everything(root)
    assert not allows_everything(staff)
    assert not allows_everything(sofia)  # Soporte sees every organization, not users or tasks
    root.is_active = False
    assert not allows_everything(root)


def test_it_gives_an_anonymous_user_nothing(org_a):
    from django.contrib.auth.models import AnonymousUser

    user = AnonymousUser()
    assert not any(allows(user, action, org_a.pk) for action in Action)
    assert not allows_anywhere(user, Action.ORGANIZATION_VIEW)


def test_it_ignores_django_permissions_given_by_hand(django_user_model, org_a, role_groups):
    """Back office's and Contador's groups mirror the table; without a membership, or with a
    permission given on the account, they open nothing. (The Soporte group is the role.)"""
    user = django_user_model.objects.create_user("permisos", password="x", is_staff=True)
    user.groups.add(*Group.objects.filter(name__in=[BACK_OFFICE_GROUP, CONTADOR_GROUP]))
    assert user.has_perm("reception.rotate_secret_receptionmailbox")
    assert not any(allows_anywhere(user, action) for action in Action)
    assert not allows(user, Action.SECRET_ROTATE, org_a.pk)


def test_it_puts_every_admin_behind_the_scoping_or_superusers_only():
    for model in apps.get_models():
        if admin.site.is_registered(model):
            model_admin = admin.site.get_model_admin(model)
            scoped = isinstance(model_admin, OrganizationScopedAdminMixin)
            ours = model._meta.app_label in {"organizations", "reception", "invoices"}
            assert scoped == ours, model
            assert scoped or isinstance(model_admin, SuperuserOnlyAdminMixin), model


# --- The groups mirror the table -----------------------------------------------------------------


@pytest.mark.django_db
def test_it_gives_each_group_the_permissions_of_the_role_table():
    groups = {
        group.name: sorted(
            f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()
        )
        for group in Group.objects.prefetch_related("permissions__content_type")
    }
    assert groups == GROUP_PERMISSIONS


def _sync(*args, **kwargs) -> None:
    """role_groups_sync, checking it leaves the app registry as it found it."""
    before = {config.label: config.models_module for config in apps.get_app_configs()}
    role_groups_sync(*args, **kwargs)
    assert {config.label: config.models_module for config in apps.get_app_configs()} == before


def _group_permissions() -> dict[str, list[str]]:
    return {
        group.name: sorted(
            f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()
        )
        for group in Group.objects.prefetch_related("permissions__content_type")
    }


@pytest.mark.django_db
def test_syncing_the_groups_restores_exactly_the_table_after_any_drift():
    """A permission granted by hand is taken away, one removed is given back, a group recreated."""
    back_office = Group.objects.get(name=BACK_OFFICE_GROUP)
    back_office.permissions.add(Permission.objects.get(codename="delete_receptionmailbox"))
    Group.objects.get(name=CONTADOR_GROUP).permissions.clear()
    Group.objects.filter(name=SOPORTE_GROUP).delete()
    _sync()
    assert _group_permissions() == GROUP_PERMISSIONS


@pytest.mark.django_db
def test_syncing_creates_the_permissions_a_fresh_database_does_not_have_yet(capsys):
    """In a migration the permissions do not exist until post_migrate: the sync creates them,
    from the migration's own app registry, whose apps have no models module."""
    state_apps = MigrationExecutor(connection).loader.project_state().apps
    Permission.objects.filter(codename__in=["check_receptionmailbox", "view_organization"]).delete()
    _sync(state_apps)
    assert _group_permissions() == GROUP_PERMISSIONS
    assert all(config.models_module is None for config in state_apps.get_app_configs())
    assert capsys.readouterr().out == ""


@pytest.mark.django_db
def test_syncing_finds_each_permission_by_app_and_codename():
    """A codename is unique within an app only: another app's namesake is not granted."""
    namesake = Permission.objects.create(
        codename="view_receiveddocument",
        name="Homónimo",
        content_type=ContentType.objects.get_for_model(Group),
    )
    _sync()
    assert _group_permissions() == GROUP_PERMISSIONS
    assert not namesake.group_set.exists()


@pytest.mark.django_db
def test_syncing_with_a_migration_s_own_permissions_grants_those_and_no_others():
    _sync(permissions={"Contador": ["invoices.view_receiveddocument"]})
    assert _group_permissions()["Contador"] == ["invoices.view_receiveddocument"]
    assert _group_permissions()[BACK_OFFICE_GROUP] == GROUP_PERMISSIONS[BACK_OFFICE_GROUP]


def test_it_has_a_data_migration_for_the_current_group_permissions():
    """Databases migrated before a change of the table get it only from a new migration."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    syncs = sorted(
        name
        for app, name in loader.disk_migrations
        if app == "organizations"
        and hasattr(
            importlib.import_module(f"organizations.migrations.{name}"), "GROUP_PERMISSIONS"
        )
    )
    latest = importlib.import_module(f"organizations.migrations.{syncs[-1]}")
    assert latest.GROUP_PERMISSIONS == GROUP_PERMISSIONS


@pytest.mark.django_db
def test_the_roles_are_read_once_per_user_object(
    bob, sofia, org_a, org_b, django_assert_num_queries
):
    """One object per request: a page asking many questions costs two queries, not two each."""
    for persona in (bob, sofia):
        user = type(persona).objects.get(pk=persona.pk)
        with django_assert_num_queries(2):
            for action in (Action.MAILBOX_CHECK, Action.MESSAGE_VIEW, Action.DOCUMENT_VIEW):
                for organization in (org_a, org_b):
                    allows(user, action, organization.pk)
                organizations_allowing(user, action)
