"""The destination rules again before every connection, and the DNS rule when saving.

A saved host can start resolving elsewhere: every check and fetch resolves the name once, vets
every address and connects to one it vetted, still verifying the certificate against the name.
Only the resolver is faked (handed to the transports in their settings), never the mail
libraries. A refusal is a step of its own in the diagnosis and leaves the mailbox Inactivo.
"""

import dataclasses
import json
import socket
import uuid

import pytest
from django.urls import reverse

from reception.connection import mailbox_settings
from reception.diagnosis import Section, diagnose
from reception.exceptions import MailboxUnreachable
from reception.fetching import mailbox_fetch
from reception.models import MailboxStatus, ReceptionMailbox
from reception.services import mailbox_check
from reception.transports import (
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
from tests.commands import run_command
from tests.factories.mailboxes import make_mailbox
from tests.reception.fake_check import install_fake_check
from tests.reception.mailbox_data import PASSWORD, USERNAME, admin_post, basic

HOST = "mail.andina.example.test"


class Resolver:
    """getaddrinfo's answers for one name, one list per call (the last one repeats)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        self.calls.append((host, port))
        answer = self.answers[min(len(self.calls), len(self.answers)) - 1]
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (address, port, 0, 0) if ":" in address else (address, port),
            )
            for address in answer
        ]


def _statuses(diagnosis) -> dict[str, str]:
    return {str(step.id): str(step.status) for step in diagnosis.steps}


@pytest.fixture
def saved_basic(org_a):
    """A basic-auth mailbox whose host passed every rule when it was saved."""
    return make_mailbox(
        org_a, server_type="other", host=HOST, username=USERNAME, password=PASSWORD, secret=""
    )


def test_the_check_refuses_a_saved_name_that_now_resolves_to_a_private_address(saved_basic):
    rebound = Resolver(["127.0.0.2"])
    connection = dataclasses.replace(mailbox_settings(saved_basic), resolver=rebound)

    diagnosis = diagnose(connection, create_folders=False)

    step = diagnosis.failed_step
    assert (step.id, diagnosis.error_kind) == (Stage.DESTINATION, ErrorKind.ADDRESS_NOT_PUBLIC)
    assert _statuses(diagnosis) == {
        "dns": "ok",
        "destination": "failed",
        "tcp": "not_run",
        "tls": "not_run",
        "auth": "not_run",
        "inbox": "not_run",
        "folders": "not_run",
    }
    assert "127.0.0.2" not in json.dumps(diagnosis.as_dict())  # internal addresses stay inside
    cause = step.causes[0]
    assert "públicas" in cause.text and "«Servidor»" in cause.text
    assert "RECEPTION_ALLOWED_MAIL_HOSTS" in cause.text
    assert cause.section == Section.CONFIGURATION
    assert rebound.calls == [(HOST, 993)]


def test_a_fetch_session_refuses_it_too(saved_basic):
    connection = dataclasses.replace(
        mailbox_settings(saved_basic), resolver=Resolver(["8.8.8.8", "192.168.0.10"])
    )

    with pytest.raises(TransportError) as refused, open_mailbox(connection, EntraTokenProvider()):
        pytest.fail("a session was opened")

    assert (refused.value.stage, refused.value.kind) == (
        Stage.DESTINATION,
        ErrorKind.ADDRESS_NOT_PUBLIC,
    )
    assert refused.value.refusal.address == "192.168.0.10"
    assert "192.168.0.10" not in refused.value.detail


@pytest.fixture
def dovecot_user(dovecot):
    address = f"rebind@{HOST}"
    dovecot.add_user(address, PASSWORD)
    return address


PORTS = {
    (MailProtocol.IMAP, Security.SSL): "imaps",
    (MailProtocol.IMAP, Security.STARTTLS): "imap",
    (MailProtocol.POP3, Security.SSL): "pop3s",
    (MailProtocol.POP3, Security.STARTTLS): "pop3",
}


def _lab_settings(
    dovecot,
    harness_pki,
    address,
    host,
    resolver,
    protocol=MailProtocol.IMAP,
    security=Security.SSL,
) -> MailboxSettings:
    """Basic auth to the test Dovecot under another name, listed as a lab host."""
    port = getattr(dovecot.ports, PORTS[protocol, security])
    return MailboxSettings(
        protocol=protocol,
        auth=AuthMethod.BASIC,
        host=host,
        port=port,
        security=security,
        username=address,
        password=PASSWORD,
        ca_bundle=str(harness_pki.ca_pem),
        timeout=5.0,
        allowed_hosts=parse_allowed_hosts([f"{host}:{port}"]),
        resolver=resolver,
    )


def test_it_resolves_once_and_connects_to_the_address_it_vetted(dovecot, dovecot_user, harness_pki):
    """A second answer (a rebind to another host) is never asked for, so never used."""
    rebinding = Resolver(["127.0.0.1"], ["127.0.0.2"])
    connection = _lab_settings(dovecot, harness_pki, dovecot_user, "localhost", rebinding)

    diagnosis = diagnose(connection, create_folders=False)

    assert diagnosis.failed_step.id == Stage.FOLDERS  # logged in and opened INBOX
    assert rebinding.calls == [("localhost", dovecot.ports.imaps)]
    assert diagnosis.step(Stage.DNS).detail == "127.0.0.1"
    assert f"127.0.0.1:{dovecot.ports.imaps}" in diagnosis.step(Stage.TCP).detail


@pytest.mark.parametrize(("protocol", "security"), list(PORTS), ids=list(PORTS.values()))
def test_the_certificate_is_still_checked_against_the_name(
    dovecot, dovecot_user, harness_pki, protocol, security
):
    """The test certificate names 127.0.0.1 and localhost: connecting to that address as
    "mail.lab.test" must fail, or the name would no longer be what TLS vouches for."""
    lab = _lab_settings(
        dovecot,
        harness_pki,
        dovecot_user,
        "mail.lab.test",
        Resolver(["127.0.0.1"]),
        protocol,
        security,
    )
    named = dataclasses.replace(
        lab,
        host="localhost",
        allowed_hosts=parse_allowed_hosts([f"localhost:{lab.port}"]),
    )

    refused = diagnose(lab, create_folders=False)
    accepted = diagnose(named, create_folders=False)

    assert (refused.failed_step.id, refused.error_kind) == (Stage.TLS, ErrorKind.TLS)
    assert "mail.lab.test" in refused.failed_step.detail
    assert accepted.step(Stage.TLS).status == "ok", accepted.failed_step


def test_a_refused_port_tells_nothing_about_what_listens_there(saved_basic):
    listening = socket.create_server(("127.0.0.2", 0))
    closed = socket.create_server(("127.0.0.2", 0))
    open_port, closed_port = listening.getsockname()[1], closed.getsockname()[1]
    closed.close()
    try:
        details = []
        for port in (open_port, closed_port):
            connection = dataclasses.replace(
                mailbox_settings(saved_basic), port=port, resolver=Resolver(["127.0.0.2"])
            )
            diagnosis = diagnose(connection, create_folders=False)
            assert diagnosis.error_kind == ErrorKind.PORT_NOT_ALLOWED
            assert _statuses(diagnosis)["dns"] == "not_run"
            details.append(diagnosis.failed_step.detail.replace(str(port), "N"))
        listening.settimeout(0)
        with pytest.raises(BlockingIOError):
            listening.accept()  # nobody knocked
    finally:
        listening.close()
    assert details[0] == details[1]


# --- Through the services: status, token, fetch ------------------------------------------------


@pytest.fixture
def modern_elsewhere(org_a, fake_entra, reception_settings):
    """A modern-auth mailbox whose host is not Microsoft's (saved before the rules existed)."""
    guide = fake_entra.configure_like_guide("recepcion@andina.test")
    return make_mailbox(
        org_a,
        host="imap.evil.example",
        username=guide.mailbox,
        tenant_id=uuid.UUID(guide.tenant_id),
        client_id=uuid.UUID(guide.client_id),
        secret=guide.client_secret,
    )


def test_a_token_is_not_even_requested_for_a_host_that_is_not_allowed(modern_elsewhere, fake_entra):
    diagnosis = mailbox_check(modern_elsewhere, source="test")

    assert fake_entra.token_request_count() == 0
    assert diagnosis.error_kind == ErrorKind.HOST_NOT_ALLOWED
    statuses = _statuses(diagnosis)
    assert (statuses["dns"], statuses["destination"], statuses["token"]) == (
        "not_run",
        "failed",
        "not_run",
    )
    cause = diagnosis.failed_step.causes[0].text
    assert "outlook.office365.com" in cause and "«Servidor»" in cause
    modern_elsewhere.refresh_from_db()
    assert modern_elsewhere.status == MailboxStatus.INACTIVE
    assert "Servidor permitido" in modern_elsewhere.status_reason


def test_a_fetch_from_a_refused_host_makes_the_mailbox_inactive(modern_elsewhere, fake_entra):
    with pytest.raises(MailboxUnreachable) as unreachable:
        mailbox_fetch(modern_elsewhere, trigger="test")

    assert unreachable.value.error.kind == ErrorKind.HOST_NOT_ALLOWED
    assert fake_entra.token_request_count() == 0
    modern_elsewhere.refresh_from_db()
    assert modern_elsewhere.status == MailboxStatus.INACTIVE
    assert "RECEPTION_ALLOWED_MAIL_HOSTS" in modern_elsewhere.status_reason


# --- The DNS rule when saving -------------------------------------------------------------------


LOOPBACK_NAME = basic(server_type="other", host="localhost", port=993)


def test_the_command_refuses_a_name_that_resolves_to_a_loopback_address(org_a, monkeypatch, capsys):
    result = run_command(
        ["mailbox_configure", "--organization", "900123456"],
        stdin=json.dumps(LOOPBACK_NAME),
        monkeypatch=monkeypatch,
        capsys=capsys,
    )

    assert result.status == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("host: ")]
    assert lines and "«localhost»" in lines[0] and "públicas" in lines[0], result.stderr
    assert "127.0.0.1" not in result.stderr
    assert not ReceptionMailbox.objects.exists()


def test_the_admin_shows_it_on_the_form(org_a, client, alice):
    client.force_login(alice)

    response = client.post(
        reverse("admin:reception_receptionmailbox_add"),
        admin_post(LOOPBACK_NAME, organization=org_a.pk),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "«localhost»" in errors["host"][0] and "públicas" in errors["host"][0]
    assert not ReceptionMailbox.objects.exists()


def test_a_listed_name_may_resolve_to_loopback(org_a, monkeypatch, capsys, settings):
    settings.RECEPTION_ALLOWED_MAIL_HOSTS = ["localhost"]
    install_fake_check(monkeypatch)

    result = run_command(
        ["mailbox_configure", "--organization", "900123456"],
        stdin=json.dumps(LOOPBACK_NAME),
        monkeypatch=monkeypatch,
        capsys=capsys,
    )

    assert result.status == 0, result.stderr
    assert ReceptionMailbox.objects.get().host == "localhost"
