"""messages_process on whole batches: notes find their invoice whichever arrived first (the
links are made a batch at a time), duplicates inside one batch, files written once."""

import pytest
from django.core.files.base import ContentFile

from invoices.models import DocumentType, ReceivedDocument
from invoices.services import document_file
from reception.models import IncomingMessage, MessageOutcome
from reception.processing import RecordedMessage, messages_process
from tests.factories.dian import build_mail, make_spec
from tests.factories.mailboxes import make_mailbox

pytestmark = pytest.mark.django_db

BUYER = "900123456"  # org_a


def _invoice(number: str, seed: int):
    return build_mail("invoice", seed=seed, number=number, buyer_nit=BUYER, pdf_size=500)


def _note(invoice, number: str, seed: int, *, by_cufe: bool = True):
    spec = make_spec(
        "credit_note",
        number=number,
        buyer_nit=BUYER,
        referenced_number=invoice.spec.number,
        referenced_cufe=invoice.cufe if by_cufe else None,
    )
    return build_mail("credit_note", seed=seed, spec=spec, pdf_size=500)


def _process(mailbox, mails, start: int = 0):
    recorded = []
    for offset, mail in enumerate(mails):
        row = IncomingMessage.objects.create(mailbox=mailbox, server_key=f"k{start + offset}")
        row.raw.save(f"k{start + offset}.eml", ContentFile(mail.raw))
        recorded.append(RecordedMessage(row, mail.raw))
    return messages_process(mailbox, recorded)


def _referenced(number: str):
    return ReceivedDocument.objects.get(number=number).referenced_document


def test_it_links_notes_before_after_and_beside_their_invoice(org_a, private_storage_root):
    mailbox = make_mailbox(org_a)
    early, late, beside = _invoice("FE1", 1), _invoice("FE2", 2), _invoice("FE3", 3)
    by_number = _invoice("FE4", 4)
    _process(mailbox, [early, by_number])
    _process(
        mailbox,
        [
            _note(early, "NC1", 11),
            _note(late, "NC2", 12),
            _note(beside, "NC3", 13),
            beside,
            _note(by_number, "NC4", 14, by_cufe=False),
        ],
        start=10,
    )
    assert _referenced("NC2") is None  # its invoice has not arrived yet
    _process(mailbox, [late], start=20)

    assert _referenced("NC1").number == "FE1"
    assert _referenced("NC2").number == "FE2"
    assert _referenced("NC3").number == "FE3"
    assert _referenced("NC4").number == "FE4"
    assert not ReceivedDocument.objects.filter(
        document_type=DocumentType.INVOICE, referenced_document__isnull=False
    ).exists()


def test_it_registers_a_cufe_once_within_one_batch_and_stores_its_files(
    org_a, private_storage_root
):
    mailbox = make_mailbox(org_a)
    invoice = _invoice("FE9", 9)
    again = build_mail(
        "invoice", seed=9, number="FE9", buyer_nit=BUYER, pdf_size=500, message_id="<again@x>"
    )
    decided = _process(mailbox, [invoice, again])

    assert [m.outcome for m in decided] == [MessageOutcome.DOCUMENT, MessageOutcome.DUPLICATE]
    document = ReceivedDocument.objects.get()
    # Registering writes no file: the XML and PDF come out of the stored e-mail on first use.
    assert not document.xml_file and not document.pdf_file
    assert sorted(path.suffix for path in private_storage_root.rglob("*.*")) == [".eml", ".eml"]
    assert document_file(document, "pdf").read() == invoice.pdf
    document = ReceivedDocument.objects.get()
    assert (private_storage_root / document.xml_file.name).read_bytes() == invoice.xml
    assert (private_storage_root / document.pdf_file.name).read_bytes() == invoice.pdf
    saved = IncomingMessage.objects.get(pk=decided[1].pk)
    assert saved.outcome == MessageOutcome.DUPLICATE and saved.attempts == 1
    assert saved.message_id == "<again@x>" and "FE9" in saved.reason


def test_a_document_serves_no_file_from_an_e_mail_that_is_not_its_own(org_a, private_storage_root):
    mailbox = make_mailbox(org_a)
    _process(mailbox, [_invoice("FE7", 7)])
    ReceivedDocument.objects.update(cufe="f" * 96)
    document = ReceivedDocument.objects.get()

    assert document_file(document, "xml") is None
    assert document_file(document, "pdf") is None
    assert not ReceivedDocument.objects.get().xml_file


def test_a_note_naming_its_invoice_by_number_only_is_linked_when_the_invoice_arrives(
    org_a, private_storage_root
):
    mailbox = make_mailbox(org_a)
    invoice = _invoice("FE5", 5)
    _process(mailbox, [_note(invoice, "NC5", 15, by_cufe=False)])
    assert _referenced("NC5") is None

    _process(mailbox, [invoice], start=10)

    assert _referenced("NC5").number == "FE5"


def test_an_invoice_of_another_supplier_with_the_same_number_is_not_the_notes(
    org_a, private_storage_root
):
    """A note names its invoice by CUFE; numbers repeat from one supplier to the next."""
    mailbox = make_mailbox(org_a)
    theirs = _invoice("FE6", 6)
    other_supplier = build_mail(
        "invoice", seed=7, number="FE6", buyer_nit=BUYER, supplier_nit="860001022", pdf_size=500
    )
    assert other_supplier.cufe != theirs.cufe
    _process(mailbox, [_note(theirs, "NC6", 16)])

    _process(mailbox, [other_supplier], start=10)
    assert _referenced("NC6") is None
    _process(mailbox, [theirs], start=20)

    assert _referenced("NC6").cufe == theirs.cufe


def _citing(number: str, seed: int, cited):
    return build_mail(
        "invoice",
        seed=seed,
        number=number,
        buyer_nit=BUYER,
        referenced_number=cited.spec.number,
        referenced_cufe=cited.cufe,
        pdf_size=500,
    )


def test_an_invoice_that_cites_another_invoice_is_never_made_its_note(org_a, private_storage_root):
    """Whether the cited invoice came before or after it: only notes are linked."""
    mailbox = make_mailbox(org_a)
    earlier, later = _invoice("FE8", 8), _invoice("FE10", 10)
    _process(mailbox, [earlier])
    _process(mailbox, [_citing("FE9", 9, earlier), _citing("FE11", 11, later)], start=10)
    _process(mailbox, [later], start=20)

    assert ReceivedDocument.objects.get(number="FE9").referenced_cufe == earlier.cufe
    assert ReceivedDocument.objects.get(number="FE11").referenced_cufe == later.cufe
    assert not ReceivedDocument.objects.filter(referenced_document__isnull=False).exists()


def test_a_note_that_writes_its_invoices_number_differently_is_linked_by_its_cufe(
    org_a, private_storage_root
):
    """Issuers write a referenced number their own way ("FE-12" for FE12); the CUFE is exact."""
    mailbox = make_mailbox(org_a)
    invoice = _invoice("FE12", 12)
    spec = make_spec(
        "credit_note",
        number="NC12",
        buyer_nit=BUYER,
        referenced_number="FE-12",
        referenced_cufe=invoice.cufe,
    )
    _process(mailbox, [invoice])

    _process(mailbox, [build_mail("credit_note", seed=22, spec=spec, pdf_size=500)], start=10)

    assert _referenced("NC12").number == "FE12"
