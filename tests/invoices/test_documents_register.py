"""documents_register on its own, without reception: parsed e-mails in, documents or reasons out."""

import dataclasses
import datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from invoices.dian import DEFAULT_LIMITS, Severity, parse_message
from invoices.dian.checks import BUYER_MISMATCH_REASON
from invoices.dian.types import TaxLine
from invoices.models import DocumentTax, DocumentType, ReceivedDocument
from invoices.services import (
    DocumentItem,
    RegistrationOutcome,
    documents_plan,
    documents_register,
    documents_write,
)
from reception.models import IncomingMessage
from tests.factories.dian import Attachment, TaxSpec, build_mail, make_email, make_spec
from tests.factories.mailboxes import make_mailbox

pytestmark = pytest.mark.django_db

BUYER = "900123456"  # org_a


def _item(mail) -> DocumentItem:
    return DocumentItem(parsed=parse_message(mail.raw, limits=DEFAULT_LIMITS))


def test_it_registers_a_document_with_its_taxes_and_says_so(org_a, private_storage_root):
    invoice = build_mail("invoice", seed=1, number="FE1", buyer_nit=BUYER, pdf_size=500)

    [registration] = documents_register(organization=org_a, items=[_item(invoice)])

    assert registration.outcome == RegistrationOutcome.DOCUMENT
    document = ReceivedDocument.objects.get(cufe=invoice.cufe)
    assert registration.document_id == document.pk
    assert document.source_message_id is None
    assert DocumentTax.objects.filter(document=document).exists()


def test_inside_its_callers_transaction_it_adds_no_savepoint(org_a, private_storage_root):
    """The fetch calls it once per batch inside the batch's transaction: a savepoint there
    would cost two more round trips to the database per batch, and a failure fails the batch
    anyway."""
    invoice = build_mail("invoice", seed=11, number="FE11", buyer_nit=BUYER, pdf_size=500)

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        [registration] = documents_register(organization=org_a, items=[_item(invoice)])

    assert registration.outcome == RegistrationOutcome.DOCUMENT
    assert queries.captured_queries
    assert not [q for q in queries.captured_queries if "SAVEPOINT" in q["sql"].upper()]


def test_a_plan_decides_without_writing_and_its_write_names_each_source(
    org_a, private_storage_root
):
    """The fetch decides a batch before its e-mails' rows exist, writes the rows with those
    decisions, then the documents pointing at them: each document takes its own e-mail's key,
    and every other value stays in its column."""
    mailbox = make_mailbox(org_a)
    first = build_mail("invoice", seed=31, number="FE31", buyer_nit=BUYER, pdf_size=500)
    newsletter = make_email(subject="Boletín", attachments=[])
    second = build_mail("credit_note", seed=32, number="NC32", buyer_nit=BUYER, pdf_size=500)
    items = [
        DocumentItem(parse_message(raw, limits=DEFAULT_LIMITS), mailbox_id=mailbox.pk)
        for raw in (first.raw, newsletter, second.raw)
    ]

    plan = documents_plan(organization=org_a, items=items)

    assert not ReceivedDocument.objects.exists()
    assert [r.outcome for r in plan.registrations] == [
        RegistrationOutcome.DOCUMENT,
        RegistrationOutcome.NOT_DIAN,
        RegistrationOutcome.DOCUMENT,
    ]
    assert all(r.document_id is None for r in plan.registrations)
    sources = [
        IncomingMessage.objects.create(mailbox=mailbox, server_key=f"k{n}").pk for n in range(3)
    ]

    registrations = documents_write(plan, source_message_ids=sources)

    by_cufe = {d.cufe: d for d in ReceivedDocument.objects.all()}
    invoice, note = by_cufe[first.cufe], by_cufe[second.cufe]
    assert [r.document_id for r in registrations] == [invoice.pk, None, note.pk]
    assert (invoice.source_message_id, note.source_message_id) == (sources[0], sources[2])
    assert (invoice.mailbox_id, invoice.organization_id) == (mailbox.pk, org_a.pk)
    assert (invoice.document_type, invoice.type_code, invoice.number) == (
        DocumentType.INVOICE,
        "01",
        "FE31",
    )
    assert (note.document_type, note.number) == (DocumentType.CREDIT_NOTE, "NC32")


def test_the_same_cufe_twice_is_one_document_and_a_duplicate(org_a, private_storage_root):
    invoice = build_mail("invoice", seed=2, number="FE2", buyer_nit=BUYER, pdf_size=500)

    first, again = documents_register(organization=org_a, items=[_item(invoice), _item(invoice)])
    later = documents_register(organization=org_a, items=[_item(invoice)])

    assert [first.outcome, again.outcome, later[0].outcome] == [
        RegistrationOutcome.DOCUMENT,
        RegistrationOutcome.DUPLICATE,
        RegistrationOutcome.DUPLICATE,
    ]
    assert ReceivedDocument.objects.filter(cufe=invoice.cufe).count() == 1


def test_another_buyers_document_is_rejected_with_the_reason(org_b, private_storage_root):
    invoice = build_mail("invoice", seed=3, number="FE3", buyer_nit=BUYER, pdf_size=500)

    [registration] = documents_register(organization=org_b, items=[_item(invoice)])

    assert registration.outcome == RegistrationOutcome.REJECTED
    assert registration.code == "wrong_buyer"
    assert registration.document_id is None
    assert not ReceivedDocument.objects.exists()


def test_mail_without_a_dian_document_is_not_dian(org_a, private_storage_root):
    newsletter = make_email(subject="Boletín de novedades", attachments=[])
    item = DocumentItem(parsed=parse_message(newsletter, limits=DEFAULT_LIMITS))

    [registration] = documents_register(organization=org_a, items=[item])

    assert registration.outcome == RegistrationOutcome.NOT_DIAN
    assert registration.document_id is None


# --- What is kept of a document, field by field ------------------------------------------------


def _replace_facts(item: DocumentItem, **changes) -> DocumentItem:
    """The same parsed e-mail with some facts as another issuer's XML would give them."""
    parsed = item.parsed
    facts = dataclasses.replace(parsed.facts, **changes)
    return dataclasses.replace(item, parsed=dataclasses.replace(parsed, facts=facts))


def test_a_document_keeps_every_fact_of_its_xml_and_where_it_came_from(org_a, private_storage_root):
    mailbox = make_mailbox(org_a)
    message = IncomingMessage.objects.create(mailbox=mailbox, server_key="k1")
    spec = make_spec(
        number="FE10",
        buyer_nit=BUYER,
        profile_execution_id="2",
        currency="USD",
        taxes=(
            TaxSpec("01", "IVA", Decimal("19.00"), Decimal("1000000.00")),
            TaxSpec("04", "INC", Decimal("8.00"), Decimal("1000000.00")),
        ),
        withholdings=(TaxSpec("06", "ReteRenta", Decimal("2.50"), Decimal("1000000.00")),),
    )
    invoice = build_mail("invoice", seed=10, spec=spec, pdf_size=500, response_code="02")
    item = dataclasses.replace(_item(invoice), mailbox_id=mailbox.pk, source_message_id=message.pk)

    [registration] = documents_register(organization=org_a, items=[item])

    document = ReceivedDocument.objects.get()
    assert registration.document_id == document.pk
    assert (document.mailbox_id, document.source_message_id) == (mailbox.pk, message.pk)
    assert (document.document_type, document.type_code) == (DocumentType.INVOICE, "01")
    assert (document.number, document.cufe, document.cufe_scheme) == (
        "FE10",
        invoice.cufe,
        spec.cufe_scheme,
    )
    assert (document.issue_date, document.issue_time) == (
        spec.issue_date,
        datetime.time(11, 47, 18),
    )
    assert (document.supplier_nit, document.supplier_check_digit, document.supplier_name) == (
        spec.supplier_nit,
        spec.supplier_dv,
        spec.supplier_name,
    )
    assert (document.buyer_nit, document.buyer_check_digit, document.buyer_name) == (
        BUYER,
        "8",
        spec.buyer_name,
    )
    assert document.currency == "USD"
    assert (
        document.line_extension_amount,
        document.tax_exclusive_amount,
        document.tax_inclusive_amount,
        document.payable_amount,
    ) == (
        spec.line_extension,
        spec.tax_exclusive_amount,
        spec.tax_inclusive_amount,
        spec.payable_amount,
    )
    assert document.tax_amount == Decimal("270000.00")  # IVA and INC, not the withholding
    assert document.is_test_environment
    assert document.dian_validated and document.dian_response_code == "02"
    assert (document.referenced_number, document.referenced_cufe) == ("", "")
    assert document.warnings == [
        {"code": check.code, "severity": str(check.severity), "message": check.message}
        for check in item.parsed.checks
    ]
    taxes = {
        (t.scheme_id, t.name, t.percent, t.taxable_amount, t.amount, t.is_withholding)
        for t in document.taxes.all()
    }
    million = Decimal("1000000.00")
    assert taxes == {
        ("01", "IVA", Decimal("19.00"), million, Decimal("190000.00"), False),
        ("04", "INC", Decimal("8.00"), million, Decimal("80000.00"), False),
        ("06", "ReteRenta", Decimal("2.50"), million, Decimal("25000.00"), True),
    }


def test_a_document_without_the_dian_validation_is_kept_unvalidated(org_a, private_storage_root):
    invoice = build_mail("invoice", seed=11, number="FE11", buyer_nit=BUYER, with_response=False)

    [registration] = documents_register(organization=org_a, items=[_item(invoice)])

    document = ReceivedDocument.objects.get(pk=registration.document_id)
    assert not document.dian_validated and document.dian_response_code == ""
    assert "no_dian_validation" in [w["code"] for w in document.warnings]


def test_a_note_keeps_the_invoice_it_names(org_a, private_storage_root):
    note = build_mail("credit_note", seed=12, number="NC12", buyer_nit=BUYER, pdf_size=500)

    [registration] = documents_register(organization=org_a, items=[_item(note)])

    document = ReceivedDocument.objects.get(pk=registration.document_id)
    assert document.document_type == DocumentType.CREDIT_NOTE
    assert (document.referenced_number, document.referenced_cufe) == (
        note.spec.referenced_number,
        note.spec.referenced_cufe,
    )


def test_facts_an_xml_leaves_out_are_kept_empty_never_made_up(org_a, private_storage_root):
    """An issuer's XML may omit a name, a check digit, the currency, a tax's name or amount:
    the document says nothing there (or the DIAN default) rather than a placeholder."""
    note = build_mail("credit_note", seed=13, number="NC13", buyer_nit=BUYER, pdf_size=500)
    item = _item(note)
    facts = item.parsed.facts
    item = _replace_facts(
        item,
        cufe_scheme=None,
        supplier=dataclasses.replace(facts.supplier, nit=None, check_digit=None, name=None),
        buyer=dataclasses.replace(facts.buyer, check_digit=None, name=None),
        currency=None,
        dian_validation=dataclasses.replace(facts.dian_validation, response_code=None),
        billing_references=(
            dataclasses.replace(facts.billing_references[0], number=None, cufe=None),
        ),
        taxes=(
            TaxLine("04", None, Decimal("8.00"), Decimal("100.00"), None),
            TaxLine("ZZ", None, None, None, Decimal("5.00")),
        ),
        withholdings=(),
    )

    [registration] = documents_register(organization=org_a, items=[item])

    document = ReceivedDocument.objects.get(pk=registration.document_id)
    assert (document.cufe_scheme, document.dian_response_code) == ("", "")
    assert (document.supplier_nit, document.supplier_check_digit, document.supplier_name) == (
        "",
        "",
        "",
    )
    assert (document.buyer_nit, document.buyer_check_digit, document.buyer_name) == (BUYER, "", "")
    assert document.currency == "COP"
    assert (document.referenced_number, document.referenced_cufe) == ("", "")
    assert document.tax_amount == Decimal("5.00")
    taxes = {
        (t.scheme_id, t.name, t.percent, t.taxable_amount, t.amount) for t in document.taxes.all()
    }
    assert taxes == {
        ("04", "INC", Decimal("8.00"), Decimal("100.00"), Decimal("0.00")),
        ("ZZ", "", None, None, Decimal("5.00")),
    }


@pytest.mark.parametrize(
    ("issued", "expected"),
    [
        (datetime.time(16, 47, 18, tzinfo=datetime.UTC), datetime.time(11, 47, 18)),
        (datetime.time(11, 47, 18), datetime.time(11, 47, 18)),
        (None, None),
    ],
    ids=["utc", "no-offset", "no-time"],
)
def test_the_issue_time_is_kept_on_bogotas_clock(org_a, private_storage_root, issued, expected):
    """Whatever time zone the process that registers it happens to be in."""
    invoice = build_mail("invoice", seed=14, number="FE14", buyer_nit=BUYER, pdf_size=500)
    item = _replace_facts(_item(invoice), issue_time=issued)

    with timezone.override(datetime.UTC):
        [registration] = documents_register(organization=org_a, items=[item])

    assert ReceivedDocument.objects.get(pk=registration.document_id).issue_time == expected


# --- The answer for each e-mail: outcome, code and reason --------------------------------------


def test_a_registered_document_is_answered_ok_with_its_number(org_a, private_storage_root):
    invoice = build_mail("invoice", seed=15, number="FE15", buyer_nit=BUYER, pdf_size=500)

    [registration] = documents_register(organization=org_a, items=[_item(invoice)])

    assert (registration.code, registration.reason) == ("ok", "Documento FE15 registrado")


def test_a_duplicate_names_the_cufe_and_the_document_that_holds_it(org_a, private_storage_root):
    invoice = build_mail("invoice", seed=16, number="FE16", buyer_nit=BUYER, pdf_size=500)
    documents_register(organization=org_a, items=[_item(invoice)])

    [again] = documents_register(organization=org_a, items=[_item(invoice)])

    assert (again.outcome, again.code) == (RegistrationOutcome.DUPLICATE, "duplicate")
    assert again.reason == (
        f"Duplicado: el CUFE {invoice.cufe} ya está registrado (documento FE16)"
    )


def test_a_wrong_buyer_is_explained_with_both_nits(org_b, private_storage_root):
    invoice = build_mail("invoice", seed=17, number="FE17", buyer_nit=BUYER, pdf_size=500)
    no_buyer = _replace_facts(
        _item(invoice), buyer=dataclasses.replace(_item(invoice).parsed.facts.buyer, nit=None)
    )

    wrong, missing = documents_register(organization=org_b, items=[_item(invoice), no_buyer])

    assert wrong.reason == (
        f"{BUYER_MISMATCH_REASON}: el comprador es {BUYER} y la organización {org_b.nit}"
    )
    assert (missing.outcome, missing.code) == (RegistrationOutcome.REJECTED, "wrong_buyer")
    assert missing.reason == (
        f"{BUYER_MISMATCH_REASON}: el comprador es ? y la organización {org_b.nit}"
    )
    assert not ReceivedDocument.objects.exists()


def test_a_document_whose_container_contradicts_it_is_an_error_with_every_finding(
    org_a, private_storage_root
):
    invoice = build_mail(
        "invoice",
        seed=18,
        number="FE18",
        buyer_nit=BUYER,
        pdf_size=500,
        attached_cufe="ab" * 48,
        attached_number="FE99",
    )
    item = _item(invoice)
    errors = [check for check in item.parsed.checks if check.severity == Severity.ERROR]
    assert [check.code for check in errors] == ["cufe_mismatch", "attached_mismatch"]

    [registration] = documents_register(organization=org_a, items=[item])

    assert (registration.outcome, registration.code) == (RegistrationOutcome.ERROR, "cufe_mismatch")
    assert registration.reason == "; ".join(check.message for check in errors)
    assert registration.document_id is None
    assert not ReceivedDocument.objects.exists()


def test_warnings_alone_do_not_stop_a_document(org_a, private_storage_root):
    invoice = build_mail("invoice", seed=19, number="FE19", buyer_nit=BUYER, with_response=False)
    item = _item(invoice)
    assert item.parsed.checks and all(c.severity == Severity.WARNING for c in item.parsed.checks)

    [registration] = documents_register(organization=org_a, items=[item])

    assert registration.outcome == RegistrationOutcome.DOCUMENT


@pytest.mark.parametrize(
    ("missing", "field"),
    [("issue_date", "fecha de emisión"), ("payable_amount", "total a pagar")],
)
def test_a_document_without_its_date_or_total_is_incomplete(
    org_a, private_storage_root, missing, field
):
    invoice = build_mail("invoice", seed=20, number="FE20", buyer_nit=BUYER, pdf_size=500)
    item = _replace_facts(_item(invoice), **{missing: None})

    [registration] = documents_register(organization=org_a, items=[item])

    assert (registration.outcome, registration.code) == (
        RegistrationOutcome.ERROR,
        "xml_incomplete",
    )
    assert registration.reason == f"El documento no trae {field}"
    assert not ReceivedDocument.objects.exists()


def test_an_e_mail_that_could_not_be_read_is_an_error_with_the_parsers_reason(
    org_a, private_storage_root
):
    broken = make_email(
        subject="901019681;SUMINISTROS;FE21;01;Suministros",
        attachments=[Attachment("z.zip", "application/zip", b"PK\x03\x04 not really a zip")],
    )
    newsletter = make_email(subject="Boletín", attachments=[])
    items = [
        DocumentItem(parsed=parse_message(raw, limits=DEFAULT_LIMITS))
        for raw in (broken, newsletter)
    ]

    error, not_dian = documents_register(organization=org_a, items=items)

    assert (error.outcome, error.code) == (RegistrationOutcome.ERROR, "zip_invalid")
    assert error.reason == items[0].parsed.reason and error.reason
    assert (not_dian.outcome, not_dian.code) == (RegistrationOutcome.NOT_DIAN, "not_dian")
    assert not_dian.reason == items[1].parsed.reason and not_dian.reason


def test_another_organizations_document_never_decides_this_ones(org_a, org_b, private_storage_root):
    """Even with the same CUFE (a reused or forged one): each organization has its own
    documents, its own duplicates and its own taxes."""
    cufe = "c" * 96
    theirs = build_mail("invoice", seed=22, number="FE22", buyer_nit="800197268", cufe=cufe)
    ours = build_mail(
        "invoice",
        seed=23,
        number="FE23",
        buyer_nit=BUYER,
        cufe=cufe,
        taxes=(TaxSpec("04", "INC", Decimal("8.00"), Decimal("1000000.00")),),
    )
    [other] = documents_register(organization=org_b, items=[_item(theirs)])

    [registration] = documents_register(organization=org_a, items=[_item(ours)])

    assert registration.outcome == RegistrationOutcome.DOCUMENT, registration.reason
    document = ReceivedDocument.objects.get(organization=org_a)
    assert registration.document_id == document.pk != other.document_id
    assert [t.scheme_id for t in document.taxes.all()] == ["04"]
    assert [t.scheme_id for t in DocumentTax.objects.filter(document=other.document_id)] == ["01"]
