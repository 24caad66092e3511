"""mailbox_fetch over IMAP against the real Dovecot: every DIAN e-mail becomes one document,
everything else gets a readable reason, and the mail ends up in its folder."""

import datetime
import importlib
import shutil
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from invoices.models import DocumentType, ReceivedDocument
from invoices.services import document_file
from reception.exceptions import MailboxBusy
from reception.fetching import mailbox_fetch
from reception.models import (
    FetchRun,
    FolderState,
    IncomingMessage,
    MailboxStatus,
    MessageOutcome,
    ServerState,
)
from reception.transports.imap import FOLDER_ERRORS, FOLDER_NOT_ELECTRONIC, FOLDER_PROCESSED
from tests.factories.dian import Attachment, build_mail, make_email, make_spec

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailbox(configure_live_mailbox):
    mailbox = configure_live_mailbox("imap")
    assert mailbox.status == MailboxStatus.ACTIVE, mailbox.status_reason
    return mailbox


def folder(dovecot, mailbox, name):
    return dovecot.message_count(mailbox.username, name)


def deliver_invoices(dovecot, mailbox, seeds) -> None:
    """One invoice per seed, numbered FE<seed>, into INBOX."""
    dovecot.deliver_many(mailbox.username, [build_mail(seed=s, number=f"FE{s}").raw for s in seeds])


def test_it_imports_an_invoice_a_credit_note_and_a_debit_note_field_by_field(mailbox, dovecot):
    invoice = build_mail("invoice", seed=1)
    credit = build_mail("credit_note", seed=2)
    debit = build_mail("debit_note", seed=3)
    dovecot.deliver_many(mailbox.username, [invoice.raw, credit.raw, debit.raw])

    summary = mailbox_fetch(mailbox, trigger="test")

    assert (summary.seen, summary.documents, summary.duplicates) == (3, 3, 0)
    assert not summary.errors
    by_cufe = {d.cufe: d for d in ReceivedDocument.objects.all()}
    for built, kind in (
        (invoice, DocumentType.INVOICE),
        (credit, DocumentType.CREDIT_NOTE),
        (debit, DocumentType.DEBIT_NOTE),
    ):
        spec = built.spec
        document = by_cufe[built.cufe]
        assert document.organization == mailbox.organization
        assert document.mailbox == mailbox
        assert document.document_type == kind
        assert document.number == spec.number
        assert document.cufe_scheme == spec.cufe_scheme
        assert document.issue_date == spec.issue_date
        assert document.issue_time == datetime.time(11, 47, 18)
        assert (document.supplier_nit, document.supplier_check_digit) == (
            spec.supplier_nit,
            spec.supplier_dv,
        )
        assert document.supplier_name == spec.supplier_name
        assert (document.buyer_nit, document.buyer_check_digit) == ("900123456", "8")
        assert document.currency == "COP"
        assert document.line_extension_amount == spec.line_extension
        assert document.tax_exclusive_amount == spec.tax_exclusive_amount
        assert document.tax_inclusive_amount == spec.tax_inclusive_amount
        assert document.payable_amount == spec.payable_amount
        assert document.tax_amount == spec.total_tax
        assert document.dian_validated and document.dian_response_code == "02"
        assert not document.is_test_environment
        (tax,) = document.taxes.all()
        assert (tax.scheme_id, tax.name, tax.percent, tax.amount) == (
            "01",
            "IVA",
            Decimal("19.00"),
            Decimal("190000.00"),
        )
        assert document_file(document, "xml").read() == built.xml
        assert document_file(document, "pdf").read() == built.pdf
        message = document.source_message
        assert message.outcome == MessageOutcome.DOCUMENT
        assert message.subject == built.subject
        assert message.message_id == f"<{spec.number}.{spec_seed(built)}@proveedor.example>"
        assert message.server_state == ServerState.MOVED
        assert lf(message.raw.read()) == lf(built.raw)  # IMAP always serves CRLF
        assert len(message.sha256) == 64
    invoice_document = by_cufe[invoice.cufe]
    assert set(invoice_document.notes.values_list("number", flat=True)) == {"NC501", "ND301"}
    assert by_cufe[credit.cufe].referenced_number == "FE1001"
    assert folder(dovecot, mailbox, "INBOX") == 0
    assert folder(dovecot, mailbox, FOLDER_PROCESSED) == 3


def lf(data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n")


def spec_seed(built) -> int:
    return int(built.xml_filename[-12:-4])


def test_a_second_run_on_an_unchanged_mailbox_finds_nothing(mailbox, dovecot):
    dovecot.deliver(mailbox.username, build_mail(seed=1).raw)
    mailbox_fetch(mailbox, trigger="test")
    summary = mailbox_fetch(mailbox, trigger="test")
    assert (summary.seen, summary.documents, summary.moved) == (0, 0, 0)
    assert IncomingMessage.objects.count() == 1
    runs = FetchRun.objects.filter(mailbox=mailbox)
    assert runs.count() == 2 and set(runs.values_list("outcome", flat=True)) == {"ok"}


def test_new_mail_after_a_run_is_fetched_and_only_it(mailbox, dovecot):
    dovecot.deliver(mailbox.username, build_mail(seed=1).raw)
    mailbox_fetch(mailbox, trigger="test")
    dovecot.deliver(mailbox.username, build_mail(seed=2, number="FE1002").raw)
    summary = mailbox_fetch(mailbox, trigger="test")
    assert (summary.seen, summary.documents) == (1, 1)
    assert ReceivedDocument.objects.count() == 2


def test_the_same_cufe_twice_is_a_duplicate_never_a_second_document(mailbox, dovecot):
    built = build_mail(seed=1)
    again = build_mail(seed=1, message_id="<resent@proveedor.example>")
    dovecot.deliver_many(mailbox.username, [built.raw, again.raw])
    summary = mailbox_fetch(mailbox, trigger="test")
    assert (summary.documents, summary.duplicates) == (1, 1)
    duplicate = IncomingMessage.objects.get(outcome=MessageOutcome.DUPLICATE)
    assert built.cufe in duplicate.reason
    assert folder(dovecot, mailbox, FOLDER_PROCESSED) == 2


def test_mail_that_is_not_a_document_or_is_broken_is_explained_and_sorted(mailbox, dovecot):
    not_dian = make_email(subject="Promoción de fin de año", attachments=[])
    other_buyer = build_mail(seed=4, number="FE4", buyer_nit="830003564")
    cufe_differs = build_mail(seed=5, number="FE5", attached_cufe="ab" * 48)
    broken_zip = make_email(
        subject="901019681;SUMINISTROS;FE6;01;Suministros",
        attachments=[Attachment("z.zip", "application/zip", b"PK\x03\x04 not really a zip")],
    )
    good = build_mail(seed=7, number="FE7")
    dovecot.deliver_many(
        mailbox.username, [not_dian, other_buyer.raw, cufe_differs.raw, broken_zip, good.raw]
    )

    summary = mailbox_fetch(mailbox, trigger="test")

    assert (summary.seen, summary.documents, summary.not_dian) == (5, 1, 1)
    assert sum(summary.errors.values()) == 3
    rejected = IncomingMessage.objects.get(subject__contains="FE4")
    assert rejected.outcome == MessageOutcome.REJECTED
    assert "documento no dirigido a esta organización" in rejected.reason
    mismatch = IncomingMessage.objects.get(subject__contains="FE5")
    assert mismatch.outcome == MessageOutcome.ERROR
    assert "no coincide" in mismatch.reason
    assert IncomingMessage.objects.get(subject__contains="FE6").reason
    assert folder(dovecot, mailbox, FOLDER_NOT_ELECTRONIC) == 1
    assert folder(dovecot, mailbox, FOLDER_ERRORS) == 3
    assert folder(dovecot, mailbox, FOLDER_PROCESSED) == 1
    assert folder(dovecot, mailbox, "INBOX") == 0


def test_an_oversized_message_is_recorded_without_downloading_it(mailbox, dovecot, settings):
    settings.RECEPTION_MAX_MESSAGE_BYTES = 20_000
    dovecot.deliver(mailbox.username, build_mail(seed=1, pdf_size=60_000).raw)
    summary = mailbox_fetch(mailbox, trigger="test")
    assert summary.errors == {"too_large": 1}
    message = IncomingMessage.objects.get()
    assert message.outcome == MessageOutcome.ERROR and "MB" in message.reason
    assert not message.raw
    # Never read, so never parsed: no envelope, no attempt.
    assert (message.message_id, message.sender, message.subject, message.sent_at) == (
        "",
        "",
        "",
        None,
    )
    assert message.attempts == 0
    assert folder(dovecot, mailbox, FOLDER_ERRORS) == 1


def test_each_row_is_written_with_its_envelope_whatever_headers_it_lacks_or_overdoes(
    mailbox, dovecot
):
    """An e-mail without Message-ID, From or Subject is recorded with empty ones; overlong
    ones are cut to the 998 characters a header line may hold. Each row says it was decided
    once."""
    bare = b"To: recepcion@comercializadora.example\r\n\r\nSin cabeceras.\r\n"
    long_id = "<" + "a" * 1200 + "@proveedor.example>"
    long_from = "Proveedor " + "b" * 1200 + " <facturacion@proveedor.example>"
    overlong = make_email(
        subject="Boletín", attachments=[], message_id=long_id, from_header=long_from
    )
    dovecot.deliver_many(mailbox.username, [bare, overlong])

    mailbox_fetch(mailbox, trigger="test")

    plain, long = IncomingMessage.objects.order_by("uid")
    assert (plain.message_id, plain.sender, plain.subject, plain.sent_at) == ("", "", "", None)
    assert (long.message_id, long.sender) == (long_id[:998], long_from[:998])
    assert {plain.attempts, long.attempts} == {1}
    assert plain.processed_at is not None and long.processed_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_batch_is_recorded_without_a_savepoint(mailbox, dovecot):
    """The batch's transaction is the fetch's own: a savepoint inside it would only add two
    round trips per batch."""
    deliver_invoices(dovecot, mailbox, range(1, 4))

    with CaptureQueriesContext(connection) as queries:
        summary = mailbox_fetch(mailbox, trigger="test")

    assert summary.documents == 3
    assert not [q for q in queries.captured_queries if "SAVEPOINT" in q["sql"].upper()]


def test_a_run_that_failed_before_moving_is_finished_by_the_next_one(mailbox, dovecot, monkeypatch):
    from reception.transports.imap import ImapSession

    deliver_invoices(dovecot, mailbox, (1, 2))

    def broken_move(self, uids, target):
        raise ConnectionResetError("connection lost while moving")

    monkeypatch.setattr(ImapSession, "move", broken_move)
    with pytest.raises(ConnectionResetError):
        mailbox_fetch(mailbox, trigger="test")
    assert IncomingMessage.objects.filter(server_state=ServerState.ON_SERVER).count() == 2
    assert ReceivedDocument.objects.count() == 2
    assert FetchRun.objects.filter(outcome="failed").count() == 1
    monkeypatch.undo()

    summary = mailbox_fetch(mailbox, trigger="test")

    assert (summary.seen, summary.documents, summary.moved) == (0, 0, 2)
    assert IncomingMessage.objects.count() == 2
    assert ReceivedDocument.objects.count() == 2
    assert folder(dovecot, mailbox, "INBOX") == 0


def test_decided_mail_leaves_inbox_in_groups_and_all_of_it_by_the_end(
    mailbox, dovecot, monkeypatch, settings
):
    """Fewer, larger MOVEs: the server's work per MOVE grows with the size of INBOX."""
    from reception import fetching
    from reception.transports.imap import ImapSession

    settings.RECEPTION_FETCH_BATCH_SIZE = 2
    monkeypatch.setattr(fetching, "MOVE_EVERY", 3)
    deliver_invoices(dovecot, mailbox, range(1, 8))
    real_move = ImapSession.move
    moves = []

    def watched_move(self, uids, target):
        undecided = IncomingMessage.objects.filter(
            mailbox=mailbox, uid__in=uids, outcome=MessageOutcome.PENDING
        )
        moves.append((len(uids), undecided.count()))
        real_move(self, uids, target)

    monkeypatch.setattr(ImapSession, "move", watched_move)
    summary = mailbox_fetch(mailbox, trigger="test")

    # Batches of 2, 2, 2, 1: moved after the second batch is decided, then at the end.
    assert moves == [(4, 0), (3, 0)]
    assert (summary.seen, summary.documents, summary.moved) == (7, 7, 7)
    assert folder(dovecot, mailbox, "INBOX") == 0
    assert folder(dovecot, mailbox, FOLDER_PROCESSED) == 7


def test_a_run_that_grows_the_tables_has_their_statistics_refreshed_as_it_goes(
    mailbox, dovecot, monkeypatch, settings
):
    """Without statistics the planner read the whole organization for each batch's queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reception import fetching

    settings.RECEPTION_FETCH_BATCH_SIZE = 2
    monkeypatch.setattr(fetching, "ANALYZE_AFTER", 2)
    deliver_invoices(dovecot, mailbox, range(1, 9))

    asked = []

    def tables_analyze(*models):
        asked.append(models)
        real_analyze(*models)

    real_analyze = fetching.tables_analyze
    monkeypatch.setattr(fetching, "tables_analyze", tables_analyze)
    with CaptureQueriesContext(connection) as queries:
        summary = mailbox_fetch(mailbox, trigger="test")

    analyzed = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("ANALYZE")]
    assert summary.seen == 8
    # When 2 and then 8 messages are recorded (the threshold counts); on SQLite the refresh
    # itself does nothing.
    assert asked == [(IncomingMessage, ReceivedDocument)] * 2
    if connection.vendor == "postgresql":
        assert analyzed == ['ANALYZE "reception_incomingmessage", "invoices_receiveddocument"'] * 2
    else:
        assert analyzed == []


def test_a_changed_uidvalidity_neither_reimports_nor_loses_mail(mailbox, dovecot):
    built = [build_mail(seed=s, number=f"FE{s}") for s in (1, 2)]
    dovecot.deliver(mailbox.username, built[0].raw)
    mailbox_fetch(mailbox, trigger="test")
    # The server renumbers INBOX (e.g. a restore from backup puts the old mail back).
    before = FolderState.objects.get(mailbox=mailbox).uidvalidity
    dovecot.reset_user(mailbox.username, uidvalidity=before + 1)
    dovecot.deliver_many(mailbox.username, [built[0].raw, built[1].raw])

    summary = mailbox_fetch(mailbox, trigger="test")

    state = FolderState.objects.get(mailbox=mailbox)
    assert state.uidvalidity == before + 1
    assert not state.renumbered  # every message seen: no old row is left to look for
    assert summary.documents == 1
    assert IncomingMessage.objects.count() == 2
    assert ReceivedDocument.objects.count() == 2
    assert folder(dovecot, mailbox, "INBOX") == 0
    assert folder(dovecot, mailbox, FOLDER_PROCESSED) == 2


def test_a_renumbering_seen_part_way_is_finished_by_the_next_run(mailbox, dovecot):
    """The first run after the change stops before the message recorded under its old number:
    the folder stays marked, and the next run still finds that message's row."""
    old, new = (build_mail(seed=s, number=f"FE{s}") for s in (1, 2))
    dovecot.deliver(mailbox.username, old.raw)
    mailbox_fetch(mailbox, trigger="test")
    before = FolderState.objects.get(mailbox=mailbox).uidvalidity
    dovecot.reset_user(mailbox.username, uidvalidity=before + 1)
    dovecot.deliver_many(mailbox.username, [new.raw, old.raw])

    mailbox_fetch(mailbox, trigger="test", max_messages=1)
    assert FolderState.objects.get(mailbox=mailbox).renumbered
    summary = mailbox_fetch(mailbox, trigger="test")

    assert not FolderState.objects.get(mailbox=mailbox).renumbered
    assert (summary.seen, summary.moved) == (0, 1)
    assert IncomingMessage.objects.count() == 2
    assert ReceivedDocument.objects.count() == 2
    assert folder(dovecot, mailbox, "INBOX") == 0


def test_folder_states_from_before_the_mark_start_marked(mailbox):
    """One of them may be in the middle of a renumbering: its next complete run clears it."""
    state = FolderState.objects.create(mailbox=mailbox, folder="Archivo", uidvalidity=7)
    migration = importlib.import_module("reception.migrations.0006_folder_renumbered_marker")

    migration.mark_existing_states(django_apps, None)

    state.refresh_from_db()
    assert state.renumbered


def test_a_folder_never_renumbered_is_not_searched_for_old_numbers(mailbox, dovecot):
    """Looking up each batch's hashes in the ledger is for renumbered folders only."""
    deliver_invoices(dovecot, mailbox, range(1, 4))

    with CaptureQueriesContext(connection) as queries:
        summary = mailbox_fetch(mailbox, trigger="test")

    assert summary.documents == 3
    assert not FolderState.objects.get(mailbox=mailbox).renumbered
    assert not [q for q in queries.captured_queries if '"sha256" IN' in q["sql"]]


def test_it_moves_with_copy_and_expunge_where_move_is_missing(
    configure_live_mailbox, dovecot_without_move
):
    mailbox = configure_live_mailbox("imap", port=dovecot_without_move.ports.imaps)
    dovecot_without_move.add_user(mailbox.username)
    from reception.services import mailbox_check

    mailbox_check(mailbox, source="test")
    dovecot_without_move.deliver(mailbox.username, build_mail(seed=1).raw)
    summary = mailbox_fetch(mailbox, trigger="test")
    assert (summary.documents, summary.moved) == (1, 1)
    assert dovecot_without_move.message_count(mailbox.username, "INBOX") == 0
    assert dovecot_without_move.message_count(mailbox.username, FOLDER_PROCESSED) == 1


def test_a_held_lock_makes_another_fetch_skip(mailbox):
    from reception.locks import MailboxLock

    lock = MailboxLock(mailbox)
    assert lock.acquire()
    try:
        with pytest.raises(MailboxBusy):
            mailbox_fetch(mailbox, trigger="test")
    finally:
        lock.release()
    assert FetchRun.objects.get(mailbox=mailbox).outcome == FetchRun.Outcome.SKIPPED
    mailbox_fetch(mailbox, trigger="test")


def test_a_deleted_folder_is_recreated_by_the_next_fetch(mailbox, dovecot):
    user = dovecot.users[mailbox.username]
    (errors,) = user.maildir.glob(".*Errores")
    shutil.rmtree(errors)
    dovecot.deliver(mailbox.username, make_email(subject="hola", attachments=[]))
    dovecot.deliver(mailbox.username, build_mail(seed=9, buyer_nit="830003564").raw)
    mailbox_fetch(mailbox, trigger="test")
    assert folder(dovecot, mailbox, FOLDER_ERRORS) == 1


def test_a_spec_for_a_test_environment_document_is_flagged(mailbox, dovecot):
    dovecot.deliver(
        mailbox.username, build_mail(seed=1, spec=make_spec(profile_execution_id="2")).raw
    )
    mailbox_fetch(mailbox, trigger="test")
    document = ReceivedDocument.objects.get()
    assert document.is_test_environment
    assert any(w["code"] == "test_environment" for w in document.warnings)


def test_reprocessing_re_registers_a_document_that_was_deleted(mailbox, dovecot):
    from reception.processing import message_reprocess

    built = build_mail(seed=1)
    dovecot.deliver(mailbox.username, built.raw)
    mailbox_fetch(mailbox, trigger="test")
    message = IncomingMessage.objects.get()
    ReceivedDocument.objects.all().delete()

    message = message_reprocess(message)

    assert message.outcome == MessageOutcome.DOCUMENT
    assert ReceivedDocument.objects.get().cufe == built.cufe
    assert message_reprocess(message).documents.count() == 1  # kept, not registered twice
