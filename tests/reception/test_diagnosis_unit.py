"""The diagnosis' explanations and PowerShell lines, from classified errors: no network."""

import re

import pytest

from reception.diagnosis import PowerShellValues, Section, explain
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

APP_ID = "11111111-2222-3333-4444-555555555555"
TENANT_ID = "99999999-8888-7777-6666-555555555555"
ENTERPRISE_OID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
REGISTRATION_OID = "ffffffff-0000-1111-2222-333333333333"
MAILBOX = "recepcion@contoso.test"


def _settings(**overrides) -> MailboxSettings:
    values = {
        "protocol": MailProtocol.IMAP,
        "auth": AuthMethod.OAUTH2,
        "host": "outlook.office365.com",
        "port": 993,
        "security": Security.SSL,
        "username": MAILBOX,
        "tenant_id": TENANT_ID,
        "client_id": APP_ID,
        "client_secret": "abC8Q~value",
    }
    values.update(overrides)
    return MailboxSettings(**values)


def _claims(roles=("IMAP.AccessAsApp",), oid=ENTERPRISE_OID) -> TokenClaims:
    return TokenClaims(
        audience="https://outlook.office365.com",
        tenant_id=TENANT_ID,
        app_id=APP_ID,
        object_id=oid,
        roles=tuple(roles),
        expires_at=None,
    )


def _commands(causes) -> list[str]:
    return [command for cause in causes for command in cause.commands]


def test_it_fills_the_guides_commands_with_this_mailboxs_values():
    values = PowerShellValues.build(_settings(), _claims())

    assert values.new_service_principal() == (
        f"New-ServicePrincipal -AppId '{APP_ID}' -ObjectId '{ENTERPRISE_OID}'"
    )
    assert values.get_service_principal() == (
        f"Get-ServicePrincipal -Organization '{TENANT_ID}' | fl"
    )
    assert values.remove_mailbox_permission() == (
        f"Remove-MailboxPermission -Identity '{MAILBOX}' -User '{ENTERPRISE_OID}' "
        "-AccessRights FullAccess -InheritanceType All"
    )
    assert values.add_mailbox_permission() == (
        f"Add-MailboxPermission -Identity '{MAILBOX}' -User '{ENTERPRISE_OID}' "
        "-AccessRights FullAccess"
    )


def test_it_leaves_no_stray_spaces_in_the_commands():
    settings = _settings(
        client_id=f" {APP_ID} ", username=f"{MAILBOX} ", tenant_id=f"{TENANT_ID}\n"
    )
    values = PowerShellValues.build(settings, _claims(oid=f" {ENTERPRISE_OID}\t"))

    assert values == PowerShellValues(APP_ID, ENTERPRISE_OID, TENANT_ID, MAILBOX)
    assert "  " not in values.remove_mailbox_permission()


def test_it_prefers_the_tokens_object_id_over_the_configured_one():
    values = PowerShellValues.build(_settings(object_id=REGISTRATION_OID), _claims())

    assert values.object_id == ENTERPRISE_OID


def test_it_shows_placeholders_when_a_value_is_unknown():
    values = PowerShellValues.build(_settings(client_id=""), None)

    assert (
        values.new_service_principal()
        == "New-ServicePrincipal -AppId '<AppId>' -ObjectId '<ObjectId>'"
    )


def test_it_lists_the_causes_of_a_generic_refusal_service_principal_first():
    error = TransportError(ErrorKind.AUTH_REFUSED, Stage.AUTH, "AUTHENTICATE failed.")

    causes = explain(error, _settings(), _claims())

    sections = [cause.section for cause in causes]
    assert sections[:3] == [
        Section.SERVICE_PRINCIPAL,
        Section.MAILBOX_PERMISSION,
        Section.PROTOCOL_ENABLED,
    ]
    commands = _commands(causes)
    assert f"New-ServicePrincipal -AppId '{APP_ID}' -ObjectId '{ENTERPRISE_OID}'" in commands
    assert any(command.startswith("Add-MailboxPermission") for command in commands)


def test_it_names_the_classic_object_id_mistake_first():
    error = TransportError(ErrorKind.AUTH_REFUSED, Stage.AUTH, "AUTHENTICATE failed.")

    causes = explain(error, _settings(object_id=REGISTRATION_OID), _claims())

    first = causes[0]
    assert REGISTRATION_OID in first.text
    assert ENTERPRISE_OID in first.text
    assert first.section == Section.SERVICE_PRINCIPAL
    assert f"Remove-ServicePrincipal -Identity '{REGISTRATION_OID}'" in first.commands
    assert f"New-ServicePrincipal -AppId '{APP_ID}' -ObjectId '{ENTERPRISE_OID}'" in first.commands


def test_it_puts_full_access_first_when_the_user_is_not_connected():
    error = TransportError(
        ErrorKind.NOT_CONNECTED, Stage.AUTH, "User is authenticated but not connected."
    )

    causes = explain(error, _settings(), _claims())

    assert causes[0].section == Section.MAILBOX_PERMISSION
    assert causes[0].commands[0].startswith("Remove-MailboxPermission")
    assert causes[0].commands[1].startswith("Add-MailboxPermission")


@pytest.mark.parametrize(
    ("roles", "first"),
    [((), "consentimiento"), (("POP.AccessAsApp",), "permiso de aplicación")],
)
def test_it_explains_a_missing_role_by_consent_or_permission(roles, first):
    error = TransportError(ErrorKind.MISSING_ROLE, Stage.TOKEN, "sin rol")

    causes = explain(error, _settings(), _claims(roles=roles))

    assert first in causes[0].text
    assert {cause.section for cause in causes} == {Section.PERMISSIONS}
    assert any("Conceder consentimiento de administrador" in cause.text for cause in causes)


@pytest.mark.parametrize(
    ("kind", "section", "words"),
    [
        (ErrorKind.TENANT_NOT_FOUND, Section.APP_REGISTRATION, "Id. Tenant"),
        (ErrorKind.APP_NOT_FOUND, Section.APP_REGISTRATION, "Id. Aplicación"),
        (ErrorKind.INVALID_SECRET, Section.SECRET_RENEWAL, "Valor"),
        (ErrorKind.EXPIRED_SECRET, Section.SECRET_RENEWAL, "expiró"),
    ],
)
def test_it_explains_entra_errors_with_the_guides_field(kind, section, words):
    causes = explain(TransportError(kind, Stage.TOKEN, "AADSTS"), _settings())

    assert causes[0].section == section
    assert words in causes[0].text


def test_it_says_the_secret_id_was_pasted_when_the_secret_looks_like_one():
    settings = _settings(client_secret="19352f9c-379e-4102-8c01-ccdcaab57c29")

    causes = explain(TransportError(ErrorKind.INVALID_SECRET, Stage.TOKEN, "x"), settings)

    assert "Id. de secreto" in causes[0].text
    assert "forma de Id." in causes[0].text


def test_it_says_an_app_not_found_may_be_a_wrong_tenant():
    causes = explain(TransportError(ErrorKind.APP_NOT_FOUND, Stage.TOKEN, "x"), _settings())

    assert any("otro directorio" in cause.text for cause in causes)


def test_it_gives_the_guides_server_and_port_when_they_differ():
    settings = _settings(host="outlook.office.com", port=143)
    error = TransportError(ErrorKind.CONNECTION_REFUSED, Stage.TCP, "refused")

    causes = explain(error, settings)

    assert causes[0].section == Section.ANNEX
    assert "outlook.office365.com" in causes[0].text
    assert "993" in causes[0].text


def test_it_gives_basic_auth_failures_their_own_hints():
    settings = _settings(
        auth=AuthMethod.BASIC, host="imap.gmail.com", client_id="", tenant_id="", password="x"
    )
    error = TransportError(ErrorKind.AUTH_REFUSED, Stage.AUTH, "Authentication failed.")

    causes = explain(error, settings)

    assert "contraseña" in causes[0].text
    assert any("contraseña de aplicación" in cause.text for cause in causes)
    assert not _commands(causes)


def test_it_tells_microsoft_basic_auth_users_to_switch_to_modern_auth():
    settings = _settings(auth=AuthMethod.BASIC, client_id="", tenant_id="", password="x")
    error = TransportError(ErrorKind.AUTH_REFUSED, Stage.AUTH, "AUTHENTICATE failed.")

    causes = explain(error, settings)

    assert any("autenticación moderna" in cause.text for cause in causes)


def test_it_names_the_commands_without_a_placeholder_when_everything_is_known():
    error = TransportError(ErrorKind.AUTH_REFUSED, Stage.AUTH, "AUTHENTICATE failed.")

    for command in _commands(explain(error, _settings(), _claims())):
        assert not re.search(r"<\w+>", command), command
