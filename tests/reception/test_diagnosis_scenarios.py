"""Every failure of the guide's annex, end to end: real msal against the fake Entra ID over HTTPS,
real imapclient and poplib against Dovecot, and the diagnosis each one must produce."""

import itertools
import json
import socket
from datetime import UTC, datetime, timedelta

import pytest

from reception.diagnosis import Diagnosis, Section, StepStatus, diagnose
from reception.transports import (
    RECEPTION_FOLDERS,
    AuthMethod,
    EntraTokenProvider,
    ErrorKind,
    MailboxSettings,
    MailProtocol,
    Security,
    Stage,
    TransportError,
    open_mailbox,
)
from reception.transports.destinations import parse_allowed_hosts
from tests.harness.entra import IMAP_ROLE, POP_ROLE, Refusal
from tests.harness.fixtures import allowed_mail_hosts

PROTOCOLS = [MailProtocol.IMAP, MailProtocol.POP3]
_numbers = itertools.count(1)


@pytest.fixture
def guide(dovecot, fake_entra):
    """A reception mailbox set up exactly as the guide says, in a tenant of its own."""
    number = next(_numbers)
    mailbox = f"recepcion{number}@empresa{number}.test"
    dovecot.add_user(mailbox)
    return fake_entra.configure_like_guide(mailbox)


def _settings(guide, dovecot, fake_entra, harness_pki, protocol, **overrides) -> MailboxSettings:
    ssl_port = dovecot.ports.imaps if protocol == MailProtocol.IMAP else dovecot.ports.pop3s
    values = {
        "protocol": protocol,
        "auth": AuthMethod.OAUTH2,
        "host": dovecot.host,
        "port": ssl_port,
        "security": Security.SSL,
        "username": guide.mailbox,
        "tenant_id": guide.tenant_id,
        "client_id": guide.client_id,
        "client_secret": guide.client_secret,
        "authority_host": fake_entra.url,
        "ca_bundle": str(harness_pki.ca_pem),
        "timeout": 5.0,
    }
    values.update(overrides)
    # A lab: the test servers, and the names and ports tried on them, are listed as allowed.
    values.setdefault("allowed_hosts", parse_allowed_hosts([f"{values['host']}:{values['port']}"]))
    return MailboxSettings(**values)


@pytest.fixture
def settings_for(guide, dovecot, fake_entra, harness_pki):
    def build(protocol: MailProtocol, **overrides) -> MailboxSettings:
        return _settings(guide, dovecot, fake_entra, harness_pki, protocol, **overrides)

    return build


def _check(settings: MailboxSettings, create_folders: bool = True) -> Diagnosis:
    diagnosis = diagnose(settings, create_folders=create_folders)
    text = json.dumps(diagnosis.as_dict(), ensure_ascii=False)
    for secret in settings.secrets:
        assert secret not in text
    assert "eyJ" not in text  # no access token either
    return diagnosis


def _statuses(diagnosis: Diagnosis) -> dict[str, str]:
    return {str(step.id): str(step.status) for step in diagnosis.steps}


def _failed_at(diagnosis: Diagnosis, stage: Stage, kind: ErrorKind):
    step = diagnosis.failed_step
    assert step is not None, diagnosis.failed_step
    assert (step.id, diagnosis.error_kind) == (stage, kind), diagnosis.failed_step
    ids = [s.id for s in diagnosis.steps]
    index = ids.index(stage)
    assert all(s.status == StepStatus.OK for s in diagnosis.steps[:index])
    assert all(s.status == StepStatus.NOT_RUN for s in diagnosis.steps[index + 1 :])
    return step


def _commands(step) -> list[str]:
    return [command for cause in step.causes for command in cause.commands]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_it_passes_every_step_for_a_mailbox_set_up_as_the_guide_says(settings_for, protocol):
    diagnosis = _check(settings_for(protocol))

    assert diagnosis.ok, diagnosis.failed_step
    expected = ["dns", "destination", "tcp", "tls", "token", "auth", "inbox"]
    if protocol == MailProtocol.IMAP:
        expected.append("folders")
    assert list(_statuses(diagnosis)) == expected
    assert diagnosis.claims is not None
    assert diagnosis.step(Stage.TLS).detail.startswith("TLSv1.")


def test_it_creates_the_folder_structure_once_and_recreates_a_deleted_folder(
    settings_for, dovecot, guide
):
    settings = settings_for(MailProtocol.IMAP)

    first = _check(settings)
    second = _check(settings)
    (dovecot.users[guide.mailbox].maildir / ".Recepci&APM-n FE.Errores").rename(
        dovecot.root / "removed-folder"
    )
    third = _check(settings)

    assert first.created_folders == RECEPTION_FOLDERS
    assert second.created_folders == ()
    assert third.created_folders == ("Recepción FE/Errores",)
    assert set(RECEPTION_FOLDERS) <= set(dovecot.list_folders(guide.mailbox))


def test_it_reports_missing_folders_when_asked_not_to_create_them(settings_for):
    diagnosis = _check(settings_for(MailProtocol.IMAP), create_folders=False)

    step = _failed_at(diagnosis, Stage.FOLDERS, ErrorKind.MAILBOX_ERROR)
    assert "Recepción FE/Procesados" in step.detail
    assert step.causes[0].section == Section.CONFIGURATION


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_wrong_server_name_fails_at_the_dns_step(settings_for, protocol):
    diagnosis = _check(settings_for(protocol, host="buzon.no-existe.invalid"))

    step = _failed_at(diagnosis, Stage.DNS, ErrorKind.DNS)
    assert "outlook.office365.com" in step.causes[0].text
    assert step.causes[0].section == Section.ANNEX


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_closed_port_fails_at_the_tcp_step_as_transient(settings_for, protocol):
    diagnosis = _check(settings_for(protocol, port=_closed_port()))

    _failed_at(diagnosis, Stage.TCP, ErrorKind.CONNECTION_REFUSED)
    assert diagnosis.transient
    assert any("puerto" in cause.text for cause in diagnosis.failed_step.causes)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_untrusted_certificate_fails_at_the_tls_step(settings_for, protocol):
    diagnosis = _check(settings_for(protocol, ca_bundle=None))

    step = _failed_at(diagnosis, Stage.TLS, ErrorKind.TLS)
    assert "certificate" in step.detail
    assert "RECEPTION_CA_BUNDLE" in step.causes[0].text
    assert not diagnosis.transient


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_tls_on_a_starttls_port_fails_at_the_tls_step(settings_for, dovecot, protocol):
    plain_port = dovecot.ports.imap if protocol == MailProtocol.IMAP else dovecot.ports.pop3

    diagnosis = _check(settings_for(protocol, port=plain_port))

    step = _failed_at(diagnosis, Stage.TLS, ErrorKind.TLS)
    assert any("STARTTLS" in cause.text for cause in step.causes)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_starttls_works_on_the_plain_port(settings_for, dovecot, protocol):
    plain_port = dovecot.ports.imap if protocol == MailProtocol.IMAP else dovecot.ports.pop3

    diagnosis = _check(settings_for(protocol, port=plain_port, security=Security.STARTTLS))

    assert diagnosis.ok, diagnosis.failed_step


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_unknown_tenant_points_to_the_tenant_id(settings_for, protocol):
    diagnosis = _check(settings_for(protocol, tenant_id="00000000-0000-0000-0000-000000000000"))

    step = _failed_at(diagnosis, Stage.TOKEN, ErrorKind.TENANT_NOT_FOUND)
    assert "Id. Tenant" in step.causes[0].text
    assert step.causes[0].section == Section.APP_REGISTRATION


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_unknown_application_points_to_the_app_id_or_the_tenant(settings_for, protocol):
    diagnosis = _check(settings_for(protocol, client_id="00000000-0000-0000-0000-00000000a001"))

    step = _failed_at(diagnosis, Stage.TOKEN, ErrorKind.APP_NOT_FOUND)
    assert "AADSTS700016" in step.detail
    assert "Id. Aplicación" in step.causes[0].text
    assert "otro directorio" in step.causes[1].text


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_wrong_secret_points_to_the_secrets_value(settings_for, protocol):
    diagnosis = _check(settings_for(protocol, client_secret="abc8Q~this-is-not-the-secret"))

    step = _failed_at(diagnosis, Stage.TOKEN, ErrorKind.INVALID_SECRET)
    assert "AADSTS7000215" in step.detail
    assert "Valor" in step.causes[0].text


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_pasted_secret_id_is_named_as_such(settings_for, guide, protocol):
    diagnosis = _check(settings_for(protocol, client_secret=guide.secret.secret_id))

    step = _failed_at(diagnosis, Stage.TOKEN, ErrorKind.INVALID_SECRET)
    assert "Id. de secreto" in step.causes[0].text


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_expired_secret_points_to_the_secret_renewal_section(settings_for, guide, protocol):
    guide.secret.expires_at = datetime.now(UTC) - timedelta(days=1)

    diagnosis = _check(settings_for(protocol))

    step = _failed_at(diagnosis, Stage.TOKEN, ErrorKind.EXPIRED_SECRET)
    assert step.causes[0].section == Section.SECRET_RENEWAL


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_missing_permission_is_said_before_any_login(settings_for, guide, fake_entra, protocol):
    guide.app.remove_permission(IMAP_ROLE)
    guide.app.remove_permission(POP_ROLE)

    diagnosis = _check(settings_for(protocol))

    step = _failed_at(diagnosis, Stage.TOKEN, ErrorKind.MISSING_ROLE)
    assert "roles presentes: ninguno" in step.detail
    assert {cause.section for cause in step.causes} == {Section.PERMISSIONS}
    assert fake_entra.auth_decisions == []  # the server was never asked


def test_a_permission_for_the_other_protocol_only_names_the_missing_permission_first(
    settings_for, guide
):
    guide.app.remove_permission(POP_ROLE)

    diagnosis = _check(settings_for(MailProtocol.POP3))

    step = _failed_at(diagnosis, Stage.TOKEN, ErrorKind.MISSING_ROLE)
    assert "POP.AccessAsApp" in step.causes[0].text
    assert "permiso de aplicación" in step.causes[0].text


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_missing_admin_consent_is_named_first(settings_for, guide, protocol):
    guide.app.revoke_admin_consent()

    diagnosis = _check(settings_for(protocol))

    step = _failed_at(diagnosis, Stage.TOKEN, ErrorKind.MISSING_ROLE)
    assert "Conceder consentimiento de administrador" in step.causes[0].text


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_unregistered_service_principal_gets_the_filled_in_commands(
    settings_for, guide, fake_entra, protocol
):
    guide.tenant.remove_service_principal(guide.client_id)

    diagnosis = _check(settings_for(protocol))

    step = _failed_at(diagnosis, Stage.AUTH, ErrorKind.AUTH_REFUSED)
    assert fake_entra.last_decision().refusal == Refusal.NO_SERVICE_PRINCIPAL
    assert step.causes[0].section == Section.SERVICE_PRINCIPAL
    oid = guide.app.enterprise_object_id
    assert step.causes[0].commands == (
        f"New-ServicePrincipal -AppId '{guide.client_id}' -ObjectId '{oid}'",
        f"Get-ServicePrincipal -Organization '{guide.tenant_id}' | fl",
    )
    assert (
        f"Add-MailboxPermission -Identity '{guide.mailbox}' -User '{oid}' -AccessRights FullAccess"
        in _commands(step)
    )


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_service_principal_registered_with_the_app_registrations_object_id(
    settings_for, guide, fake_entra, protocol
):
    wrong = guide.app.app_object_id
    guide.tenant.remove_service_principal(guide.client_id)
    guide.tenant.new_service_principal(guide.client_id, wrong)

    diagnosis = _check(settings_for(protocol, object_id=wrong))

    step = _failed_at(diagnosis, Stage.AUTH, ErrorKind.AUTH_REFUSED)
    assert fake_entra.last_decision().refusal == Refusal.NO_SERVICE_PRINCIPAL
    first = step.causes[0]
    right = guide.app.enterprise_object_id
    assert wrong in first.text
    assert right in first.text
    assert first.commands[:2] == (
        f"Remove-ServicePrincipal -Identity '{wrong}'",
        f"New-ServicePrincipal -AppId '{guide.client_id}' -ObjectId '{right}'",
    )
    assert all(wrong not in command for command in _commands(step)[1:])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_missing_full_access_names_the_mailbox_permission_first(
    settings_for, guide, fake_entra, protocol
):
    oid = guide.app.enterprise_object_id
    guide.tenant.remove_mailbox_permission(guide.mailbox, oid)

    diagnosis = _check(settings_for(protocol))

    step = _failed_at(diagnosis, Stage.AUTH, ErrorKind.NOT_CONNECTED)
    assert fake_entra.last_decision().refusal == Refusal.NO_FULL_ACCESS
    assert step.causes[0].section == Section.MAILBOX_PERMISSION
    assert step.causes[0].commands == (
        f"Remove-MailboxPermission -Identity '{guide.mailbox}' -User '{oid}' "
        "-AccessRights FullAccess -InheritanceType All",
        f"Add-MailboxPermission -Identity '{guide.mailbox}' -User '{oid}' -AccessRights FullAccess",
    )


@pytest.mark.parametrize(
    ("protocol", "switch"),
    [(MailProtocol.IMAP, "-ImapEnabled"), (MailProtocol.POP3, "-PopEnabled")],
)
def test_a_protocol_disabled_for_the_mailbox_is_among_the_causes(
    settings_for, guide, fake_entra, protocol, switch
):
    guide.tenant.set_cas_mailbox(
        guide.mailbox,
        imap_enabled=protocol != MailProtocol.IMAP,
        pop_enabled=protocol != MailProtocol.POP3,
    )

    diagnosis = _check(settings_for(protocol))

    step = _failed_at(diagnosis, Stage.AUTH, ErrorKind.AUTH_REFUSED)
    assert fake_entra.last_decision().refusal == Refusal.PROTOCOL_DISABLED
    disabled = next(c for c in step.causes if c.section == Section.PROTOCOL_ENABLED)
    assert disabled.commands == (f"Set-CASMailbox -Identity '{guide.mailbox}' {switch} $true",)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_basic_auth_with_a_wrong_password_gets_its_own_hints(
    dovecot, fake_entra, harness_pki, protocol
):
    dovecot.add_user("basica@otro.test", "la-clave-correcta")
    base = {
        "protocol": protocol,
        "auth": AuthMethod.BASIC,
        "host": dovecot.host,
        "port": dovecot.ports.imaps if protocol == MailProtocol.IMAP else dovecot.ports.pop3s,
        "security": Security.SSL,
        "username": "basica@otro.test",
        "ca_bundle": str(harness_pki.ca_pem),
        "allowed_hosts": parse_allowed_hosts(allowed_mail_hosts(dovecot)),
    }

    good = _check(MailboxSettings(**base, password="la-clave-correcta"))
    bad = _check(MailboxSettings(**base, password="una-clave-equivocada"))

    assert good.ok, good.failed_step
    assert "token" not in _statuses(good)
    step = _failed_at(bad, Stage.AUTH, ErrorKind.AUTH_REFUSED)
    assert "contraseña" in step.causes[0].text
    assert _commands(step) == []
    assert fake_entra.token_request_count() == 0


def test_n_checks_cost_one_token_request(settings_for, guide, fake_entra):
    settings = settings_for(MailProtocol.IMAP)

    results = [_check(settings) for _ in range(5)]

    assert all(result.ok for result in results)
    assert fake_entra.token_request_count(guide.tenant_id, guide.client_id) == 1


def test_fetch_sessions_and_checks_share_one_token(settings_for, guide, fake_entra):
    fetch_tokens = EntraTokenProvider()

    for protocol in PROTOCOLS * 3:
        with open_mailbox(settings_for(protocol), fetch_tokens) as session:
            session.inbox_status()
    diagnosis = _check(settings_for(MailProtocol.IMAP))

    assert diagnosis.ok, diagnosis.failed_step
    assert fake_entra.token_request_count(guide.tenant_id, guide.client_id) == 1


def test_a_check_after_a_fix_in_entra_does_not_show_the_replayed_error(
    settings_for, guide, fake_entra
):
    """msal replays an HTTP 400 for 60 s: the fetch keeps the replay, a check asks Entra again,
    and the fetch then shares the check's fresh token."""
    settings = settings_for(MailProtocol.IMAP)
    fetch_tokens = EntraTokenProvider()
    app = guide.tenant.apps.pop(guide.client_id)
    before = _check(settings)
    with pytest.raises(TransportError) as replayed:
        fetch_tokens.get_token(settings)
    requests_before_fix = fake_entra.token_request_count(guide.tenant_id, guide.client_id)
    guide.tenant.apps[guide.client_id] = app  # the administrator fixed it

    after = _check(settings)
    fetched = fetch_tokens.get_token(settings)

    assert before.error_kind == ErrorKind.APP_NOT_FOUND
    assert replayed.value.kind == ErrorKind.APP_NOT_FOUND
    assert requests_before_fix == 1  # the fetch's failure was a replay, not a request
    assert after.ok, after.failed_step
    assert fetched.source == "cache"
    assert fake_entra.token_request_count(guide.tenant_id, guide.client_id) == 2


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_an_unavailable_entra_is_transient(settings_for, fake_entra, protocol):
    fake_entra.fail_token_requests(count=1, status=503)

    diagnosis = _check(settings_for(protocol))

    _failed_at(diagnosis, Stage.TOKEN, ErrorKind.AUTHORITY_UNAVAILABLE)
    assert diagnosis.transient
