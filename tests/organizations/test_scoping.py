"""A user sees and acts only for his organizations: outsiders get 404, read-only roles 403."""

import pytest
from django.contrib import admin
from django.urls import reverse

from invoices.models import ReceivedDocument
from organizations.roles import Role
from organizations.scoping import scope_queryset
from organizations.services import membership_set
from reception.models import ReceptionMailbox
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


@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_it_hides_another_organizations_mailbox(as_user, charlie, mailbox_a, mailbox_b, view):
    client = as_user(charlie)
    assert client.get(mailbox_url(mailbox_a, view)).status_code == 404
    assert client.get(mailbox_url(mailbox_b, view)).status_code in (200, 403)


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


def test_it_scopes_querysets_by_membership(alice, charlie, sofia, root, mailbox_a, mailbox_b):
    queryset = ReceptionMailbox.objects.all()
    assert list(scope_queryset(queryset, alice)) == [mailbox_a]
    assert list(scope_queryset(queryset, charlie)) == [mailbox_b]
    assert set(scope_queryset(queryset, sofia)) == {mailbox_a, mailbox_b}
    assert set(scope_queryset(queryset, root)) == {mailbox_a, mailbox_b}
    assert list(scope_queryset(queryset, alice, roles=[Role.CONTADOR])) == []


def test_it_hides_another_organizations_documents(as_user, charlie, org_a, org_b):
    if not admin.site.is_registered(ReceivedDocument):
        pytest.skip("the documents admin is not registered yet")
    from tests.factories.documents import ReceivedDocumentFactory  # comes with that admin

    document_a = ReceivedDocumentFactory(organization=org_a)
    document_b = ReceivedDocumentFactory(organization=org_b)
    client = as_user(charlie)
    url = reverse("admin:invoices_receiveddocument_change", args=[document_a.pk])
    assert client.get(url).status_code in (403, 404)
    response = client.get(reverse("admin:invoices_receiveddocument_changelist"))
    assert response.status_code == 200
    assert list(response.context["cl"].queryset) == [document_b]
