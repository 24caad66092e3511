"""mailbox_fetch over POP3 against the real Dovecot: mail is recorded first, backed up to the
confirmed address byte for byte, and deleted from the server only while the mailbox is Activo."""

import email

import pytest
from django.core import mail

from invoices.models import ReceivedDocument
from reception import fetching
from reception.fetching import mailbox_fetch
from reception.models import IncomingMessage, MailboxStatus, ServerState
from reception.services import backup_confirm_manually, mailbox_configure
from tests.factories.dian import build_mail, make_email
from tests.reception.conftest import guide_configuration

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailbox(configure_live_mailbox):
    mailbox = configure_live_mailbox("pop3")
    assert mailbox.status == MailboxStatus.PENDING, mailbox.status_reason
    return mailbox


def backups():
    return [m for m in mail.outbox if m.subject.startswith("[Respaldo Recepción FE]")]


def message_id(backup) -> str:
    """The Message-ID of the original e-mail a backup carries."""
    (_name, content, _mimetype) = backup.attachments[0]
    return email.message_from_bytes(content)["Message-ID"]


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
    # POP3 has neither folders nor UIDVALIDITY: the row names the message by its UIDL alone.
    assert set(IncomingMessage.objects.values_list("folder", "uidvalidity", "uid")) == {
        ("", None, None)
    }
    assert all(
        key.startswith("pop3:")
        for key in IncomingMessage.objects.values_list("server_key", flat=True)
    )
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

    again = mailbox_fetch(mailbox, trigger="test")

    assert (again.seen, again.backed_up, again.deleted) == (0, 0, 0)
    assert len(backups()) == 1  # backed up once, however long it stays on the server
    assert IncomingMessage.objects.get().server_state == ServerState.BACKED_UP


def test_a_listing_longer_than_one_ledger_query_records_each_message_once(
    mailbox, dovecot, settings, monkeypatch
):
    """A mailbox kept while Por Activar lists more than one query matches: every message on
    the server is looked up, so none is taken for new (and downloaded again) on the next run."""
    monkeypatch.setattr(fetching, "KEYS_PER_QUERY", 2)
    settings.RECEPTION_FETCH_BATCH_SIZE = 2
    raws = [build_mail(seed=seed, number=f"FE{seed}").raw for seed in range(1, 6)]
    dovecot.deliver_many(mailbox.username, raws)

    first = mailbox_fetch(mailbox, trigger="test")
    again = mailbox_fetch(mailbox, trigger="test")

    assert (first.seen, first.documents) == (5, 5)
    assert (again.seen, again.documents) == (0, 0)
    assert IncomingMessage.objects.count() == 5
    assert dovecot.message_count(mailbox.username) == 5


def test_a_message_exactly_at_the_size_limit_is_read(mailbox, dovecot, settings):
    """The limit is the largest size still read, as the server counts sizes."""
    first = build_mail(seed=6).raw
    resent = first.replace(b"Message-ID: <FE", b"Message-ID: <XE", 1)  # as long, another e-mail
    assert resent != first
    dovecot.deliver(mailbox.username, first)
    mailbox_fetch(mailbox, trigger="test")
    settings.RECEPTION_MAX_MESSAGE_BYTES = IncomingMessage.objects.get().size
    dovecot.deliver(mailbox.username, resent)

    summary = mailbox_fetch(mailbox, trigger="test")

    assert (summary.seen, summary.duplicates, summary.errors) == (1, 1, {})


def test_the_ledger_never_says_deleted_what_it_did_not_back_up(mailbox, dovecot, sofia):
    """A message someone else removed from the server while the mailbox was Por Activar was
    neither backed up nor deleted by the fetch; only what was backed up is recorded deleted."""
    kept, removed = build_mail(seed=7, number="FE7"), build_mail(seed=8, number="FE8")
    dovecot.deliver_many(mailbox.username, [kept.raw, removed.raw])
    mailbox_fetch(mailbox, trigger="test")
    gone = email.message_from_bytes(removed.raw)["Message-ID"]
    for path in dovecot.message_files(mailbox.username, "INBOX"):
        if email.message_from_bytes(path.read_bytes())["Message-ID"] == gone:
            path.unlink()
    backup_confirm_manually(mailbox, actor=sofia)
    mailbox.refresh_from_db()

    mailbox_fetch(mailbox, trigger="test")
    mailbox_fetch(mailbox, trigger="test")

    backed_up = {message_id(m) for m in backups()}
    for row in IncomingMessage.objects.filter(server_state=ServerState.DELETED):
        assert row.message_id in backed_up
    assert IncomingMessage.objects.filter(server_state=ServerState.DELETED).count() == 1


def _numbered_alike(dovecot, *mailboxes) -> None:
    """The mailboxes' servers number their mail alike: the same POP3 UIDs in each."""
    for mailbox in mailboxes:
        dovecot.reset_user(mailbox.username, uidvalidity=1_700_000_000)


def _other_organizations_mailbox(organization, dovecot, fake_entra):
    """Organization B's POP3 mailbox on the same server, configured as the guide says."""
    address = "recepcion@pacifico.test"
    dovecot.add_user(address)
    guide = fake_entra.configure_like_guide(address)
    data = guide_configuration(guide, dovecot, "pop3", backup_email="respaldo@pacifico.test")
    return mailbox_configure(organization=organization, data=data, source="test")


@pytest.mark.parametrize("other_state", ["kept", "backed_up"])
def test_mailboxes_whose_servers_number_mail_alike_keep_their_ledgers_apart(
    configure_live_mailbox, org_b, dovecot, fake_entra, settings, sofia, other_state
):
    """Another mailbox's rows with the same server keys never make this one's mail look known,
    backed up or deleted, and this one's run never touches them."""
    ours = configure_live_mailbox("pop3")
    other = _other_organizations_mailbox(org_b, dovecot, fake_entra)
    _numbered_alike(dovecot, ours, other)
    if other_state == "backed_up":  # confirmed but Inactivo: backed up, left on the server
        from reception.status import mailbox_set_status

        backup_confirm_manually(other, actor=sofia)
        mailbox_set_status(other, MailboxStatus.INACTIVE, reason="prueba", source="test")
    theirs = [
        build_mail(seed=seed, number=f"FE{seed}", buyer_nit="800197268").raw
        for seed in (11, 12, 13)
    ]
    dovecot.deliver_many(other.username, theirs)
    mailbox_fetch(other, trigger="test")
    their_states = dict(
        IncomingMessage.objects.filter(mailbox=other).values_list("pk", "server_state")
    )
    mail.outbox.clear()
    backup_confirm_manually(ours, actor=sofia)
    ours.refresh_from_db()
    settings.RECEPTION_MAX_MESSAGE_BYTES = 2**20
    large = build_mail(seed=1, number="FE1", pdf_size=2**20).raw
    small = build_mail(seed=2, number="FE2")
    dovecot.deliver_many(ours.username, [large, small.raw])

    summary = mailbox_fetch(ours, trigger="test")

    rows = IncomingMessage.objects.filter(mailbox=ours)
    their_rows = IncomingMessage.objects.filter(mailbox=other)
    # The case at hand: the same server keys in both ledgers.
    assert set(rows.values_list("server_key", flat=True)) < set(
        their_rows.values_list("server_key", flat=True)
    )
    assert (summary.seen, summary.documents, summary.backed_up, summary.deleted) == (2, 1, 1, 1)
    assert rows.get(reason_code="too_large").server_state == ServerState.ON_SERVER
    assert rows.get(outcome="document").server_state == ServerState.DELETED
    assert [message_id(m) for m in backups()] == [email.message_from_bytes(small.raw)["Message-ID"]]
    assert dovecot.message_count(ours.username) == 1  # the oversized one, never backed up
    assert dict(their_rows.values_list("pk", "server_state")) == their_states
    assert dovecot.message_count(other.username) == 3
