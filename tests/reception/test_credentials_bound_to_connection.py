"""A stored password or secret goes only where it was typed for.

Changing a connection field of a configured mailbox needs the credential typed again, in the
admin and on the command line. The proof is a server on another host (a second loopback
address) that the app would trust, recording every byte: without the credential typed again it
must receive nothing, and FakeEntra must not have been asked for a token.
"""

import json
import uuid

import pytest
from django.urls import reverse

from reception.forms import MailboxConfigurationForm
from reception.models import ReceptionMailbox
from tests.commands import run_command
from tests.factories.mailboxes import make_mailbox
from tests.harness.listener import RecordingImapServer
from tests.reception.mailbox_data import (
    CLIENT,
    OBJECT,
    PASSWORD,
    SECRET,
    TENANT,
    USERNAME,
    admin_post,
    basic,
    modern,
    typed_twice,
)

ANOTHER_HOST = "127.0.0.2"
NEW_PASSWORD = "Otra-Clave-2026!"


@pytest.fixture
def listener(reception_settings, harness_pki, tmp_path):
    """A trusted IMAP server on another host, listed as allowed: only the retyping rule is left
    to keep the credential from it."""
    server = RecordingImapServer(ANOTHER_HOST, tmp_path)
    bundle = tmp_path / "trusted.pem"
    bundle.write_bytes(harness_pki.ca_pem.read_bytes() + server.ca_pem.read_bytes())
    reception_settings.RECEPTION_CA_BUNDLE = str(bundle)
    reception_settings.RECEPTION_ALLOWED_MAIL_HOSTS = [
        *reception_settings.RECEPTION_ALLOWED_MAIL_HOSTS,
        f"{server.host}:{server.port}",
    ]
    yield server
    server.close()


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def change_url(mailbox):
    return reverse("admin:reception_receptionmailbox_change", args=[mailbox.pk])


def configure(monkeypatch, capsys, values):
    return run_command(
        ["mailbox_configure", "--organization", "900123456"],
        stdin=json.dumps(values),
        monkeypatch=monkeypatch,
        capsys=capsys,
    )


def fingerprint(mailbox):
    """Every column of the mailbox and its secrets: "nothing saved" means this is unchanged."""
    row = ReceptionMailbox.objects.filter(pk=mailbox.pk).values().get()
    secrets = list(mailbox.secrets.order_by("pk").values())
    return row, secrets


# --- Basic authentication ----------------------------------------------------------------------


@pytest.fixture
def basic_mailbox(org_a):
    return make_mailbox(
        org_a,
        server_type="other",
        host="mail.andina.example.test",
        username=USERNAME,
        password=PASSWORD,
        secret="",
    )


def moved(listener, **overrides):
    """The stored basic configuration with only the host and port changed."""
    values = basic(server_type="other", host=listener.host, port=listener.port)
    values.update(overrides)
    return values


def test_a_new_host_and_port_in_the_admin_need_the_password_again(
    alice_client, basic_mailbox, listener
):
    before = fingerprint(basic_mailbox)

    response = alice_client.post(
        change_url(basic_mailbox), admin_post(moved(listener, password=""))
    )

    assert listener.received == b""
    assert listener.connections == 0
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "«Servidor»" in errors["password"][0] and "«Puerto»" in errors["password"][0]
    assert fingerprint(basic_mailbox) == before


def test_a_new_host_and_port_on_the_command_line_need_the_password_again(
    basic_mailbox, listener, monkeypatch, capsys
):
    before = fingerprint(basic_mailbox)
    values = moved(listener)
    del values["password"]

    result = configure(monkeypatch, capsys, values)

    assert listener.received == b""
    assert listener.connections == 0
    assert result.status == 2
    assert any(
        line.startswith("password: ") and "«Servidor»" in line and "«Puerto»" in line
        for line in result.stderr.splitlines()
    ), result.stderr
    assert fingerprint(basic_mailbox) == before


def test_the_password_typed_again_does_reach_the_listed_host(alice_client, basic_mailbox, listener):
    """The control: the listener is trusted and allowed, so the refusal above is the rule's."""
    response = alice_client.post(
        change_url(basic_mailbox), admin_post(moved(listener, password=NEW_PASSWORD))
    )

    assert response.status_code == 302
    assert b" LOGIN " in listener.received
    assert NEW_PASSWORD.encode() in listener.received
    assert PASSWORD.encode() not in listener.received


# --- Modern authentication ---------------------------------------------------------------------


@pytest.fixture
def guide(fake_entra):
    return fake_entra.configure_like_guide("recepcion@andina.test")


@pytest.fixture
def modern_mailbox(org_a, guide, reception_settings):
    return make_mailbox(
        org_a,
        username=guide.mailbox,
        tenant_id=uuid.UUID(guide.tenant_id),
        client_id=uuid.UUID(guide.client_id),
        object_id=uuid.UUID(guide.app.enterprise_object_id),
        secret=guide.client_secret,
    )


def moved_modern(guide, listener, **overrides):
    values = modern(
        host=listener.host,
        port=listener.port,
        username=guide.mailbox,
        tenant_id=guide.tenant_id,
        client_id=guide.client_id,
        object_id=guide.app.enterprise_object_id,
        secret="",
        secret_expires_on="",
        notification_email="",
    )
    values.update(overrides)
    return values


def test_a_new_host_and_port_in_the_admin_need_the_secret_again(
    alice_client, modern_mailbox, guide, listener, fake_entra
):
    before = fingerprint(modern_mailbox)

    response = alice_client.post(
        change_url(modern_mailbox), admin_post(moved_modern(guide, listener))
    )

    assert b"AUTHENTICATE" not in listener.received
    assert listener.connections == 0
    assert fake_entra.token_request_count() == 0
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "«Servidor»" in errors["secret"][0] and "«Puerto»" in errors["secret"][0]
    assert fingerprint(modern_mailbox) == before


def test_a_new_host_and_port_on_the_command_line_need_the_secret_again(
    modern_mailbox, guide, listener, fake_entra, monkeypatch, capsys
):
    before = fingerprint(modern_mailbox)
    values = moved_modern(guide, listener)
    del values["secret"]

    result = configure(monkeypatch, capsys, values)

    assert b"AUTHENTICATE" not in listener.received
    assert listener.connections == 0
    assert fake_entra.token_request_count() == 0
    assert result.status == 2
    assert any(
        line.startswith("secret: ") and "«Servidor»" in line for line in result.stderr.splitlines()
    ), result.stderr
    assert fingerprint(modern_mailbox) == before


def test_the_secret_typed_again_does_reach_the_listed_host(
    alice_client, modern_mailbox, guide, listener, fake_entra
):
    response = alice_client.post(
        change_url(modern_mailbox),
        admin_post(moved_modern(guide, listener, secret=guide.client_secret)),
    )

    assert response.status_code == 302
    assert b"AUTHENTICATE XOAUTH2" in listener.received
    assert fake_entra.token_request_count() == 1


# --- The rule itself, for every connection field -----------------------------------------------

MODERN_CHANGES = [
    ("protocol", {"protocol": "pop3", "port": 995, "backup_email": "r@andina.test"}, "Protocolo"),
    ("host", {"host": "outlook.office365.us"}, "«Servidor»"),
    ("port", {"port": 143, "security": "starttls"}, "«Puerto»"),
    ("security", {"security": "starttls"}, "«Protocolo de Seguridad»"),
    ("username", {"username": "otro@andina.example.test"}, "«Usuario»"),
    ("tenant_id", {"tenant_id": str(uuid.uuid4())}, "«Id. Tenant»"),
    ("client_id", {"client_id": str(uuid.uuid4())}, "«Id. Aplicación»"),
]
BASIC_CHANGES = [
    ("server_type", {"server_type": "gmail"}, "«Tipo de Servidor»"),
    ("protocol", {"protocol": "pop3", "port": 995, "backup_email": "r@andina.test"}, "Protocolo"),
    ("host", {"host": "imap.andina.example.test"}, "«Servidor»"),
    ("port", {"port": 143, "security": "starttls"}, "«Puerto»"),
    ("security", {"security": "starttls"}, "«Protocolo de Seguridad»"),
    ("username", {"username": "otro@andina.example.test"}, "«Usuario»"),
]


def _stored_modern(org_a):
    return make_mailbox(
        org_a,
        username=USERNAME,
        tenant_id=uuid.UUID(TENANT),
        client_id=uuid.UUID(CLIENT),
        object_id=uuid.UUID(OBJECT),
        secret=SECRET,
    )


def _stored_basic(org_a):
    return make_mailbox(
        org_a, server_type="outlook_basic", username=USERNAME, password=PASSWORD, secret=""
    )


def test_nothing_changed_keeps_the_stored_credentials(org_a):
    assert MailboxConfigurationForm(
        typed_twice(modern(secret="")), instance=_stored_modern(org_a)
    ).is_valid()
    other = _stored_basic(org_a.__class__.objects.create(name="B", nit="830003564", check_digit=7))
    assert MailboxConfigurationForm(typed_twice(basic(password="")), instance=other).is_valid()


@pytest.mark.parametrize(
    ("field", "change", "label"), MODERN_CHANGES, ids=[c[0] for c in MODERN_CHANGES]
)
def test_each_connection_field_of_modern_auth_needs_the_secret_again(org_a, field, change, label):
    form = MailboxConfigurationForm(
        typed_twice(modern(secret="", **change)), instance=_stored_modern(org_a)
    )

    assert not form.is_valid()
    assert label in form.errors["secret"][0], form.errors
    assert "escribe de nuevo" in form.errors["secret"][0]


@pytest.mark.parametrize(
    ("field", "change", "label"), BASIC_CHANGES, ids=[c[0] for c in BASIC_CHANGES]
)
def test_each_connection_field_of_basic_auth_needs_the_password_again(org_a, field, change, label):
    form = MailboxConfigurationForm(
        typed_twice(basic(password="", **change)), instance=_stored_basic(org_a)
    )

    assert not form.is_valid()
    assert label in form.errors["password"][0], form.errors
    assert "escribe de nuevo" in form.errors["password"][0]


def test_a_changed_connection_with_the_credential_typed_again_is_valid(org_a):
    stored = _stored_basic(org_a)
    form = MailboxConfigurationForm(
        typed_twice(basic(host="imap.andina.example.test", password=PASSWORD)), instance=stored
    )
    assert form.is_valid(), form.errors


def test_the_help_texts_say_when_the_stored_credential_is_kept(org_a):
    secret_help = str(
        MailboxConfigurationForm(instance=_stored_modern(org_a)).fields["secret"].help_text
    )
    assert "conservarlo" in secret_help
    assert "si cambias" in secret_help.lower()
    other = org_a.__class__.objects.create(name="B", nit="830003564", check_digit=7)
    password_help = str(
        MailboxConfigurationForm(instance=_stored_basic(other)).fields["password"].help_text
    )
    assert "conservarla" in password_help
    assert "si cambias" in password_help.lower()


def test_the_password_message_names_every_changed_field_and_says_why(org_a):
    form = MailboxConfigurationForm(
        typed_twice(basic(password="", host="imap.andina.example.test", port=143)),
        instance=_stored_basic(org_a),
    )

    assert not form.is_valid()
    assert form.errors["password"] == [
        "Cambiaste «Servidor», «Puerto»: escribe de nuevo la contraseña. La guardada solo se "
        "envía a la conexión para la que se escribió."
    ]


def test_the_secret_message_names_every_changed_field_and_says_why(org_a):
    form = MailboxConfigurationForm(
        typed_twice(modern(secret="", host="outlook.office365.us", port=995)),
        instance=_stored_modern(org_a),
    )

    assert not form.is_valid()
    assert form.errors["secret"] == [
        "Cambiaste «Servidor», «Puerto»: escribe de nuevo el secreto. El guardado solo se "
        "envía a la conexión para la que se escribió."
    ]
