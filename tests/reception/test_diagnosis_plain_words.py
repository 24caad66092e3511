"""The diagnosis tells a machine without DNS or network from a misspelt server, and says what
the system's and OpenSSL's texts mean in Spanish, keeping them as the technical detail.

The real stack runs (the diagnosis, its transports, real sockets and a real TLS handshake);
only name resolution is replaced, at the network boundary, by a resolver handed to the
transports in their settings, as the machine without DNS would answer.
"""

import dataclasses
import socket

import pytest

from reception.connection import mailbox_settings
from reception.diagnosis import diagnose
from reception.transports import ErrorKind, Security, Stage
from reception.transports.destinations import parse_allowed_hosts
from tests.factories.mailboxes import make_mailbox
from tests.reception.mailbox_data import PASSWORD, USERNAME

HOST = "outlook.office365.com"


def no_name_resolves(host, port, family=0, type=0, proto=0, flags=0):
    """A machine without DNS or network: every name fails, the well-known one too."""
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def only_the_authority_resolves(authority):
    def resolve(host, port, family=0, type=0, proto=0, flags=0):
        if host == authority:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    return resolve


def to(address):
    def resolve(host, port, family=0, type=0, proto=0, flags=0):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    return resolve


@pytest.fixture
def connection(org_a, reception_settings):
    mailbox = make_mailbox(
        org_a, server_type="other", host=HOST, username=USERNAME, password=PASSWORD, secret=""
    )
    return mailbox_settings(mailbox)


def test_a_machine_that_resolves_nothing_is_not_told_the_server_does_not_exist(connection):
    diagnosis = diagnose(
        dataclasses.replace(connection, resolver=no_name_resolves), create_folders=False
    )

    step = diagnosis.failed_step
    assert (step.id, diagnosis.error_kind) == (Stage.DNS, ErrorKind.DNS)
    (cause,) = step.causes
    assert "Este equipo no logra resolver nombres" in cause.text
    assert "no existe" not in cause.text
    assert step.detail == (
        "El nombre del servidor no se encontró en el DNS "
        "(detalle técnico: [Errno -2] Name or service not known)"
    )


def test_a_name_that_does_not_exist_where_others_resolve_is_a_misspelt_server(connection):
    authority = connection.authority_host.split("//")[-1].split(":")[0].split("/")[0]
    diagnosis = diagnose(
        dataclasses.replace(connection, resolver=only_the_authority_resolves(authority)),
        create_folders=False,
    )

    cause = diagnosis.failed_step.causes[-1]
    assert f"El servidor «{HOST}» no existe" in cause.text


def test_a_refused_connection_reads_in_spanish_with_the_system_text_kept(connection, dovecot):
    listening = socket.create_server(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    listening.close()  # nothing listens there any more: the system refuses
    diagnosis = diagnose(
        dataclasses.replace(
            connection, port=port, resolver=to("127.0.0.1"), allowed_hosts=dovecot_hosts(port)
        ),
        create_folders=False,
    )

    step = diagnosis.failed_step
    assert (step.id, diagnosis.error_kind) == (Stage.TCP, ErrorKind.CONNECTION_REFUSED)
    assert step.detail.startswith("El servidor rechazó la conexión en ese puerto (detalle técnico:")
    assert "Connection refused" in step.detail


def test_tls_on_a_plain_port_reads_in_spanish_with_openssl_text_kept(connection, dovecot):
    port = dovecot.ports.imap  # plain IMAP: a TLS client gets no TLS answer
    diagnosis = diagnose(
        dataclasses.replace(
            connection,
            host=dovecot.host,
            port=port,
            security=Security.SSL,
            resolver=to(dovecot.host),
            allowed_hosts=dovecot_hosts(port, dovecot.host),
        ),
        create_folders=False,
    )

    step = diagnosis.failed_step
    assert (step.id, diagnosis.error_kind) == (Stage.TLS, ErrorKind.TLS)
    assert step.detail.startswith("El servidor no habla TLS en ese puerto"), step.detail
    assert "detalle técnico:" in step.detail


def dovecot_hosts(port, host=HOST):
    return parse_allowed_hosts([f"{host}:{port}"])
