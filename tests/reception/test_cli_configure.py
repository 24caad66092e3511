"""`python manage.py mailbox_configure --organization NIT < config.json`: same form, same rules."""

import json
import uuid

import pytest

from reception.models import MailboxStatus, ReceptionMailbox, Secret
from tests.commands import run_command
from tests.reception.fake_check import PASSING_REASON, install_fake_check
from tests.reception.mailbox_data import (
    CLIENT,
    INVALID_CASES,
    NEW_SECRET,
    OTHER_GUID,
    PASSWORD,
    SECRET,
    TENANT,
    basic,
    modern,
)


@pytest.fixture
def fake_check(monkeypatch):
    # Replaced by the real check in the connectivity tests.
    return install_fake_check(monkeypatch)


@pytest.fixture
def configure(org_a, monkeypatch, capsys):
    def run(values, *flags, organization="900123456", raw=None):
        stdin = raw if raw is not None else json.dumps(values)
        argv = ["mailbox_configure", "--organization", organization, *flags]
        return run_command(argv, stdin=stdin, monkeypatch=monkeypatch, capsys=capsys)

    return run


def test_it_saves_a_valid_configuration_and_prints_the_status(org_a, configure, fake_check):
    result = configure(modern())
    assert result.status == 0, result.stderr
    mailbox = ReceptionMailbox.objects.get(organization=org_a)
    assert (mailbox.tenant_id, mailbox.client_id) == (uuid.UUID(TENANT), uuid.UUID(CLIENT))
    assert mailbox.current_secret.value == SECRET
    assert f"Estado: Activo — {PASSING_REASON}" in result.stdout
    assert fake_check.calls == [{"mailbox": mailbox.pk, "actor": None, "source": "cli"}]


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [case[1:] for case in INVALID_CASES],
    ids=[case[0] for case in INVALID_CASES],
)
def test_it_prints_each_error_with_its_field_and_exits_2(
    configure, fake_check, values, field, words
):
    result = configure(values)
    assert result.status == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith(f"{field}: ")]
    assert any(words in line for line in lines), result.stderr
    assert not ReceptionMailbox.objects.exists()
    assert fake_check.calls == []


def test_it_prints_every_error_not_just_the_first(configure, fake_check):
    result = configure(modern(tenant_id_confirm=OTHER_GUID, client_id=TENANT, secret=OTHER_GUID))
    assert result.status == 2
    for field in ("tenant_id_confirm", "client_id", "secret"):
        assert f"{field}: " in result.stderr


def test_it_takes_absent_confirmations_as_the_value(configure, fake_check):
    values = modern()
    assert "tenant_id_confirm" not in values
    assert configure(values).status == 0


def test_it_checks_given_confirmations(configure, fake_check):
    result = configure(modern(secret_confirm=NEW_SECRET))
    assert result.status == 2
    assert "secret_confirm: «Confirmar Secreto» no coincide con «Secreto»." in result.stderr


def test_it_refuses_an_unknown_key(configure, fake_check):
    result = configure(modern(tenant="x", clientid="y"))
    assert result.status == 2
    assert "clientid: clave desconocida." in result.stderr
    assert "tenant: clave desconocida." in result.stderr
    assert not ReceptionMailbox.objects.exists()


@pytest.mark.parametrize("raw", ["{", "[1, 2]", ""])
def test_it_refuses_what_is_not_a_json_object(configure, fake_check, raw):
    result = configure(None, raw=raw)
    assert result.status == 2
    assert not ReceptionMailbox.objects.exists()


def test_it_refuses_nested_values(configure, fake_check):
    result = configure(modern(port={"imap": 993}))
    assert result.status == 2
    assert "port: debe ser un texto o un número entero." in result.stderr


@pytest.mark.parametrize(
    ("key", "word"),
    [("server_type", "exchange"), ("protocol", "smtp"), ("security", "tls")],
)
def test_it_refuses_unknown_value_words(configure, fake_check, key, word):
    result = configure(modern(**{key: word}))
    assert result.status == 2
    assert f"{key}: " in result.stderr


def test_it_removes_pasted_spaces_and_line_breaks(org_a, configure, fake_check):
    assert configure(modern(tenant_id=f" {TENANT}\r\n", secret=f"{SECRET}\n")).status == 0
    mailbox = ReceptionMailbox.objects.get()
    assert mailbox.tenant_id == uuid.UUID(TENANT)
    assert mailbox.current_secret.value == SECRET


def test_it_fills_the_suggested_server_and_port(configure, fake_check):
    values = basic(server_type="gmail", protocol="pop3", host=None, port=None)
    values["backup_email"] = "respaldo@andina.example.test"
    result = configure(values)
    assert result.status == 0, result.stderr
    mailbox = ReceptionMailbox.objects.get()
    assert (mailbox.host, mailbox.port) == ("pop.gmail.com", 995)
    assert mailbox.status == MailboxStatus.PENDING
    assert "Estado: Por Activar" in result.stdout


def test_it_runs_again_keeping_the_secret_when_omitted(configure, fake_check):
    assert configure(modern()).status == 0
    values = modern()
    del values["secret"]
    assert configure(values).status == 0
    assert configure(values).status == 0
    assert Secret.objects.count() == 1
    assert ReceptionMailbox.objects.get().current_secret.value == SECRET


def test_it_replaces_the_secret_when_given(configure, fake_check):
    assert configure(modern()).status == 0
    assert configure(modern(secret=NEW_SECRET)).status == 0
    assert list(Secret.objects.order_by("id").values_list("value", "is_current")) == [
        (None, False),
        (NEW_SECRET, True),
    ]


def test_it_needs_confirm_switch_to_change_the_server_type(configure, fake_check):
    assert configure(modern()).status == 0
    result = configure(basic())
    assert result.status == 2
    assert "todos los parámetros que tenías previamente diligenciados serán eliminados" in (
        result.stderr
    )
    assert "--confirm-switch" in result.stderr
    mailbox = ReceptionMailbox.objects.get()
    assert mailbox.server_type == "outlook_modern"
    assert mailbox.current_secret.value == SECRET


def test_it_switches_and_wipes_with_confirm_switch(configure, fake_check):
    assert configure(modern()).status == 0
    result = configure(basic(), "--confirm-switch")
    assert result.status == 0, result.stderr
    mailbox = ReceptionMailbox.objects.get()
    assert (mailbox.server_type, mailbox.password) == ("outlook_basic", PASSWORD)
    assert (mailbox.tenant_id, mailbox.client_id, mailbox.object_id) == (None, None, None)
    assert mailbox.current_secret is None
    assert list(Secret.objects.values_list("value", flat=True)) == [None]


@pytest.mark.parametrize("nit", ["900123456", "900123456-8", "900.123.456-8"])
def test_it_accepts_the_nit_with_or_without_check_digit(configure, fake_check, nit):
    assert configure(modern(), organization=nit).status == 0


@pytest.mark.parametrize("nit", ["900123456-3", "800197268", "abc"])
def test_it_refuses_an_unknown_organization(configure, fake_check, nit):
    result = configure(modern(), organization=nit)
    assert result.status == 2
    assert "No existe la organización" in result.stderr
    assert not ReceptionMailbox.objects.exists()


def test_it_never_prints_the_secret(configure, fake_check):
    outputs = [configure(modern()), configure(modern(secret_confirm=NEW_SECRET, secret=SECRET))]
    for result in outputs:
        assert SECRET not in result.stdout + result.stderr
        assert NEW_SECRET not in result.stdout + result.stderr
