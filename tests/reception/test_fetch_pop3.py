"""mailbox_fetch over POP3 against the real Dovecot: mail is recorded first, backed up to the
confirmed address byte for byte, and deleted from the server only while the mailbox is Activo."""

import email

import pytest
from django.core import mail

from invoices.models import ReceivedDocument
from reception.fetching import mailbox_fetch
from reception.models import IncomingMessage, MailboxStatus, ServerState
from reception.services import backup_confirm_manually
from tests.factories.dian import build_mail, make_email

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailbox(configure_live_mailbox):
    mailbox = configure_live_mailbox("pop3")
    assert mailbox.status == MailboxStatus.PENDING, mailbox.status_reason
    return mailbox


def backups():
    return [m for m in mail.outbox if m.subject.startswith("[Respaldo Recepción FE]")]


def test_saving_a_pop3_mailbox_mails_the_backup_confirmation_link(mailbox):
    (message,) = [m for m in mail.outbox if "Confirma el correo de respaldo" in m.subject]
    assert message.to == ["respaldo@andina.test"]
    assert "/respaldo/confirmar/" in message.body


def test_por_activar_reads_and_records_but_leaves_mail_on_the_server(mailbox, dovecot):
    dovecot.deliver_many(
        mailbox.username, [build_mail(seed=1).raw, build_mail(seed=2, number="FE2").raw]
    )
    summary = mailbox_fetch(mailbox, trigger="test")
    assert (summary.seen, summary.documents, summary.backed_up, summary.deleted) == (2, 2, 0, 0)
    assert dovecot.message_count(mailbox.username) == 2
    assert set(IncomingMessage.objects.values_list("server_state", flat=True)) == {
        ServerState.ON_SERVER
    }
    assert backups() == []
    again = mailbox_fetch(mailbox, trigger="test")
    assert (again.seen, again.documents) == (0, 0)


def test_once_active_it_backs_up_each_message_unchanged_then_deletes_it(mailbox, dovecot, sofia):
    built = build_mail(seed=1)
    not_dian = make_email(subject="Boletín", attachments=[])
    dovecot.deliver_many(mailbox.username, [built.raw, not_dian])
    mailbox_fetch(mailbox, trigger="test")  # Por Activar: recorded, kept
    backup_confirm_manually(mailbox, actor=sofia)
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.ACTIVE

    summary = mailbox_fetch(mailbox, trigger="test")

    assert (summary.seen, summary.backed_up, summary.deleted) == (0, 2, 2)
    assert dovecot.message_count(mailbox.username) == 0
    assert set(IncomingMessage.objects.values_list("server_state", flat=True)) == {
        ServerState.DELETED
    }
    sent = backups()
    assert len(sent) == 2
    assert all(m.to == ["respaldo@andina.test"] for m in sent)
    stored = {m.sha256: m for m in IncomingMessage.objects.all()}
    for backup in sent:
        parsed = email.message_from_bytes(backup.message().as_bytes())
        (attachment,) = [p for p in parsed.walk() if p.get_filename()]
        original = attachment.get_payload(decode=True)
        row = next(r for r in stored.values() if r.raw.read() == original)
        assert row.server_state == ServerState.DELETED
    assert ReceivedDocument.objects.count() == 1


def test_new_mail_on_an_active_mailbox_is_recorded_backed_up_and_deleted_in_one_run(
    mailbox, dovecot, sofia
):
    backup_confirm_manually(mailbox, actor=sofia)
    mailbox.refresh_from_db()
    dovecot.deliver(mailbox.username, build_mail(seed=3).raw)
    summary = mailbox_fetch(mailbox, trigger="test")
    assert (summary.seen, summary.documents, summary.backed_up, summary.deleted) == (1, 1, 1, 1)
    assert dovecot.message_count(mailbox.username) == 0


def test_an_inactive_mailbox_keeps_its_mail_even_when_backed_up(mailbox, dovecot, sofia):
    from reception.status import mailbox_set_status

    backup_confirm_manually(mailbox, actor=sofia)
    mailbox_set_status(mailbox, MailboxStatus.INACTIVE, reason="prueba", source="test")
    dovecot.deliver(mailbox.username, build_mail(seed=4).raw)
    summary = mailbox_fetch(mailbox, trigger="test")
    assert (summary.seen, summary.backed_up, summary.deleted) == (1, 1, 0)
    assert dovecot.message_count(mailbox.username) == 1
