"""Builders of DIAN documents and of the e-mails suppliers send, for tests and the benchmark.

Every document is UBL 2.1 as DIAN's annex shapes it (namespaces, sts extensions, parties with
CompanyID schemeID/schemeName, TaxTotal per scheme, monetary totals, BillingReference for notes),
with a CUFE/CUDE computed by the public formula. Builders are plain string templates so that the
benchmark can make thousands quickly; every field can be overridden to craft mismatches.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import io
import random
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from email.header import Header
from email.utils import format_datetime
from xml.sax.saxutils import escape

from lxml import etree

from organizations.nit import written_nit_check_digit as nit_check_digit

CENT = Decimal("0.01")
TEST_TECHNICAL_KEY = "fc8eac422eba16e22ffd8c6f94b3f40a6e38162c"
DIAN_NIT = "800197268"

NAMESPACES = (
    'xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" '
    'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2" '
    'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" '
    'xmlns:ext="urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2" '
    'xmlns:sts="dian:gov:co:facturaelectronica:Structures-2-1" '
    'xmlns:xades="http://uri.etsi.org/01903/v1.3.2#" '
    'xmlns:xades141="http://uri.etsi.org/01903/v1.4.1#" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)
_ROOTS = {"invoice": "Invoice", "credit_note": "CreditNote", "debit_note": "DebitNote"}
_LINE_TAGS = {
    "invoice": ("InvoiceLine", "InvoicedQuantity"),
    "credit_note": ("CreditNoteLine", "CreditedQuantity"),
    "debit_note": ("DebitNoteLine", "DebitedQuantity"),
}
_SUBJECT_CODES = {"invoice": "01", "credit_note": "91", "debit_note": "92"}


@dataclass(frozen=True)
class TaxSpec:
    """One TaxSubtotal; the amount defaults to taxable × percent, rounded to cents."""

    scheme_id: str
    name: str
    percent: Decimal
    taxable: Decimal
    amount: Decimal | None = None

    @property
    def tax_amount(self) -> Decimal:
        if self.amount is not None:
            return self.amount
        return (self.taxable * self.percent / 100).quantize(CENT)


@dataclass(frozen=True)
class DocumentSpec:
    """Every field of a factory document; None means "derive it as DIAN would"."""

    document_type: str = "invoice"
    number: str = "FE1001"
    issue_date: dt.date = dt.date(2025, 7, 9)
    issue_time: str = "11:47:18-05:00"
    profile_execution_id: str = "1"
    currency: str = "COP"
    type_code: str | None = None
    customization_id: str = "10"
    supplier_nit: str = "901019681"
    supplier_check_digit: str | None = None
    supplier_name: str = "SUMINISTROS ANDINOS S.A.S."
    supplier_trade_name: str = "Suministros Andinos"
    buyer_nit: str = "900123456"
    buyer_check_digit: str | None = None
    buyer_id_type: str = "31"
    buyer_name: str = "COMERCIALIZADORA ANDINA S.A.S."
    line_extension: Decimal = Decimal("1000000.00")
    taxes: tuple[TaxSpec, ...] = (TaxSpec("01", "IVA", Decimal("19.00"), Decimal("1000000.00")),)
    withholdings: tuple[TaxSpec, ...] = ()
    tax_exclusive: Decimal | None = None
    tax_inclusive: Decimal | None = None
    allowance: Decimal | None = None
    charge: Decimal | None = None
    prepaid: Decimal | None = None
    payable: Decimal | None = None
    omit_totals: frozenset[str] = frozenset()
    referenced_number: str | None = None
    referenced_cufe: str | None = None
    referenced_date: dt.date | None = None
    technical_key: str = TEST_TECHNICAL_KEY
    cufe: str | None = None
    lines: int = 3

    @property
    def root(self) -> str:
        return _ROOTS[self.document_type]

    @property
    def subject_code(self) -> str:
        return self.type_code or _SUBJECT_CODES[self.document_type]

    @property
    def supplier_dv(self) -> str:
        return self.supplier_check_digit or str(nit_check_digit(self.supplier_nit))

    @property
    def buyer_dv(self) -> str:
        if self.buyer_check_digit is not None:
            return self.buyer_check_digit
        return str(nit_check_digit(self.buyer_nit)) if self.buyer_id_type == "31" else ""

    def tax_sum(self, scheme_id: str) -> Decimal:
        return sum((t.tax_amount for t in self.taxes if t.scheme_id == scheme_id), Decimal(0))

    @property
    def total_tax(self) -> Decimal:
        return sum((t.tax_amount for t in self.taxes), Decimal(0))

    @property
    def tax_exclusive_amount(self) -> Decimal:
        return self.tax_exclusive if self.tax_exclusive is not None else self.line_extension

    @property
    def tax_inclusive_amount(self) -> Decimal:
        if self.tax_inclusive is not None:
            return self.tax_inclusive
        return self.line_extension + self.total_tax

    @property
    def payable_amount(self) -> Decimal:
        if self.payable is not None:
            return self.payable
        return (
            self.tax_inclusive_amount
            - (self.allowance or 0)
            + (self.charge or 0)
            - (self.prepaid or 0)
        )

    @property
    def cufe_value(self) -> str:
        """CUFE/CUDE by the annex formula (the key stands in for the Software-PIN of notes)."""
        if self.cufe is not None:
            return self.cufe
        parts = (
            self.number,
            self.issue_date.isoformat(),
            self.issue_time,
            f"{self.line_extension:.2f}",
            "01",
            f"{self.tax_sum('01'):.2f}",
            "04",
            f"{self.tax_sum('04'):.2f}",
            "03",
            f"{self.tax_sum('03'):.2f}",
            f"{self.payable_amount:.2f}",
            self.supplier_nit,
            self.buyer_nit,
            self.technical_key,
            self.profile_execution_id,
        )
        return hashlib.sha384("".join(parts).encode()).hexdigest()

    @property
    def cufe_scheme(self) -> str:
        return "CUFE-SHA384" if self.document_type == "invoice" else "CUDE-SHA384"


def cufe_from_parts(*parts: str) -> str:
    """The annex formula on already formatted parts (for the published test vector)."""
    return hashlib.sha384("".join(parts).encode()).hexdigest()


def make_spec(document_type: str = "invoice", **overrides: object) -> DocumentSpec:
    """A DocumentSpec with sensible defaults per type (numbers, references) and overrides."""
    defaults: dict[str, object] = {}
    if document_type == "credit_note":
        defaults = {"number": "NC501", "customization_id": "20"}
    elif document_type == "debit_note":
        defaults = {"number": "ND301", "customization_id": "30"}
    if document_type != "invoice":
        defaults |= {
            "referenced_number": "FE1001",
            "referenced_cufe": DocumentSpec().cufe_value,
            "referenced_date": dt.date(2025, 7, 1),
        }
    return DocumentSpec(document_type=document_type, **(defaults | overrides))  # type: ignore[arg-type]


def _amount(tag: str, value: Decimal, currency: str) -> str:
    return f'<cbc:{tag} currencyID="{currency}">{value:.2f}</cbc:{tag}>'


def _party(nit: str, dv: str, id_type: str, name: str, trade_name: str | None) -> str:
    name_x = escape(name)
    trade = (
        f"<cac:PartyName><cbc:Name>{escape(trade_name)}</cbc:Name></cac:PartyName>"
        if trade_name
        else ""
    )
    address = (
        "<cac:Address><cbc:ID>11001</cbc:ID><cbc:CityName>Bogotá, D.C.</cbc:CityName>"
        "<cbc:CountrySubentity>Bogotá</cbc:CountrySubentity>"
        "<cbc:CountrySubentityCode>11</cbc:CountrySubentityCode>"
        "<cac:AddressLine><cbc:Line>Cra. 7 # 71-21</cbc:Line></cac:AddressLine>"
        "<cac:Country><cbc:IdentificationCode>CO</cbc:IdentificationCode>"
        '<cbc:Name languageID="es">Colombia</cbc:Name></cac:Country></cac:Address>'
    )
    company = (
        f'<cbc:CompanyID schemeAgencyID="195" schemeAgencyName="CO, DIAN (Dirección de Impuestos '
        f'y Aduanas Nacionales)" schemeID="{dv}" schemeName="{id_type}">{nit}</cbc:CompanyID>'
    )
    return (
        f"<cac:Party>{trade}"
        f"<cac:PhysicalLocation>{address}</cac:PhysicalLocation>"
        f"<cac:PartyTaxScheme><cbc:RegistrationName>{name_x}</cbc:RegistrationName>{company}"
        '<cbc:TaxLevelCode listName="48">O-13</cbc:TaxLevelCode>'
        "<cac:TaxScheme><cbc:ID>01</cbc:ID><cbc:Name>IVA</cbc:Name></cac:TaxScheme>"
        "</cac:PartyTaxScheme>"
        f"<cac:PartyLegalEntity><cbc:RegistrationName>{name_x}</cbc:RegistrationName>{company}"
        "</cac:PartyLegalEntity>"
        "<cac:Contact><cbc:ElectronicMail>facturacion@example.test</cbc:ElectronicMail>"
        "</cac:Contact></cac:Party>"
    )


def _tax_totals(tag: str, taxes: tuple[TaxSpec, ...], currency: str) -> str:
    """One TaxTotal per scheme, one TaxSubtotal per rate, as DIAN requires."""
    by_scheme: dict[str, list[TaxSpec]] = {}
    for tax in taxes:
        by_scheme.setdefault(tax.scheme_id, []).append(tax)
    out = []
    for scheme_taxes in by_scheme.values():
        total = sum((t.tax_amount for t in scheme_taxes), Decimal(0))
        subtotals = "".join(
            "<cac:TaxSubtotal>"
            + _amount("TaxableAmount", t.taxable, currency)
            + _amount("TaxAmount", t.tax_amount, currency)
            + f"<cac:TaxCategory><cbc:Percent>{t.percent:.2f}</cbc:Percent>"
            f"<cac:TaxScheme><cbc:ID>{t.scheme_id}</cbc:ID><cbc:Name>{escape(t.name)}</cbc:Name>"
            "</cac:TaxScheme></cac:TaxCategory></cac:TaxSubtotal>"
            for t in scheme_taxes
        )
        out.append(f"<cac:{tag}>{_amount('TaxAmount', total, currency)}{subtotals}</cac:{tag}>")
    return "".join(out)


def _signature(rng: random.Random) -> str:
    """A stand-in XAdES signature block, so documents weigh what signed ones weigh."""
    value = base64.b64encode(rng.randbytes(256)).decode()
    certificate = base64.b64encode(rng.randbytes(1400)).decode()
    digest = base64.b64encode(rng.randbytes(32)).decode()
    return (
        '<ds:Signature Id="xmldsig-1"><ds:SignedInfo>'
        '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
        '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
        f'<ds:Reference URI=""><ds:DigestValue>{digest}</ds:DigestValue></ds:Reference>'
        f"</ds:SignedInfo><ds:SignatureValue>{value}</ds:SignatureValue>"
        f"<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{certificate}</ds:X509Certificate>"
        "</ds:X509Data></ds:KeyInfo></ds:Signature>"
    )


def make_document(spec: DocumentSpec, *, seed: int = 0, declaration: bool = True) -> bytes:
    """The signed-looking UBL 2.1 Invoice / CreditNote / DebitNote of `spec`."""
    rng = random.Random(seed)
    cur = spec.currency
    root = spec.root
    type_code = ""
    if spec.document_type == "invoice":
        type_code = f"<cbc:InvoiceTypeCode>{spec.type_code or '01'}</cbc:InvoiceTypeCode>"
    elif spec.document_type == "credit_note":
        type_code = f"<cbc:CreditNoteTypeCode>{spec.type_code or '91'}</cbc:CreditNoteTypeCode>"
    elif spec.type_code:
        type_code = f"<cbc:DebitNoteTypeCode>{spec.type_code}</cbc:DebitNoteTypeCode>"
    discrepancy = reference = ""
    if spec.referenced_number:
        discrepancy = (
            f"<cac:DiscrepancyResponse><cbc:ReferenceID>{escape(spec.referenced_number)}"
            "</cbc:ReferenceID><cbc:ResponseCode>2</cbc:ResponseCode>"
            "<cbc:Description>Ajuste</cbc:Description></cac:DiscrepancyResponse>"
        )
        ref_date = spec.referenced_date.isoformat() if spec.referenced_date else ""
        reference = (
            "<cac:BillingReference><cac:InvoiceDocumentReference>"
            f"<cbc:ID>{escape(spec.referenced_number)}</cbc:ID>"
            f'<cbc:UUID schemeName="CUFE-SHA384">{spec.referenced_cufe or ""}</cbc:UUID>'
            f"<cbc:IssueDate>{ref_date}</cbc:IssueDate>"
            "</cac:InvoiceDocumentReference></cac:BillingReference>"
        )
    totals_tag = (
        "RequestedMonetaryTotal" if spec.document_type == "debit_note" else ("LegalMonetaryTotal")
    )
    total_values = (
        ("LineExtensionAmount", spec.line_extension),
        ("TaxExclusiveAmount", spec.tax_exclusive_amount),
        ("TaxInclusiveAmount", spec.tax_inclusive_amount),
        ("AllowanceTotalAmount", spec.allowance),
        ("ChargeTotalAmount", spec.charge),
        ("PrepaidAmount", spec.prepaid),
        ("PayableAmount", spec.payable_amount),
    )
    totals = "".join(
        _amount(tag, value, cur)
        for tag, value in total_values
        if value is not None and tag not in spec.omit_totals
    )
    line_tag, quantity_tag = _LINE_TAGS[spec.document_type]
    share = (spec.line_extension / max(spec.lines, 1)).quantize(CENT)
    lines = "".join(
        f"<cac:{line_tag}><cbc:ID>{i + 1}</cbc:ID>"
        f'<cbc:{quantity_tag} unitCode="94">1.00</cbc:{quantity_tag}>'
        f"{_amount('LineExtensionAmount', share, cur)}"
        f"<cac:Item><cbc:Description>Artículo de prueba {i + 1} lote {rng.randrange(10**6)}"
        "</cbc:Description></cac:Item>"
        f"<cac:Price>{_amount('PriceAmount', share, cur)}"
        '<cbc:BaseQuantity unitCode="94">1.00</cbc:BaseQuantity></cac:Price>'
        f"</cac:{line_tag}>"
        for i in range(spec.lines)
    )
    cufe = spec.cufe_value
    xml = (
        f'<{root} xmlns="urn:oasis:names:specification:ubl:schema:xsd:{root}-2" {NAMESPACES}>'
        "<ext:UBLExtensions><ext:UBLExtension><ext:ExtensionContent><sts:DianExtensions>"
        "<sts:InvoiceControl><sts:InvoiceAuthorization>18760000001</sts:InvoiceAuthorization>"
        "<sts:AuthorizationPeriod><cbc:StartDate>2025-01-01</cbc:StartDate>"
        "<cbc:EndDate>2027-01-01</cbc:EndDate></sts:AuthorizationPeriod></sts:InvoiceControl>"
        "<sts:SoftwareProvider>"
        f'<sts:ProviderID schemeID="{spec.supplier_dv}" schemeName="31">{spec.supplier_nit}'
        "</sts:ProviderID><sts:SoftwareID>56f2ae4e-9812-4fad-9255-08fcfcd5ccb0</sts:SoftwareID>"
        "</sts:SoftwareProvider>"
        "<sts:QRCode>https://catalogo-vpfe.dian.gov.co/document/searchqr?documentkey="
        f"{cufe}</sts:QRCode></sts:DianExtensions></ext:ExtensionContent></ext:UBLExtension>"
        f"<ext:UBLExtension><ext:ExtensionContent>{_signature(rng)}</ext:ExtensionContent>"
        "</ext:UBLExtension></ext:UBLExtensions>"
        "<cbc:UBLVersionID>UBL 2.1</cbc:UBLVersionID>"
        f"<cbc:CustomizationID>{spec.customization_id}</cbc:CustomizationID>"
        "<cbc:ProfileID>DIAN 2.1</cbc:ProfileID>"
        f"<cbc:ProfileExecutionID>{spec.profile_execution_id}</cbc:ProfileExecutionID>"
        f"<cbc:ID>{escape(spec.number)}</cbc:ID>"
        f'<cbc:UUID schemeID="{spec.profile_execution_id}" schemeName="{spec.cufe_scheme}">'
        f"{cufe}</cbc:UUID>"
        f"<cbc:IssueDate>{spec.issue_date.isoformat()}</cbc:IssueDate>"
        f"<cbc:IssueTime>{spec.issue_time}</cbc:IssueTime>{type_code}"
        f"<cbc:DocumentCurrencyCode>{cur}</cbc:DocumentCurrencyCode>"
        f"<cbc:LineCountNumeric>{spec.lines}</cbc:LineCountNumeric>"
        f"{discrepancy}{reference}"
        "<cac:AccountingSupplierParty><cbc:AdditionalAccountID>1</cbc:AdditionalAccountID>"
        + _party(
            spec.supplier_nit,
            spec.supplier_dv,
            "31",
            spec.supplier_name,
            spec.supplier_trade_name,
        )
        + "</cac:AccountingSupplierParty>"
        "<cac:AccountingCustomerParty><cbc:AdditionalAccountID>1</cbc:AdditionalAccountID>"
        + _party(spec.buyer_nit, spec.buyer_dv, spec.buyer_id_type, spec.buyer_name, None)
        + "</cac:AccountingCustomerParty>"
        "<cac:PaymentMeans><cbc:ID>2</cbc:ID><cbc:PaymentMeansCode>42</cbc:PaymentMeansCode>"
        f"<cbc:PaymentDueDate>{spec.issue_date.isoformat()}</cbc:PaymentDueDate>"
        "</cac:PaymentMeans>"
        + _tax_totals("TaxTotal", spec.taxes, cur)
        + _tax_totals("WithholdingTaxTotal", spec.withholdings, cur)
        + f"<cac:{totals_tag}>{totals}</cac:{totals_tag}>{lines}</{root}>"
    )
    head = '<?xml version="1.0" encoding="UTF-8" standalone="no"?>' if declaration else ""
    return (head + xml).encode()


def make_application_response(
    *,
    number: str,
    cufe: str,
    supplier_nit: str,
    supplier_name: str,
    response_code: str = "02",
    description: str = "Documento validado por la DIAN",
    profile_execution_id: str = "1",
    seed: int = 0,
) -> bytes:
    """DIAN's ApplicationResponse for a document (02 = validated)."""
    rng = random.Random(seed + 7)
    response_cude = hashlib.sha384(f"AR{cufe}{response_code}".encode()).hexdigest()
    dv = nit_check_digit(supplier_nit)
    xml = (
        '<ApplicationResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:'
        f'ApplicationResponse-2" {NAMESPACES}>'
        f"<ext:UBLExtensions><ext:UBLExtension><ext:ExtensionContent>{_signature(rng)}"
        "</ext:ExtensionContent></ext:UBLExtension></ext:UBLExtensions>"
        "<cbc:UBLVersionID>UBL 2.1</cbc:UBLVersionID><cbc:CustomizationID>1</cbc:CustomizationID>"
        "<cbc:ProfileID>DIAN 2.1</cbc:ProfileID>"
        f"<cbc:ProfileExecutionID>{profile_execution_id}</cbc:ProfileExecutionID>"
        f"<cbc:ID>{rng.randrange(10**7, 10**8)}</cbc:ID>"
        f'<cbc:UUID schemeName="CUDE-SHA384">{response_cude}</cbc:UUID>'
        "<cbc:IssueDate>2025-07-09</cbc:IssueDate><cbc:IssueTime>11:47:16-05:00</cbc:IssueTime>"
        "<cac:SenderParty><cac:PartyTaxScheme><cbc:RegistrationName>Unidad Especial Dirección "
        "de Impuestos y Aduanas Nacionales</cbc:RegistrationName>"
        f'<cbc:CompanyID schemeID="4" schemeName="31">{DIAN_NIT}</cbc:CompanyID>'
        "<cac:TaxScheme><cbc:ID>01</cbc:ID><cbc:Name>IVA</cbc:Name></cac:TaxScheme>"
        "</cac:PartyTaxScheme></cac:SenderParty>"
        "<cac:ReceiverParty><cac:PartyTaxScheme>"
        f"<cbc:RegistrationName>{escape(supplier_name)}</cbc:RegistrationName>"
        f'<cbc:CompanyID schemeID="{dv}" schemeName="31">{supplier_nit}</cbc:CompanyID>'
        "<cac:TaxScheme><cbc:ID>01</cbc:ID><cbc:Name>IVA</cbc:Name></cac:TaxScheme>"
        "</cac:PartyTaxScheme></cac:ReceiverParty>"
        "<cac:DocumentResponse><cac:Response>"
        f"<cbc:ResponseCode>{response_code}</cbc:ResponseCode>"
        f"<cbc:Description>{escape(description)}</cbc:Description></cac:Response>"
        f"<cac:DocumentReference><cbc:ID>{escape(number)}</cbc:ID>"
        f'<cbc:UUID schemeName="CUFE-SHA384">{cufe}</cbc:UUID></cac:DocumentReference>'
        "<cac:LineResponse><cac:LineReference><cbc:LineID>1</cbc:LineID></cac:LineReference>"
        "<cac:Response><cbc:ResponseCode>0000</cbc:ResponseCode><cbc:Description>0"
        "</cbc:Description></cac:Response></cac:LineResponse>"
        "</cac:DocumentResponse></ApplicationResponse>"
    )
    return ('<?xml version="1.0" encoding="utf-8" standalone="no"?>' + xml).encode()


def _embed(xml: bytes, mode: str) -> str:
    text = xml.decode("utf-8")
    if mode == "cdata":
        return f"<![CDATA[{text}]]>"
    return escape(text)


def make_attached_document(
    document_xml: bytes,
    *,
    number: str,
    cufe: str,
    sender_nit: str,
    sender_name: str,
    receiver_nit: str,
    receiver_name: str,
    profile_execution_id: str = "1",
    application_response: bytes | None = None,
    validation_result_code: str = "02",
    description_mode: str = "cdata",
    container_id: str = "0197f015-a06b-8d62-bd23-c9971dfdc3fc",
) -> bytes:
    """The AttachedDocument wrapper: the document as CDATA (or escaped text) and DIAN's answer."""
    validation = ""
    if application_response is not None:
        validation = (
            "<cac:ParentDocumentLineReference><cbc:LineID>1</cbc:LineID><cac:DocumentReference>"
            f"<cbc:ID>{escape(number)}</cbc:ID>"
            f'<cbc:UUID schemeName="CUFE-SHA384">{cufe}</cbc:UUID>'
            "<cbc:IssueDate>2025-07-09</cbc:IssueDate>"
            "<cbc:DocumentType>ApplicationResponse</cbc:DocumentType>"
            "<cac:Attachment><cac:ExternalReference><cbc:MimeCode>text/xml</cbc:MimeCode>"
            "<cbc:EncodingCode>UTF-8</cbc:EncodingCode>"
            f"<cbc:Description>{_embed(application_response, description_mode)}"
            "</cbc:Description></cac:ExternalReference></cac:Attachment>"
            "<cac:ResultOfVerification><cbc:ValidatorID>Unidad Especial Dirección de Impuestos "
            "y Aduanas Nacionales</cbc:ValidatorID>"
            f"<cbc:ValidationResultCode>{validation_result_code}</cbc:ValidationResultCode>"
            "<cbc:ValidationDate>2025-07-09</cbc:ValidationDate>"
            "<cbc:ValidationTime>11:47:16-05:00</cbc:ValidationTime></cac:ResultOfVerification>"
            "</cac:DocumentReference></cac:ParentDocumentLineReference>"
        )

    def party(tag: str, nit: str, name: str) -> str:
        dv = nit_check_digit(nit) if nit.isdigit() and len(nit) <= 15 else ""
        return (
            f"<cac:{tag}><cac:PartyTaxScheme>"
            f"<cbc:RegistrationName>{escape(name)}</cbc:RegistrationName>"
            f'<cbc:CompanyID schemeID="{dv}" schemeName="31" schemeAgencyID="195">{nit}'
            "</cbc:CompanyID><cac:TaxScheme><cbc:ID>01</cbc:ID><cbc:Name>IVA</cbc:Name>"
            f"</cac:TaxScheme></cac:PartyTaxScheme></cac:{tag}>"
        )

    xml = (
        "<?xml version='1.0' encoding='UTF-8'?>"
        '<AttachedDocument xmlns="urn:oasis:names:specification:ubl:schema:xsd:'
        f'AttachedDocument-2" {NAMESPACES}>'
        "<cbc:UBLVersionID>UBL 2.1</cbc:UBLVersionID>"
        "<cbc:CustomizationID>Documentos adjuntos</cbc:CustomizationID>"
        "<cbc:ProfileID>Factura Electrónica de Venta</cbc:ProfileID>"
        f"<cbc:ProfileExecutionID>{profile_execution_id}</cbc:ProfileExecutionID>"
        f"<cbc:ID>{container_id}</cbc:ID>"
        "<cbc:IssueDate>2025-07-09</cbc:IssueDate><cbc:IssueTime>11:47:18-05:00</cbc:IssueTime>"
        "<cbc:DocumentType>Contenedor de Factura Electrónica</cbc:DocumentType>"
        f"<cbc:ParentDocumentID>{escape(number)}</cbc:ParentDocumentID>"
        + party("SenderParty", sender_nit, sender_name)
        + party("ReceiverParty", receiver_nit, receiver_name)
        + "<cac:Attachment><cac:ExternalReference><cbc:MimeCode>text/xml</cbc:MimeCode>"
        "<cbc:EncodingCode>UTF-8</cbc:EncodingCode>"
        f"<cbc:Description>{_embed(document_xml, description_mode)}</cbc:Description>"
        "</cac:ExternalReference></cac:Attachment>"
        f"{validation}</AttachedDocument>"
    )
    return xml.encode()


def make_pdf(title: str = "Factura electrónica", *, size: int = 24_000, seed: int = 0) -> bytes:
    """A small valid PDF; `size` bytes of incompressible padding make it weigh like a real one."""
    padding = random.Random(seed + 11).randbytes(max(size, 0))
    text = title.encode("latin-1", "replace").replace(b"(", b"[").replace(b")", b"]")
    content = b"BT /F1 18 Tf 72 720 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(padding) + padding + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def make_zip(entries: list[tuple[str, bytes]], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP of the given (name, bytes) entries, in order, stamped with a fixed date.

    `writestr` with a bare name stamps the current time, so two builds a second apart differed.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression, compresslevel=6) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2025, 7, 9, 11, 48, 2))
            info.compress_type = compression
            info.external_attr = 0o600 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


def _wrap76(data: bytes) -> bytes:
    encoded = base64.b64encode(data)
    return b"\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def encode_header(value: str) -> str:
    """RFC 2047 when needed, as mail clients send non-ASCII subjects and names."""
    if value.isascii():
        return value
    return Header(value, "utf-8").encode()


def make_email(
    *,
    subject: str,
    attachments: list[Attachment],
    from_header: str = "Facturación Suministros Andinos <facturacion@proveedor.example>",
    to: str = "recepcion@comercializadora.example",
    message_id: str = "<fe1001.20250709114718@proveedor.example>",
    date: dt.datetime = dt.datetime(
        2025, 7, 9, 11, 48, 2, tzinfo=dt.timezone(dt.timedelta(hours=-5))
    ),
    body: str = "Señores, adjuntamos el documento electrónico.",
    raw_subject: bytes | None = None,
    boundary: str = "==_dian_boundary_7f3a",
) -> bytes:
    """A multipart/mixed e-mail with a text body and base64 attachments, CRLF line ends."""
    subject_line = (
        b"Subject: " + raw_subject
        if raw_subject is not None
        else f"Subject: {encode_header(subject)}".encode()
    )
    parts = [
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n".encode()
        + _wrap76(body.encode())
    ]
    for attachment in attachments:
        name = encode_header(attachment.filename)
        parts.append(
            f'--{boundary}\r\nContent-Type: {attachment.content_type}; name="{name}"\r\n'
            f'Content-Disposition: attachment; filename="{name}"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n".encode()
            + _wrap76(attachment.data)
        )
    headers = (
        f"Return-Path: <facturacion@proveedor.example>\r\n"
        f"From: {encode_header(from_header)}\r\nTo: {to}\r\n".encode()
        + subject_line
        + f"\r\nDate: {format_datetime(date)}\r\nMessage-ID: {message_id}\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'.encode()
    )
    return headers + b"\r\n".join(parts) + f"\r\n--{boundary}--\r\n".encode()


def dian_subject(nit: str, name: str, number: str, code: str, trade_name: str | None = None) -> str:
    return f"{nit};{name};{number};{code};{trade_name or name}"


@dataclass(frozen=True)
class BuiltMail:
    """A factory e-mail and the pieces it was made of, for assertions."""

    raw: bytes
    spec: DocumentSpec
    subject: str
    document_xml: bytes
    xml: bytes
    xml_filename: str
    pdf: bytes
    zip_bytes: bytes
    application_response: bytes | None = None

    @property
    def cufe(self) -> str:
        return self.spec.cufe_value


def build_mail(
    document_type: str = "invoice",
    *,
    seed: int = 0,
    spec: DocumentSpec | None = None,
    wrap: bool = True,
    with_response: bool = True,
    response_code: str = "02",
    response_cufe: str | None = None,
    attached_cufe: str | None = None,
    attached_number: str | None = None,
    attached_sender_nit: str | None = None,
    description_mode: str = "cdata",
    nested_zip: bool = False,
    include_pdf: bool = True,
    pdf_size: int = 24_000,
    subject: str | None = None,
    message_id: str | None = None,
    **overrides: object,
) -> BuiltMail:
    """The whole chain: document → ApplicationResponse → AttachedDocument → ZIP (+PDF) → e-mail."""
    if spec is None:
        spec = make_spec(document_type, **overrides)
    elif overrides:
        spec = dataclasses.replace(spec, **overrides)  # type: ignore[arg-type]
    document_xml = make_document(spec, seed=seed)
    response = None
    if wrap:
        if with_response:
            response = make_application_response(
                number=spec.number,
                cufe=response_cufe or spec.cufe_value,
                supplier_nit=spec.supplier_nit,
                supplier_name=spec.supplier_name,
                response_code=response_code,
                profile_execution_id=spec.profile_execution_id,
                seed=seed,
            )
        xml = make_attached_document(
            document_xml,
            number=attached_number or spec.number,
            cufe=attached_cufe or spec.cufe_value,
            sender_nit=attached_sender_nit or spec.supplier_nit,
            sender_name=spec.supplier_name,
            receiver_nit=spec.buyer_nit,
            receiver_name=spec.buyer_name,
            profile_execution_id=spec.profile_execution_id,
            application_response=response,
            description_mode=description_mode,
        )
    else:
        xml = document_xml
    prefix = {"invoice": "fv", "credit_note": "nc", "debit_note": "nd"}[spec.document_type]
    base = f"{spec.supplier_nit.zfill(10)}000{spec.issue_date:%y}{seed:08d}"
    xml_filename = f"ad{base}.xml" if wrap else f"{prefix}{base}.xml"
    pdf = make_pdf(f"{spec.root} {spec.number}", size=pdf_size, seed=seed)
    entries = [(xml_filename, xml)]
    if include_pdf:
        entries.append((f"{prefix}{base}.pdf", pdf))
    zip_bytes = make_zip(entries)
    if nested_zip:
        zip_bytes = make_zip([(f"z{base}.zip", zip_bytes)])
    subject = subject or dian_subject(
        spec.supplier_nit,
        spec.supplier_name,
        spec.number,
        spec.subject_code,
        spec.supplier_trade_name,
    )
    raw = make_email(
        subject=subject,
        attachments=[Attachment(f"z{base}.zip", "application/zip", zip_bytes)],
        message_id=message_id or f"<{spec.number}.{seed}@proveedor.example>",
    )
    return BuiltMail(
        raw=raw,
        spec=spec,
        subject=subject,
        document_xml=document_xml,
        xml=xml,
        xml_filename=xml_filename,
        pdf=pdf,
        zip_bytes=zip_bytes,
        application_response=response,
    )


_SAMPLE_CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
_SAMPLE_CAC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}"


def _sample_subject(xml: bytes) -> str:
    """Subject fields read straight from a sample with lxml (independent of the parser tested)."""
    root = etree.fromstring(xml.strip().removeprefix(b"\xef\xbb\xbf"))
    local = etree.QName(root).localname
    cbc, cac = _SAMPLE_CBC, _SAMPLE_CAC
    if local == "AttachedDocument":
        sender = root.find(f"{cac}SenderParty/{cac}PartyTaxScheme")
        assert sender is not None
        return dian_subject(
            sender.findtext(f"{cbc}CompanyID", "").strip(),
            sender.findtext(f"{cbc}RegistrationName", "").strip(),
            root.findtext(f"{cbc}ParentDocumentID", "").strip(),
            "01",
        )
    scheme = root.find(f"{cac}AccountingSupplierParty/{cac}Party/{cac}PartyTaxScheme")
    assert scheme is not None
    code = {"Invoice": "01", "CreditNote": "91", "DebitNote": "92"}[local]
    return dian_subject(
        scheme.findtext(f"{cbc}CompanyID", "").strip(),
        scheme.findtext(f"{cbc}RegistrationName", "").strip(),
        root.findtext(f"{cbc}ID", "").strip(),
        code,
    )


def _sample_fields(xml: bytes) -> tuple[str, str, str, str, str]:
    """Number, CUFE, supplier NIT, supplier name and buyer NIT of a bare sample document."""
    root = etree.fromstring(xml.strip().removeprefix(b"\xef\xbb\xbf"))
    cbc, cac = _SAMPLE_CBC, _SAMPLE_CAC
    supplier = root.find(f"{cac}AccountingSupplierParty/{cac}Party/{cac}PartyTaxScheme")
    buyer = root.find(f"{cac}AccountingCustomerParty/{cac}Party/{cac}PartyTaxScheme")
    assert supplier is not None
    assert buyer is not None
    return (
        root.findtext(f"{cbc}ID", "").strip(),
        root.findtext(f"{cbc}UUID", "").strip(),
        supplier.findtext(f"{cbc}CompanyID", "").strip(),
        supplier.findtext(f"{cbc}RegistrationName", "").strip(),
        buyer.findtext(f"{cbc}CompanyID", "").strip(),
    )


def wrap_sample(
    xml: bytes,
    *,
    subject: str | None = None,
    seed: int = 0,
    nested_zip: bool = False,
    include_pdf: bool = True,
    attached: bool = False,
) -> bytes:
    """Put a real sample document into a ZIP with a PDF and a DIAN e-mail.

    By default the sample travels byte for byte; with `attached` a bare Invoice / CreditNote /
    DebitNote is first wrapped, as CDATA, in an AttachedDocument with DIAN's ApplicationResponse.
    """
    subject = subject or _sample_subject(xml)
    if attached:
        number, cufe, supplier_nit, supplier_name, buyer_nit = _sample_fields(xml)
        response = make_application_response(
            number=number, cufe=cufe, supplier_nit=supplier_nit, supplier_name=supplier_name
        )
        xml = make_attached_document(
            xml,
            number=number,
            cufe=cufe,
            sender_nit=supplier_nit,
            sender_name=supplier_name,
            receiver_nit=buyer_nit,
            receiver_name="ADQUIRIENTE",
            application_response=response,
        )
    entries = [(f"sample{seed:04d}.xml", xml)]
    if include_pdf:
        entries.append((f"sample{seed:04d}.pdf", make_pdf("Representación gráfica", seed=seed)))
    zip_bytes = make_zip(entries)
    if nested_zip:
        zip_bytes = make_zip([("interno.zip", zip_bytes)])
    return make_email(
        subject=subject,
        attachments=[Attachment(f"z{seed:010d}.zip", "application/zip", zip_bytes)],
        message_id=f"<sample.{seed}@proveedor.example>",
    )
