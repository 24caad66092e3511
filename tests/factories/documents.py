"""Received documents as documents_register leaves them, with their taxes and stored files.

Files go to the private storage; tests that store any use the `private_storage_root` fixture
(tests/invoices/conftest.py) so nothing lands outside a temporary directory.
"""

from __future__ import annotations

import datetime
import hashlib
from decimal import Decimal
from typing import Any

import factory
from django.core.files.base import ContentFile
from factory.django import DjangoModelFactory

from invoices.models import DocumentTax, DocumentType, ReceivedDocument, ReviewStatus
from reception.models import IncomingMessage, MessageOutcome

# The smallest PDF a viewer opens: one empty page.
PDF_BYTES = b"""%PDF-1.4
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj
trailer << /Root 1 0 R >>
%%EOF
"""

INVOICE_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
<cbc:ID>{number}</cbc:ID><cbc:UUID schemeName="CUFE-SHA384">{cufe}</cbc:UUID>
<cbc:PayableAmount currencyID="COP">1190000.00</cbc:PayableAmount></Invoice>"""

ATTACHED_XML = """<?xml version="1.0" encoding="UTF-8"?>
<AttachedDocument xmlns="urn:oasis:names:specification:ubl:schema:xsd:AttachedDocument-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
<cbc:ParentDocumentID>{number}</cbc:ParentDocumentID>
<cac:Attachment><cac:ExternalReference><cbc:MimeCode>text/xml</cbc:MimeCode>
<cbc:Description><![CDATA[{invoice}]]></cbc:Description>
</cac:ExternalReference></cac:Attachment></AttachedDocument>"""


def attached_document_xml(number: str, cufe: str) -> bytes:
    invoice = INVOICE_XML.format(number=number, cufe=cufe)
    return ATTACHED_XML.format(number=number, invoice=invoice).encode()


def eml_bytes(*, subject: str, sender: str = "facturacion@proveedora.example.test") -> bytes:
    return (
        f"From: {sender}\r\nTo: recepcion@example.test\r\nSubject: {subject}\r\n"
        "Date: Mon, 02 Mar 2026 10:00:00 -0500\r\nMessage-ID: <1@proveedora.example.test>\r\n"
        "\r\nAdjunto factura.\r\n"
    ).encode()


class IncomingMessageFactory(DjangoModelFactory):
    """Needs `mailbox` (tests/factories/mailboxes.make_mailbox)."""

    class Meta:
        model = IncomingMessage

    server_key = factory.Sequence(lambda n: f"INBOX:1:{n}")
    message_id = factory.Sequence(lambda n: f"<{n}@proveedora.example.test>")
    sender = "Proveedora Andina <facturacion@proveedora.example.test>"
    subject = factory.Sequence(lambda n: f"900555111;PROVEEDORA ANDINA S.A.S.;FE{n};01;PROVEEDORA")
    sent_at = factory.LazyFunction(
        lambda: datetime.datetime(2026, 3, 2, 15, 0, tzinfo=datetime.UTC)
    )
    outcome = MessageOutcome.DOCUMENT
    reason = "Documento registrado"

    class Params:
        with_raw = factory.Trait(
            raw=factory.LazyAttribute(
                lambda message: ContentFile(eml_bytes(subject=message.subject), name="mail.eml")
            )
        )


class ReceivedDocumentFactory(DjangoModelFactory):
    """An invoice of organization `organization` (required) from one supplier, validated by DIAN.

    `with_files=True` stores a PDF and an AttachedDocument XML in the private storage.
    """

    class Meta:
        model = ReceivedDocument
        skip_postgeneration_save = True

    document_type = DocumentType.INVOICE
    type_code = "01"
    number = factory.Sequence(lambda n: f"FE{1000 + n}")
    cufe = factory.Sequence(lambda n: hashlib.sha384(f"document-{n}".encode()).hexdigest())
    cufe_scheme = "CUFE-SHA384"
    issue_date = datetime.date(2026, 3, 2)
    issue_time = datetime.time(10, 0)
    supplier_nit = "900555111"
    supplier_check_digit = "4"
    supplier_name = "Proveedora Andina S.A.S."
    buyer_nit = factory.LazyAttribute(lambda document: document.organization.nit)
    buyer_check_digit = factory.LazyAttribute(
        lambda document: str(document.organization.check_digit)
    )
    buyer_name = factory.LazyAttribute(lambda document: document.organization.name)
    currency = "COP"
    line_extension_amount = Decimal("1000000.00")
    tax_exclusive_amount = Decimal("1000000.00")
    tax_inclusive_amount = Decimal("1190000.00")
    payable_amount = Decimal("1190000.00")
    tax_amount = Decimal("190000.00")
    dian_validated = True
    dian_response_code = "02"
    review_status = ReviewStatus.PENDING

    class Params:
        credit_note = factory.Trait(
            document_type=DocumentType.CREDIT_NOTE, type_code="91", cufe_scheme="CUDE-SHA384"
        )
        debit_note = factory.Trait(
            document_type=DocumentType.DEBIT_NOTE, type_code="92", cufe_scheme="CUDE-SHA384"
        )

    @factory.post_generation
    def with_files(document: ReceivedDocument, create: bool, extracted: Any, **kwargs: Any) -> None:
        if not (create and extracted):
            return
        document.pdf_file.save("documento.pdf", ContentFile(PDF_BYTES), save=False)
        document.xml_file.save(
            "documento.xml",
            ContentFile(attached_document_xml(document.number, document.cufe)),
            save=False,
        )
        document.save(update_fields=["pdf_file", "xml_file"])


class DocumentTaxFactory(DjangoModelFactory):
    """IVA 19 % on one million pesos unless told otherwise."""

    class Meta:
        model = DocumentTax

    scheme_id = "01"
    name = "IVA"
    percent = Decimal("19.00")
    taxable_amount = Decimal("1000000.00")
    amount = Decimal("190000.00")
    is_withholding = False
