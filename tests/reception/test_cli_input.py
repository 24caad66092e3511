"""Every input of the mailbox commands is checked before anything is written: bytes that are not
UTF-8, control characters, values too long, JSON too big, too deep or of the wrong shape. Each
refusal is one line in Spanish on stderr, exit status 2, and the database keeps every row as it
was (a fingerprint of every project table, taken before and after)."""

import json

import pytest

from reception.models import MailboxStatus, ReceptionMailbox, ServerType
from reception.services import mailbox_check
from tests.commands import database_fingerprint, refusal_line, run_command, run_manage
from tests.factories.mailboxes import make_mailbox
from tests.reception.fake_check import install_fake_check
from tests.reception.mailbox_data import NEW_SECRET, PASSWORD, SECRET, basic, modern


@pytest.fixture
def command(monkeypatch, capsys):
    def run(*argv, stdin=""):
        return run_command(list(argv), stdin=stdin, monkeypatch=monkeypatch, capsys=capsys)

    return run


@pytest.fixture
def configured(org_a):
    """Org A's mailbox as the commands find it: configured, a secret, never reached here."""
    return make_mailbox(org_a, secret=SECRET)


def refused(result, before, start):
    line = refusal_line(result)
    assert line.startswith(start), line
    assert database_fingerprint() == before
    return line


# --- mailbox_configure: JSON on standard input -----------------------------------------------

DEEP = "[" * 30_000 + "]" * 30_000

CONFIGURE_REFUSALS = [
    ("not-json", "{", "stdin: JSON inválido"),
    ("empty", "", "stdin: JSON inválido"),
    ("nan", '{"port": NaN}', "stdin: JSON inválido"),
    ("huge-number", '{"port": ' + "9" * 5000 + "}", "stdin: JSON inválido"),
    ("deep", '{"host": ' + DEEP + "}", "stdin: el JSON tiene demasiados niveles"),
    ("too-big", json.dumps(modern(host="a" * 70_000)), "stdin: la entrada supera"),
    ("list", "[1, 2]", "stdin: el JSON debe ser un objeto"),
    ("string", '"outlook_modern"', "stdin: el JSON debe ser un objeto"),
    ("null", "null", "stdin: el JSON debe ser un objeto"),
    ("bool", json.dumps(modern(port=True)), "port: debe ser un texto o un número entero"),
    ("float", json.dumps(modern(port=993.5)), "port: debe ser un texto o un número entero"),
    ("nested", json.dumps(modern(host=["a"])), "host: debe ser un texto o un número entero"),
    ("escape", json.dumps(modern(username="a\x1b[2Jb@x.test")), "username: tiene caracteres"),
    ("nul", json.dumps(modern(secret="Qx8~\x00kLp2")), "secret: tiene caracteres de control"),
    ("surrogate", '{"secret": "Qx8~\\udcffkLp2"}', "secret: no es texto UTF-8 válido"),
    ("host-254", json.dumps(modern(host="a" * 254)), "host: "),
    ("secret-600", json.dumps(modern(secret="Qx8~" * 150)), "secret: "),
    ("password-600", json.dumps(basic(password="p" * 600)), "password: "),
]


@pytest.mark.parametrize(
    ("stdin", "start"),
    [case[1:] for case in CONFIGURE_REFUSALS],
    ids=[case[0] for case in CONFIGURE_REFUSALS],
)
def test_configure_refuses_bad_json_in_one_line_and_changes_nothing(
    command, configured, monkeypatch, stdin, start
):
    check = install_fake_check(monkeypatch)
    before = database_fingerprint()
    refused(command("mailbox_configure", "--organization", "900123456", stdin=stdin), before, start)
    assert check.calls == []


@pytest.mark.parametrize(
    ("nit", "start"),
    [
        ("9" * 300, "--organization: es demasiado largo"),
        ("900123456\x1b", "--organization: tiene caracteres de control"),
        ("900123456\udcff", "--organization: no es texto UTF-8 válido"),
        ("830003564", "--organization: No existe la organización con NIT 830003564."),
    ],
    ids=["overlong", "control", "surrogate", "unknown"],
)
@pytest.mark.parametrize("name", ["mailbox_configure", "mailbox_check", "mailbox_fetch"])
def test_every_command_refuses_a_bad_organization_in_one_line(
    command, configured, name, nit, start
):
    before = database_fingerprint()
    refused(command(name, "--organization", nit, stdin=json.dumps(modern())), before, start)


@pytest.mark.parametrize(
    ("flags", "start"),
    [
        (["--max-messages", "0"], "--max-messages: debe ser un número entero positivo"),
        (["--processes", "-2"], "--processes: debe ser un número entero positivo"),
    ],
)
def test_fetch_refuses_counts_below_one(command, configured, flags, start):
    before = database_fingerprint()
    refused(command("mailbox_fetch", "--organization", "900123456", *flags), before, start)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("exists", [True, False], ids=["configured", "new"])
def test_configure_saves_nothing_when_the_password_is_not_utf8(org_a, exists):
    if exists:
        make_mailbox(
            org_a,
            server_type=ServerType.OUTLOOK_BASIC,
            password=PASSWORD,
            secret="",
            host="127.0.0.1",
            port=9,
        )
    document = json.dumps(basic(host="127.0.0.1", port=9, password="@@"))
    stdin = document.encode().replace(b"@@", b"Pa\xff\xfess")
    before = database_fingerprint()

    result = run_manage(["mailbox_configure", "--organization", "900123456"], stdin=stdin)

    refused(result, before, "stdin: no es texto UTF-8 válido")
    assert ReceptionMailbox.objects.filter(organization=org_a).exists() is exists


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", ["mailbox_check", "mailbox_fetch", "mailbox_rotate_secret"])
def test_every_command_refuses_a_non_utf8_organization_from_a_real_shell(configured, name):
    before = database_fingerprint()
    result = run_manage([name, "--organization", b"900123456\xff"], stdin=NEW_SECRET.encode())
    refused(result, before, "--organization: no es texto UTF-8 válido")


# --- mailbox_rotate_secret: the secret on standard input, the dates and address as options ----


@pytest.mark.parametrize(
    ("stdin", "flags", "start"),
    [
        (f"{NEW_SECRET}\x1b[2J\n", [], "stdin: tiene caracteres de control"),
        (f"{NEW_SECRET}\x00\n", [], "stdin: tiene caracteres de control"),
        ("x" * 70_000, [], "stdin: la entrada supera"),
        (f"{NEW_SECRET}\n", ["--expires-on", "2" * 300], "--expires-on: es demasiado largo"),
        (
            f"{NEW_SECRET}\n",
            ["--notification-email", "ti@andina.test\x1b"],
            "--notification-email: tiene caracteres de control",
        ),
        (
            f"{NEW_SECRET}\n",
            ["--notification-email", "ti\udcff@andina.test"],
            "--notification-email: no es texto UTF-8 válido",
        ),
    ],
    ids=["escape", "nul", "too-big", "date-overlong", "email-control", "email-surrogate"],
)
def test_rotate_refuses_bad_input_in_one_line_and_keeps_the_secret(
    command, configured, stdin, flags, start
):
    before = database_fingerprint()
    result = command("mailbox_rotate_secret", "--organization", "900123456", *flags, stdin=stdin)
    refused(result, before, start)
    assert configured.current_secret.value == SECRET


@pytest.mark.django_db(transaction=True)
def test_a_rotation_with_non_utf8_bytes_keeps_the_working_secret(configure_live_mailbox, child_env):
    live = configure_live_mailbox("imap")
    assert live.status == MailboxStatus.ACTIVE, live.status_reason
    working = live.current_secret.value
    before = database_fingerprint()

    result = run_manage(
        ["mailbox_rotate_secret", "--organization", "900123456"],
        stdin=b"Zr3~Hn8.Pq1_\xff\xfeLk6-Tw2Ys7\n",
        env=child_env,
    )

    refused(result, before, "stdin: no es texto UTF-8 válido")
    live.refresh_from_db()
    assert live.current_secret.value == working
    assert mailbox_check(live, source="test").ok
    live.refresh_from_db()
    assert live.status == MailboxStatus.ACTIVE, live.status_reason


def test_fetch_refuses_to_start_on_a_malformed_mail_host_allowlist(command, configured, settings):
    """The fetch skips the model and admin checks, not the security ones."""
    settings.RECEPTION_ALLOWED_MAIL_HOSTS = "imap.example.test:notaport"
    before = database_fingerprint()

    result = command("mailbox_fetch", "--organization", "900123456")

    assert result.status == 1
    assert "reception.E001" in result.stderr
    assert database_fingerprint() == before
