"""Rows inserted by the thousand get their keys back, within their scope only."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from config.rows import (
    rows_update,
    tables_analyze,
    values_insert,
    values_insert_loaded,
)
from invoices.models import DocumentTax, ReceivedDocument
from organizations.services import organization_add
from reception.models import IncomingMessage
from tests.factories.documents import ReceivedDocumentFactory
from tests.factories.mailboxes import make_mailbox

pytestmark = pytest.mark.django_db


def mailbox_of(nit: str):
    return make_mailbox(organization_add(nit=nit, name=f"Empresa {nit}")[0])


#: The ledger's columns these tests give; every other field takes its default.
NAMES = ("mailbox_id", "server_key", "uid", "size")


def values(mailbox, count: int) -> list[tuple]:
    return [(mailbox.pk, f"imap:INBOX:1:{uid}", uid, uid) for uid in range(1, count + 1)]


def insert(mailbox, count: int) -> list[int]:
    return values_insert(
        IncomingMessage, NAMES, values(mailbox, count), key="server_key", scope={"mailbox": mailbox}
    )


def messages_of(mailbox, count: int) -> list[IncomingMessage]:
    keys = insert(mailbox, count)
    loaded = IncomingMessage.objects.in_bulk(keys)
    return [loaded[key] for key in keys]


def test_each_inserted_row_gets_its_own_primary_key_beyond_one_query_of_keys():
    mailbox = mailbox_of("900373115")

    keys = insert(mailbox, 1_203)  # three reads of the keys: 500, 500 and 203

    stored = dict(IncomingMessage.objects.values_list("pk", "uid"))
    assert len(stored) == 1_203
    assert [stored[key] for key in keys] == list(range(1, 1_204))


def test_the_same_key_in_another_scope_is_not_taken_for_the_new_row():
    mine, theirs = mailbox_of("900373115"), mailbox_of("800197268")
    older = insert(theirs, 3)

    keys = values_insert(
        IncomingMessage, NAMES, values(mine, 3), key="server_key", scope={"mailbox": mine.pk}
    )

    assert set(keys).isdisjoint(older)
    assert set(IncomingMessage.objects.filter(mailbox=mine).values_list("pk", flat=True)) == set(
        keys
    )


def test_a_key_read_back_without_its_scope_is_refused_rather_than_guessed():
    """Read back by key alone, another mailbox's row with the same key would answer too: which
    of the two keys the new row got would depend on the order the database returns them."""
    mine, theirs = mailbox_of("900373115"), mailbox_of("800197268")
    insert(theirs, 1)

    with pytest.raises(ValueError, match="unique within its scope"), transaction.atomic():
        values_insert(IncomingMessage, NAMES, values(mine, 1), key="server_key")


def test_it_refuses_to_read_keys_back_by_a_column_the_database_may_store_differently():
    mailbox = mailbox_of("900373115")
    sent = datetime.datetime(2026, 3, 2, tzinfo=datetime.UTC)

    with pytest.raises(TypeError, match="plain column"), transaction.atomic():
        values_insert(
            IncomingMessage,
            ("mailbox_id", "server_key", "sent_at"),
            [(mailbox.pk, "imap:INBOX:1:1", sent)],
            key="sent_at",
            scope={"mailbox": mailbox},
        )


def test_a_row_breaking_a_unique_constraint_is_refused_as_an_integrity_error():
    mailbox = mailbox_of("900373115")
    insert(mailbox, 2)

    with pytest.raises(IntegrityError), transaction.atomic():
        insert(mailbox, 3)

    assert IncomingMessage.objects.count() == 2


def test_updated_fields_take_each_rows_own_values_nulls_included():
    mailbox = mailbox_of("900373115")
    messages = messages_of(mailbox, 3)
    awkward = 'Asunto "raro"\t{a,b}\\N línea\nsegunda'
    sent = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC)
    for index, message in enumerate(messages):
        message.subject = f"{awkward} {index}"
        message.attempts = index + 7
        message.sent_at = None
        message.reason = "" if index else awkward
    messages[1].sent_at = sent
    untouched = messages_of(mailbox_of("800197268"), 1)

    rows_update(IncomingMessage, ("subject", "attempts", "sent_at", "reason"), messages)

    stored = {
        row.pk: row for row in IncomingMessage.objects.filter(pk__in=[m.pk for m in messages])
    }
    for index, message in enumerate(messages):
        row = stored[message.pk]
        assert row.subject == f"{awkward} {index}"
        assert row.attempts == index + 7
        assert row.reason == ("" if index else awkward)
        assert row.sent_at == (sent if index == 1 else None)
    other = IncomingMessage.objects.get(pk=untouched[0].pk)
    assert (other.subject, other.attempts) == ("", 0)


def test_a_column_set_to_null_on_every_row_is_written():
    mailbox = mailbox_of("900373115")
    messages = messages_of(mailbox, 2)
    IncomingMessage.objects.update(sent_at=datetime.datetime(2026, 3, 2, tzinfo=datetime.UTC))
    for message in messages:
        message.sent_at = None

    rows_update(IncomingMessage, ("sent_at",), messages)

    assert list(IncomingMessage.objects.values_list("sent_at", flat=True)) == [None, None]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner statistics")
def test_analyzing_gives_the_planner_the_rows_just_inserted():
    mailbox = mailbox_of("900373115")
    insert(mailbox, 1_500)

    tables_analyze(IncomingMessage, ReceivedDocument)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE relname = %s", [IncomingMessage._meta.db_table]
        )
        assert cursor.fetchone()[0] == 1_500


def test_rows_given_as_values_store_them_exactly_and_take_the_defaults_for_the_rest():
    """On PostgreSQL the rows stream through COPY, whose text format escapes what it carries."""
    organization = organization_add(nit="900373115", name="Empresa")[0]
    awkward = 'Proveedora "Ñandú"\t\\N; línea\nsegunda \\ barra'
    names = ("organization_id", "document_type", "number", "cufe", "issue_date", "issue_time")
    names += ("supplier_nit", "supplier_name", "buyer_nit", "payable_amount", "warnings")
    base = (organization.pk, "invoice")
    given = (datetime.date(2026, 3, 2), datetime.time(23, 59, 58), "900", awkward, "800")
    rows = [
        (*base, "FE1", "c1", *given, Decimal("1234567890.1234"), [{"message": awkward}]),
        (*base, "FE2", "c2", *given, Decimal("-0.01"), []),
    ]

    keys = values_insert(
        ReceivedDocument, names, rows, key="cufe", scope={"organization": organization}
    )
    tax = ("document_id", "scheme_id", "name", "amount", "taxable_amount")
    values_insert(DocumentTax, tax, [(keys[0], "01", awkward, Decimal("-0.01"), None)])

    first, second = (ReceivedDocument.objects.get(pk=pk) for pk in keys)
    assert (first.number, second.number) == ("FE1", "FE2")
    assert first.supplier_name == awkward
    assert first.issue_time == datetime.time(23, 59, 58)
    assert (first.payable_amount, second.payable_amount) == (
        Decimal("1234567890.1234"),
        Decimal("-0.01"),
    )
    assert (first.warnings, second.warnings) == ([{"message": awkward}], [])
    # Every field not given is as a new object would have it.
    assert first.received_at == second.received_at is not None
    assert (first.currency, first.review_status, first.dian_validated) == ("COP", "pending", False)
    assert (first.tax_exclusive_amount, first.referenced_document_id, first.xml_file.name) == (
        None,
        None,
        "",
    )
    assert list(first.taxes.values_list("name", "amount", "taxable_amount")) == [
        (awkward, Decimal("-0.01"), None)
    ]


def test_keys_of_rows_given_as_values_come_back_in_their_order_within_their_scope():
    mine, theirs = mailbox_of("900373115"), mailbox_of("800197268")
    names = ("mailbox_id", "server_key", "uid")
    values_insert(IncomingMessage, names, [(theirs.pk, "imap:INBOX:1:2", 2)])
    rows = [(mine.pk, f"imap:INBOX:1:{uid}", uid) for uid in (3, 1, 2)]

    keys = values_insert(IncomingMessage, names, rows, key="server_key", scope={"mailbox": mine})

    assert [IncomingMessage.objects.get(pk=pk).uid for pk in keys] == [3, 1, 2]
    assert IncomingMessage.objects.get(pk=keys[2]).mailbox_id == mine.pk
    assert values_insert(IncomingMessage, names, [], key="server_key") == []


def test_rows_given_as_values_name_each_column_once_and_never_the_key():
    mailbox = mailbox_of("900373115")

    for names in (("mailbox_id", "mailbox"), ("id", "mailbox_id")):
        with pytest.raises(ValueError, match="distinct non-key column"):
            values_insert(IncomingMessage, names, [(mailbox.pk, mailbox.pk)])
    assert not IncomingMessage.objects.exists()


def test_updated_fields_of_every_kind_keep_their_exact_values():
    """On PostgreSQL the rows go as JSON: amounts must not pass through a float, and dates,
    times and JSON documents must come back as they were given."""
    organization = organization_add(nit="900373115", name="Empresa")[0]
    documents = ReceivedDocumentFactory.create_batch(2, organization=organization)
    awkward = 'Proveedora "Ñandú"\t{a,b}\\N; línea\nsegunda \\ barra'
    first, second = documents
    # 22 significant digits on PostgreSQL, beyond any float; SQLite keeps decimals as floats.
    exact = "1234567890123456.123456" if connection.vendor == "postgresql" else "12345.123456"
    first.payable_amount = Decimal(exact)
    first.tax_exclusive_amount = None
    first.issue_date = datetime.date(2026, 2, 28)
    first.issue_time = datetime.time(23, 59, 58, 123456)
    first.goods_received_at = datetime.datetime(2026, 3, 2, 10, 0, 1, 5, tzinfo=datetime.UTC)
    first.warnings = [{"code": "x", "message": awkward, "n": 1}]
    first.supplier_name = awkward
    second.payable_amount = Decimal("-0.000001")
    second.warnings = []
    second.referenced_document = first
    names = ("payable_amount", "tax_exclusive_amount", "issue_date", "issue_time")
    names += ("goods_received_at", "warnings", "supplier_name", "referenced_document")

    rows_update(ReceivedDocument, names, documents)

    stored = ReceivedDocument.objects.get(pk=first.pk)
    assert stored.payable_amount == Decimal(exact)
    assert stored.tax_exclusive_amount is None
    assert (stored.issue_date, stored.issue_time) == (first.issue_date, first.issue_time)
    assert stored.goods_received_at == first.goods_received_at
    assert stored.warnings == [{"code": "x", "message": awkward, "n": 1}]
    assert stored.supplier_name == awkward
    other = ReceivedDocument.objects.get(pk=second.pk)
    assert other.payable_amount == Decimal("-0.000001")
    assert (other.warnings, other.referenced_document_id) == ([], first.pk)


LEDGER = ("server_key", "mailbox_id", "uid", "size", "folder", "uidvalidity", "message_id")
LEDGER += ("sender", "subject", "sent_at", "sha256", "raw", "outcome", "reason_code", "reason")
LEDGER += ("server_state", "received_at", "processed_at", "attempts")


def test_whole_rows_come_back_as_objects_with_their_keys_whatever_the_order_of_names():
    mailbox = mailbox_of("900373115")
    now = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC)
    rows = [
        (f"imap:INBOX:1:{uid}", mailbox.pk, uid, uid * 10, "INBOX", 1, "", "", "", None,
         "a" * 64, f"mail/{uid}.eml", "pending", "", "", "on_server", now, None, 0)
        for uid in (2, 1)
    ]  # fmt: skip

    loaded = values_insert_loaded(
        IncomingMessage, LEDGER, rows, key="server_key", scope={"mailbox": mailbox}
    )

    assert [(message.uid, message.size, message.raw.name) for message in loaded] == [
        (2, 20, "mail/2.eml"),
        (1, 10, "mail/1.eml"),
    ]
    for message in loaded:
        stored = IncomingMessage.objects.get(pk=message.pk)
        assert (stored.uid, stored.server_key, stored.received_at) == (
            message.uid,
            message.server_key,
            now,
        )
        assert not message._state.adding


def test_objects_are_only_loaded_from_whole_rows():
    """A field left to its default would be shared by every object (a list, a file)."""
    mailbox = mailbox_of("900373115")

    with pytest.raises(ValueError, match="every field"):
        values_insert_loaded(
            IncomingMessage, ("mailbox_id", "server_key"), [(mailbox.pk, "k")], key="server_key"
        )
    assert not IncomingMessage.objects.exists()
