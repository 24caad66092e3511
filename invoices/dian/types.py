"""Plain, picklable results of parsing a DIAN e-mail; no behaviour beyond small derived values."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Outcome(StrEnum):
    """Stable machine code of what happened to one e-mail."""

    OK = "ok"
    NOT_DIAN = "not_dian"
    MALFORMED_MIME = "malformed_mime"
    TOO_LARGE = "too_large"
    ZIP_INVALID = "zip_invalid"
    ZIP_UNSAFE = "zip_unsafe"
    XML_UNSAFE = "xml_unsafe"
    XML_INVALID = "xml_invalid"
    UNEXPECTED = "unexpected"


class DocumentType(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    DEBIT_NOTE = "debit_note"


class Severity(StrEnum):
    """`error`: the document's integrity is in doubt; `warning`: worth showing, not blocking."""

    ERROR = "error"
    WARNING = "warning"


class _Plain:
    """Pickled as its constructor's arguments.

    The parse pool pickles every answer. A slots dataclass's own pickling looks its fields up
    again for each object: with ten such objects per e-mail, that cost half again as much.
    """

    __slots__ = ()

    def __reduce__(self) -> tuple:
        return (type(self), tuple([getattr(self, name) for name in self.__slots__]))


@dataclass(frozen=True, slots=True)
class Limits(_Plain):
    """Bounds that keep one hostile e-mail from exhausting memory or CPU."""

    max_message_bytes: int = 32 * 1024 * 1024
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_mime_parts: int = 64
    max_mime_depth: int = 8
    max_zip_entries: int = 64
    max_zip_depth: int = 2
    max_zip_total_bytes: int = 64 * 1024 * 1024
    max_zip_entry_bytes: int = 32 * 1024 * 1024
    max_zip_ratio: int = 200
    # Small entries may compress far better than max_zip_ratio without being a bomb.
    zip_ratio_floor_bytes: int = 1024 * 1024
    max_xml_bytes: int = 16 * 1024 * 1024


DEFAULT_LIMITS = Limits()


class DianError(Exception):
    """Why an e-mail or attachment cannot become a document; carries the outcome and its reason."""

    def __init__(self, outcome: Outcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Envelope(_Plain):
    """The e-mail headers a person needs to recognise the message, decoded leniently."""

    message_id: str | None
    from_header: str | None
    from_address: str | None
    subject: str | None
    date: dt.datetime | None
    size: int


@dataclass(frozen=True, slots=True)
class SubjectFields(_Plain):
    """The DIAN subject: NIT;Nombre;Número;Código tipo de documento;Nombre comercial[;Línea]."""

    supplier_nit: str
    supplier_name: str
    document_number: str
    document_type_code: str
    commercial_name: str | None
    business_line: str | None


@dataclass(frozen=True, slots=True)
class Party(_Plain):
    """A supplier or buyer; `nit` holds the identification digits (any id type, see `id_type`)."""

    nit: str | None
    check_digit: str | None
    id_type: str | None
    name: str | None


@dataclass(frozen=True, slots=True)
class TaxLine(_Plain):
    """One TaxSubtotal (or withholding subtotal) of the document, as declared."""

    scheme_id: str
    scheme_name: str | None
    percent: Decimal | None
    taxable_amount: Decimal | None
    tax_amount: Decimal | None


@dataclass(frozen=True, slots=True)
class DocumentReference(_Plain):
    """The invoice a note (or an invoice) refers to in cac:BillingReference."""

    number: str | None
    cufe: str | None
    cufe_scheme: str | None
    issue_date: dt.date | None


@dataclass(frozen=True, slots=True)
class DianValidation(_Plain):
    """DIAN's ApplicationResponse for the document; ResponseCode 02 means validated."""

    response_code: str | None
    description: str | None
    document_cufe: str | None
    validation_result_code: str | None
    issue_date: dt.date | None
    issue_time: dt.time | None

    @property
    def validated(self) -> bool:
        return self.response_code == "02"


@dataclass(frozen=True, slots=True)
class DocumentFacts(_Plain):
    """Everything the reception keeps from one Invoice / CreditNote / DebitNote."""

    document_type: DocumentType
    type_code: str
    number: str
    cufe: str
    cufe_scheme: str | None
    issue_date: dt.date | None
    issue_time: dt.time | None
    profile_execution_id: str | None
    customization_id: str | None
    supplier: Party
    buyer: Party
    currency: str | None
    line_extension_amount: Decimal | None
    tax_exclusive_amount: Decimal | None
    tax_inclusive_amount: Decimal | None
    allowance_total_amount: Decimal | None
    charge_total_amount: Decimal | None
    prepaid_amount: Decimal | None
    payable_amount: Decimal | None
    taxes: tuple[TaxLine, ...]
    withholdings: tuple[TaxLine, ...]
    billing_references: tuple[DocumentReference, ...]
    dian_validation: DianValidation | None
    attached_document_id: str | None
    attached_cufe: str | None
    attached_parent_document_id: str | None
    attached_sender: Party | None
    attached_receiver: Party | None

    @property
    def is_test_environment(self) -> bool:
        return self.profile_execution_id == "2"

    @property
    def is_dian_validated(self) -> bool:
        return self.dian_validation is not None and self.dian_validation.validated

    @property
    def issued_at(self) -> dt.datetime | None:
        """Issue date and time together; tz-aware when the time carried an offset."""
        if self.issue_date is None:
            return None
        return dt.datetime.combine(self.issue_date, self.issue_time or dt.time(0, 0))

    @property
    def referenced_invoice(self) -> DocumentReference | None:
        return self.billing_references[0] if self.billing_references else None

    def tax_total(self, scheme_id: str) -> Decimal:
        """Sum of the declared tax amounts of one scheme (01 IVA, 04 INC, 03 ICA, ...)."""
        return sum(
            (t.tax_amount for t in self.taxes if t.scheme_id == scheme_id and t.tax_amount),
            Decimal(0),
        )


@dataclass(frozen=True, slots=True)
class Check(_Plain):
    """A finding shown to the accountant; `code` is stable, `message` is Spanish."""

    code: str
    severity: Severity
    message: str


@dataclass(frozen=True, slots=True)
class ParsedMail(_Plain):
    """The result of one e-mail; `outcome` OK means `facts` is set, and `xml` too unless the
    files' bytes were left out (a parse worker's answer to the fetch)."""

    outcome: Outcome
    reason: str
    envelope: Envelope
    subject: SubjectFields | None = None
    xml: bytes | None = None
    xml_filename: str | None = None
    document_xml: bytes | None = None
    pdf: bytes | None = None
    pdf_filename: str | None = None
    facts: DocumentFacts | None = None
    checks: tuple[Check, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK
