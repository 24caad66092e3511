"""The mailbox configuration page in the admin, through real requests of the test client."""

import uuid

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.db import connection
from django.test import Client
from django.urls import reverse

from reception.models import MailboxStatus, ReceptionMailbox, Secret
from tests.factories.mailboxes import make_mailbox
from tests.reception.fake_check import PASSING_REASON, install_fake_check
from tests.reception.mailbox_data import (
    CLIENT,
    INVALID_CASES,
    NEW_SECRET,
    PASSWORD,
    SECRET,
    TENANT,
    admin_post,
    basic,
    modern,
)

ADD_URL = reverse("admin:reception_receptionmailbox_add")


def change_url(mailbox):
    return reverse("admin:reception_receptionmailbox_change", args=[mailbox.pk])


def history_url(mailbox):
    return reverse("admin:reception_receptionmailbox_history", args=[mailbox.pk])


@pytest.fixture
def fake_check(monkeypatch):
    # Replaced by the real check in the connectivity tests.
    return install_fake_check(monkeypatch)


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def configured(org_a, alice_client, fake_check):
    """Org A's mailbox, configured through the admin with SECRET."""
    response = alice_client.post(ADD_URL, admin_post(modern(), organization=org_a.pk))
    assert response.status_code == 302, response.context and response.context["errors"]
    return ReceptionMailbox.objects.get(organization=org_a)


def test_it_shows_the_guide_labels_and_texts(alice_client):
    response = alice_client.get(ADD_URL)
    assert response.status_code == 200
    page = response.content.decode()
    for label in (
        "Tipo de Servidor",
        "Protocolo de Acceso",
        "Servidor",
        "Puerto",
        "Protocolo de Seguridad",
        "Usuario",
        "Contraseña",
        "Información de Seguridad",
        "Id. Tenant",
        "Confirmar Id. Tenant",
        "Id. Aplicación",
        "Confirmar Id. Aplicación",
        "Secreto",
        "Confirmar Secreto",
        "Fecha Expiración",
        "Correo Notificación",
        "Correo de respaldo",
        "Id. de objeto",
    ):
        assert label in page, label
    assert "te sugerimos que este sea destinado únicamente para recibir documentos" in page
    assert "crearemos una estructura de carpetas" in page
    assert "necesitamos que nos facilites otro correo electrónico" in page
    assert "Revisa que no se tengan espacios en los datos copiados" in page
    assert "5 días antes de la fecha diligenciada" in page
    assert "reception/mailbox_form.js" in page
    assert 'data-suggested-hosts="' in page


def test_it_adds_a_mailbox_through_the_service(org_a, alice, alice_client, fake_check):
    response = alice_client.post(ADD_URL, admin_post(modern(), organization=org_a.pk))
    assert response.status_code == 302
    mailbox = ReceptionMailbox.objects.get(organization=org_a)
    assert mailbox.server_type == "outlook_modern"
    assert (mailbox.tenant_id, mailbox.client_id) == (uuid.UUID(TENANT), uuid.UUID(CLIENT))
    assert mailbox.status == MailboxStatus.ACTIVE
    assert mailbox.status_reason == PASSING_REASON
    secret = mailbox.current_secret
    assert secret.value == SECRET
    assert secret.created_by == alice
    assert fake_check.calls == [{"mailbox": mailbox.pk, "actor": alice, "source": "admin"}]
    assert LogEntry.objects.filter(object_id=str(mailbox.pk), action_flag=ADDITION).exists()


def test_it_tells_the_resulting_status(org_a, alice_client, fake_check):
    response = alice_client.post(
        ADD_URL, admin_post(modern(), organization=org_a.pk, _continue="1"), follow=True
    )
    page = response.content.decode()
    assert "Estado del correo: Activo" in page
    assert "Correo Recepción de Documentos Electrónicos - Activo" in page


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [case[1:] for case in INVALID_CASES],
    ids=[case[0] for case in INVALID_CASES],
)
def test_it_reports_each_validation_and_saves_nothing(
    org_a, alice_client, fake_check, values, field, words
):
    response = alice_client.post(ADD_URL, admin_post(values, organization=org_a.pk))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert any(words in message for message in errors.get(field, [])), errors
    assert words in response.content.decode()
    assert not ReceptionMailbox.objects.exists()
    assert fake_check.calls == []


def test_it_removes_pasted_spaces_and_line_breaks(org_a, alice_client, fake_check):
    values = modern(tenant_id=f"\r\n {TENANT} \n", client_id=f"\t{CLIENT}\r\n")
    response = alice_client.post(ADD_URL, admin_post(values, organization=org_a.pk))
    assert response.status_code == 302
    mailbox = ReceptionMailbox.objects.get()
    assert (mailbox.tenant_id, mailbox.client_id) == (uuid.UUID(TENANT), uuid.UUID(CLIENT))


def test_it_fills_the_suggested_server_and_port(org_a, alice_client, fake_check):
    values = modern(protocol="pop3", host="", port="", backup_email="respaldo@andina.example.test")
    response = alice_client.post(ADD_URL, admin_post(values, organization=org_a.pk))
    assert response.status_code == 302
    mailbox = ReceptionMailbox.objects.get()
    assert (mailbox.host, mailbox.port) == ("outlook.office365.com", 995)
    assert mailbox.status == MailboxStatus.PENDING


def test_it_offers_only_the_organizations_the_user_configures(org_a, org_b, alice_client):
    form = alice_client.get(ADD_URL).context["adminform"].form
    assert list(form.fields["organization"].queryset) == [org_a]


def test_it_keeps_the_current_secret_when_left_blank(configured, alice_client):
    values = modern(secret="", secret_confirm="", host="outlook.office365.com")
    response = alice_client.post(change_url(configured), admin_post(values))
    assert response.status_code == 302
    assert Secret.objects.filter(mailbox=configured).count() == 1
    assert configured.current_secret.value == SECRET


def test_it_replaces_the_secret_and_keeps_history_without_values(configured, alice_client):
    response = alice_client.post(change_url(configured), admin_post(modern(secret=NEW_SECRET)))
    assert response.status_code == 302
    old, new = Secret.objects.filter(mailbox=configured).order_by("created_at", "id")
    assert (old.is_current, old.value, new.is_current, new.value) == (False, None, True, NEW_SECRET)
    assert LogEntry.objects.filter(object_id=str(configured.pk), action_flag=CHANGE).exists()


def test_it_shows_status_secret_history_and_status_changes(configured, alice_client):
    response = alice_client.get(change_url(configured))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Correo Recepción de Documentos Electrónicos - Activo" in page
    assert PASSING_REASON in page
    assert "Hay un secreto configurado" in page
    assert "historial de secretos" in page.lower()
    assert "cambios de estado" in page.lower()
    assert "alice" in page


def test_it_never_shows_the_secret_or_password(configured, alice_client):
    bodies = [
        alice_client.get(change_url(configured)),
        alice_client.get(history_url(configured)),
        alice_client.get(reverse("admin:reception_receptionmailbox_changelist")),
        # An invalid post with a new secret: the form comes back without it.
        alice_client.post(
            change_url(configured), admin_post(modern(secret=NEW_SECRET, client_id=TENANT))
        ),
        # The switch page carries the new password, sealed.
        alice_client.post(change_url(configured), admin_post(basic())),
    ]
    for response in bodies:
        assert response.status_code == 200
        page = response.content.decode()
        for value in (SECRET, NEW_SECRET, PASSWORD):
            assert value not in page
    assert "¿Cambiar el Tipo de Servidor?" in bodies[-1].content.decode()


def test_it_stores_no_plaintext_secret_or_password(org_a, alice_client, fake_check):
    alice_client.post(ADD_URL, admin_post(modern(), organization=org_a.pk))
    make_mailbox(
        org_a.__class__.objects.create(name="B", nit="830003564", check_digit=7),
        server_type="outlook_basic",
        password=PASSWORD,
        secret="",
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM reception_secret")
        secrets = [bytes(row[0]) for row in cursor.fetchall()]
        cursor.execute("SELECT password FROM reception_receptionmailbox")
        passwords = [bytes(row[0]) for row in cursor.fetchall()]
    assert secrets and passwords
    for raw in secrets + passwords:
        assert SECRET.encode() not in raw
        assert PASSWORD.encode() not in raw
    assert Secret.objects.get().value == SECRET


@pytest.mark.parametrize("persona", ["bob", "sofia"])
def test_it_gives_read_only_roles_a_view_without_secret_fields(
    request, client, configured, persona
):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(change_url(configured))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Activo" in page
    for name in ("secret", "secret_confirm", "password", "tenant_id_confirm"):
        assert f'name="{name}"' not in page
    assert "Confirmar Secreto" not in page
    assert SECRET not in page


@pytest.mark.parametrize("persona", ["bob", "sofia"])
def test_it_forbids_read_only_roles_to_change(request, client, configured, persona):
    client.force_login(request.getfixturevalue(persona))
    response = client.post(change_url(configured), admin_post(modern(secret=NEW_SECRET)))
    assert response.status_code == 403
    assert configured.current_secret.value == SECRET


@pytest.mark.parametrize("persona", ["bob", "sofia"])
def test_it_forbids_read_only_roles_to_add(request, client, org_a, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(ADD_URL).status_code == 403
    assert client.post(ADD_URL, admin_post(modern(), organization=org_a.pk)).status_code == 403
    assert not ReceptionMailbox.objects.exists()


def test_it_sends_anonymous_users_to_the_login(configured):
    response = Client().get(change_url(configured))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
