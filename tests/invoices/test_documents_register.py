"""documents_register on its own, without reception: parsed e-mails in, documents or reasons out."""

import pytest

from invoices.dian import DEFAULT_LIMITS, parse_message
from invoices.models import DocumentTax, ReceivedDocument
from invoices.services import DocumentItem, RegistrationOutcome, documents_register
from tests.factories.dian import build_mail, make_email

pytestmark = pytest.mark.django_db

BUYER = "900123456"  # org_a


def _item(mail) -> DocumentItem:
    return DocumentItem(parsed=parse_message(mail.raw, limits=DEFAULT_LIMITS))


def test_it_registers_a_document_with_its_taxes_and_says_so(org_a, private_storage_root):
    invoice = build_mail("invoice", seed=1, number="FE1", buyer_nit=BUYER, pdf_size=500)

    [registration] = documents_register(organization=org_a, items=[_item(invoice)])

    assert registration.outcome == RegistrationOutcome.DOCUMENT
    assert registration.document == ReceivedDocument.objects.get(cufe=invoice.cufe)
    assert registration.document.source_message_id is None
    assert DocumentTax.objects.filter(document=registration.document).exists()


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
    assert registration.document is None
    assert not ReceivedDocument.objects.exists()


def test_mail_without_a_dian_document_is_not_dian(org_a, private_storage_root):
    newsletter = make_email(subject="Boletín de novedades", attachments=[])
    item = DocumentItem(parsed=parse_message(newsletter, limits=DEFAULT_LIMITS))

    [registration] = documents_register(organization=org_a, items=[item])

    assert registration.outcome == RegistrationOutcome.NOT_DIAN
    assert registration.document is None
