"""The POP3 session against a real Dovecot: UIDL, RETR, DELE and when deletions happen."""

import itertools

import pytest

from reception.transports import (
    AuthMethod,
    EntraTokenProvider,
    MailboxSettings,
    MailProtocol,
    Pop3Session,
    Security,
    open_mailbox,
)
from reception.transports.destinations import parse_allowed_hosts
from tests.harness.fixtures import allowed_mail_hosts

PASSWORD = "clave-de-prueba"
_numbers = itertools.count(1)


def _message(number: int) -> bytes:
    return (
        f"From: proveedor{number}@proveedor.test\r\n"
        f"Subject: 900123456;Proveedor;FE{number};01;Proveedor\r\n"
        "\r\n"
        f"Factura {number}\r\n"
        ".una linea que empieza con punto\r\n"
    ).encode()


@pytest.fixture
def mailbox(dovecot, harness_pki):
    address = f"pop{next(_numbers)}@empresa.test"
    dovecot.add_user(address, PASSWORD)
    settings = MailboxSettings(
        protocol=MailProtocol.POP3,
        auth=AuthMethod.BASIC,
        host=dovecot.host,
        port=dovecot.ports.pop3s,
        security=Security.SSL,
        username=address,
        password=PASSWORD,
        ca_bundle=str(harness_pki.ca_pem),
        timeout=5.0,
        allowed_hosts=parse_allowed_hosts(allowed_mail_hosts(dovecot)),
    )
    return address, settings


def _open(settings: MailboxSettings):
    return open_mailbox(settings, EntraTokenProvider())


def test_it_lists_numbers_uids_and_sizes_and_retrieves_the_exact_bytes(dovecot, mailbox):
    address, settings = mailbox
    messages = [_message(n) for n in range(3)]
    dovecot.deliver_many(address, messages)

    with _open(settings) as session:
        assert isinstance(session, Pop3Session)
        listed = session.messages()
        retrieved = [session.retrieve(item.number) for item in listed]

    assert [item.number for item in listed] == [1, 2, 3]
    assert len({item.uid for item in listed}) == 3
    assert [item.size for item in listed] == [len(message) for message in messages]
    assert retrieved == messages


def test_uids_stay_the_same_across_sessions(dovecot, mailbox):
    address, settings = mailbox
    dovecot.deliver_many(address, [_message(n) for n in range(2)])

    with _open(settings) as session:
        first = [item.uid for item in session.messages()]
    with _open(settings) as session:
        second = [item.uid for item in session.messages()]

    assert first == second


def test_deletions_happen_when_the_session_ends_normally(dovecot, mailbox):
    address, settings = mailbox
    dovecot.deliver_many(address, [_message(n) for n in range(3)])

    with _open(settings) as session:
        for item in session.messages()[:2]:
            session.delete(item.number)

    assert dovecot.message_count(address) == 1


def test_deletions_are_undone_when_the_caller_fails(dovecot, mailbox):
    address, settings = mailbox
    dovecot.deliver_many(address, [_message(n) for n in range(3)])

    with pytest.raises(RuntimeError), _open(settings) as session:
        for item in session.messages():
            session.delete(item.number)
        raise RuntimeError("the messages were not stored")

    assert dovecot.message_count(address) == 3
