"""The IMAP session against a real Dovecot: UIDs, batched fetch, folders and moves."""

import itertools
import logging

import pytest

from reception.transports import (
    FOLDER_PROCESSED,
    AuthMethod,
    EntraTokenProvider,
    ImapSession,
    MailboxSettings,
    MailProtocol,
    Security,
    open_mailbox,
)
from reception.transports.destinations import parse_allowed_hosts
from tests.harness.dovecot import Dovecot
from tests.harness.fixtures import allowed_mail_hosts

PASSWORD = "clave-de-prueba"
_numbers = itertools.count(1)


def _message(number: int, filler: int = 0) -> bytes:
    return (
        f"From: proveedor{number}@proveedor.test\r\n"
        f"To: recepcion@empresa.test\r\n"
        f"Subject: 900123456;Proveedor;FE{number};01;Proveedor\r\n"
        f"Message-ID: <m{number}@proveedor.test>\r\n"
        "\r\n"
        f"Factura {number}\r\n" + "x" * filler + "\r\n"
    ).encode()


def _settings(server: Dovecot, address: str, ca_pem: str) -> MailboxSettings:
    return MailboxSettings(
        protocol=MailProtocol.IMAP,
        auth=AuthMethod.BASIC,
        host=server.host,
        port=server.ports.imaps,
        security=Security.SSL,
        username=address,
        password=PASSWORD,
        ca_bundle=ca_pem,
        timeout=5.0,
        allowed_hosts=parse_allowed_hosts(allowed_mail_hosts(server)),
    )


@pytest.fixture
def mailbox(dovecot, harness_pki):
    address = f"imap{next(_numbers)}@empresa.test"
    dovecot.add_user(address, PASSWORD)
    return address, _settings(dovecot, address, str(harness_pki.ca_pem))


def _open(settings: MailboxSettings):
    return open_mailbox(settings, EntraTokenProvider())


def test_it_lists_only_the_uids_above_the_last_one_seen(dovecot, mailbox):
    address, settings = mailbox
    dovecot.deliver_many(address, [_message(n) for n in range(3)])

    with _open(settings) as session:
        assert isinstance(session, ImapSession)
        state = session.select_folder()
        everything = session.uids_after(0)
        after_last = session.uids_after(everything[-1])
        after_first = session.uids_after(everything[0])

    assert len(everything) == 3
    assert after_last == []
    assert after_first == everything[1:]
    assert state.uidvalidity > 0
    assert state.uidnext == everything[-1] + 1  # an idle poll can stop here, without SEARCH


def test_it_fetches_in_batches_and_skips_oversized_messages_without_downloading(dovecot, mailbox):
    address, settings = mailbox
    small = [_message(n) for n in range(5)]
    big = _message(99, filler=50_000)
    dovecot.deliver_many(address, [*small[:2], big, *small[2:]])

    with _open(settings) as session:
        session.select_folder()
        uids = session.uids_after(0)
        fetched = list(session.fetch(uids, max_size=10_000, batch_size=2, batch_bytes=1_000_000))

    assert [message.uid for message in fetched] == uids
    assert [message.raw for message in fetched] == [*small[:2], None, *small[2:]]
    assert fetched[2].size == len(big)
    assert not any(path.name.endswith("S") for path in dovecot.message_files(address))


def test_commands_sent_while_the_next_batch_is_on_its_way_get_their_own_answers(dovecot, mailbox):
    """The next batch is asked for before a batch is handed over; the caller moves the batch
    it has while the server is sending the next one."""
    address, settings = mailbox
    sent = [_message(n, filler=n * 997) for n in range(7)]
    dovecot.deliver_many(address, sent)

    with _open(settings) as session:
        session.ensure_folders()
        session.select_folder()
        uids = session.uids_after(0)
        fetched = []
        for message in session.fetch(uids, max_size=100_000, batch_size=2, batch_bytes=10**6):
            fetched.append(message)
            if len(fetched) % 2 == 0:  # a batch is in: move it, as the fetch does
                session.move([m.uid for m in fetched[-2:]], FOLDER_PROCESSED)
                assert session.missing_folders() == []
        left = session.uids_after(0)

    assert [message.raw for message in fetched] == sent
    assert left == uids[-1:]
    assert dovecot.message_count(address, FOLDER_PROCESSED) == 6


def test_mail_contents_never_reach_the_logs_even_at_debug_level(dovecot, mailbox, caplog):
    """imapclient would have imaplib trace every answer, bodies included, to a logger."""
    address, settings = mailbox
    caplog.set_level(logging.DEBUG)
    dovecot.deliver_many(
        address, [_message(n, filler=100) + b"FACTURA-CONFIDENCIAL" for n in range(3)]
    )

    with _open(settings) as session:
        session.select_folder()
        fetched = list(
            session.fetch(session.uids_after(0), max_size=10_000, batch_size=2, batch_bytes=10**6)
        )

    assert all(b"FACTURA-CONFIDENCIAL" in message.raw for message in fetched)
    assert caplog.records, "nothing was logged: the test would prove nothing"
    assert "FACTURA-CONFIDENCIAL" not in caplog.text
    assert "Factura 1" not in caplog.text


def test_it_moves_a_uid_set_to_a_reception_folder(dovecot, mailbox):
    address, settings = mailbox
    dovecot.deliver_many(address, [_message(n) for n in range(4)])

    with _open(settings) as session:
        assert session.ensure_folders()
        session.select_folder()
        uids = session.uids_after(0)
        session.move(uids[:3], FOLDER_PROCESSED)
        left = session.uids_after(0)

    assert left == uids[3:]
    assert dovecot.message_count(address, "INBOX") == 1
    assert dovecot.message_count(address, FOLDER_PROCESSED) == 3


def test_it_moves_with_copy_and_expunge_when_the_server_has_no_move(
    dovecot_without_move, harness_pki
):
    server = dovecot_without_move
    address = "sin-move@empresa.test"
    server.add_user(address, PASSWORD)
    server.deliver_many(address, [_message(n) for n in range(3)])
    settings = _settings(server, address, str(harness_pki.ca_pem))

    with _open(settings) as session:
        assert not session.client.has_capability("MOVE")
        session.ensure_folders()
        session.select_folder()
        uids = session.uids_after(0)
        session.move(uids[:2], FOLDER_PROCESSED)
        left = session.uids_after(0)

    assert left == uids[2:]
    assert server.message_count(address, "INBOX") == 1
    assert server.message_count(address, FOLDER_PROCESSED) == 2


def test_it_closes_the_connection_even_when_the_caller_fails(mailbox):
    _address, settings = mailbox

    with pytest.raises(RuntimeError), _open(settings) as session:
        raise RuntimeError("the caller failed")

    assert session.client.socket().fileno() == -1
