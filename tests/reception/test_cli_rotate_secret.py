"""`python manage.py mailbox_rotate_secret --organization NIT < secret`: the admin's rules, the
secret from standard input only, against the real Dovecot and the fake Entra ID."""

import pytest

from reception.models import MailboxStatus, Secret, ServerType
from tests.commands import run_command
from tests.factories.mailboxes import make_mailbox
from tests.reception.mailbox_data import NEW_SECRET, OTHER_GUID, SECRET, in_days

pytestmark = pytest.mark.django_db


@pytest.fixture
def rotate(monkeypatch, capsys):
    def run(stdin, *flags, organization="900123456-8"):
        argv = ["mailbox_rotate_secret", "--organization", organization, *flags]
        return run_command(argv, stdin=stdin, monkeypatch=monkeypatch, capsys=capsys)

    return run


@pytest.fixture
def mailbox(org_a):
    """Never reached: every case here is refused before the check."""
    return make_mailbox(org_a, secret=SECRET)


def test_it_reads_one_line_as_secret_and_confirmation_and_reactivates(
    rotate, configure_live_mailbox
):
    live = configure_live_mailbox("imap")
    new = live.guide.app.add_secret()
    live.guide.app.remove_secret(live.guide.secret.secret_id)

    result = rotate(
        f"{new.value}\n",
        "--expires-on",
        in_days(120),
        "--notification-email",
        "ti@andina.test",
    )

    assert result.status == 0, result.stderr
    assert "Estado: Activo — Conexión correcta." in result.stdout
    assert new.value not in result.stdout + result.stderr
    live.refresh_from_db()
    assert live.status == MailboxStatus.ACTIVE
    current = live.current_secret
    assert (current.value, current.expires_on.isoformat()) == (new.value, in_days(120))
    assert current.notification_email == "ti@andina.test"
    assert Secret.objects.filter(mailbox=live, is_current=False, value__isnull=True).count() == 1
    assert live.status_changes.filter(source="cli").exists() is False  # it was Activo already


def test_it_exits_1_when_the_new_secret_does_not_connect(rotate, configure_live_mailbox):
    live = configure_live_mailbox("imap")

    result = rotate(f"{NEW_SECRET}\n{NEW_SECRET}\n")

    assert result.status == 1
    assert "Estado: Inactivo" in result.stdout
    assert "AADSTS7000215" in result.stdout
    live.refresh_from_db()
    assert live.status == MailboxStatus.INACTIVE
    assert live.current_secret.value == NEW_SECRET
    assert live.status_changes.first().source == "cli"


@pytest.mark.parametrize(
    ("stdin", "flags", "expected"),
    [
        (f"{NEW_SECRET}\n{SECRET}\n", [], ["secret_confirm: «Confirmar Secreto» no coincide"]),
        ("abc8Q~ kLp2.Vd7\n", [], ["secret: «Secreto» tiene espacios dentro del valor."]),
        (f"{OTHER_GUID}\n", [], ["secret: Este valor tiene forma de GUID"]),
        ("", [], ["secret: Este campo es obligatorio."]),
        (
            f"{NEW_SECRET}\n",
            ["--expires-on", in_days(-1)],
            [
                "secret_expires_on: La Fecha Expiración debe ser posterior a hoy",
                "notification_email: Con una Fecha Expiración indica el Correo Notificación",
            ],
        ),
        (f"{NEW_SECRET}\n", ["--expires-on", "2030-13-45"], ["secret_expires_on: "]),
        (f"{NEW_SECRET}\n{NEW_SECRET}\n{NEW_SECRET}\n", [], ["stdin: escribe solo el secreto"]),
    ],
    ids=["mismatch", "space", "secret-id", "empty", "past-no-email", "date-format", "3-lines"],
)
def test_it_prints_every_error_with_its_field_and_exits_2(rotate, mailbox, stdin, flags, expected):
    result = rotate(stdin, *flags)

    assert result.status == 2
    for line in expected:
        assert any(printed.startswith(line) for printed in result.stderr.splitlines()), (
            line,
            result.stderr,
        )
    assert NEW_SECRET not in result.stderr
    assert mailbox.current_secret.value == SECRET
    assert mailbox.status_changes.count() == 0


def test_it_refuses_a_mailbox_without_modern_auth(rotate, org_a):
    make_mailbox(org_a, server_type=ServerType.OUTLOOK_BASIC, password="pw", secret="")
    result = rotate(f"{NEW_SECRET}\n")
    assert result.status == 2
    assert "no usa secreto de aplicación" in result.stderr
    assert not Secret.objects.exists()


def test_it_refuses_an_unknown_organization(rotate, mailbox):
    result = rotate(f"{NEW_SECRET}\n", organization="830003564")
    assert result.status == 2
    assert "No existe la organización" in result.stderr


def test_it_has_no_option_for_the_secret_itself(rotate, mailbox):
    result = rotate("", "--secret", NEW_SECRET)
    assert result.status == 2
    assert "unrecognized arguments" in result.stderr
    assert mailbox.current_secret.value == SECRET
