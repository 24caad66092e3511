"""The buyer's RADIAN events as DIAN wants them: an UBL 2.1 ApplicationResponse, its CUDE and
DIAN's extension (no Django, no network).

The event's key follows Anexo Técnico FEV v1.9 § 11.5 (Anexo RADIAN v1.1 § 12.1.1)::

    CUDE = SHA-384(Num_DE + Fec_Emi + Hor_Emi + NitFE + DocAdq
                   + ResponseCode + ID + DocumentTypeCode + Software-PIN)

NitFE is the party that generates the event (the buyer, ``cac:SenderParty``), DocAdq the party
it goes to (the supplier, ``cac:ReceiverParty``); no amounts and no environment digit: reusing
the invoice CUFE formula is what DIAN rejects as AAD06.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from lxml import etree

from invoices.dian.ubl import untrusted_parser
from organizations.nit import normalize_nit

NS_AR = "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
NS_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS_EXT = "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2"
NS_STS = "dian:gov:co:facturaelectronica:Structures-2-1"
NS_DS = "http://www.w3.org/2000/09/xmldsig#"
NSMAP = {None: NS_AR, "cac": NS_CAC, "cbc": NS_CBC, "ext": NS_EXT, "sts": NS_STS, "ds": NS_DS}

ACKNOWLEDGE = "030"
CLAIM = "031"
GOODS_RECEIVED = "032"
ACCEPT = "033"
#: The events a buyer generates (034, the tacit acceptance, is the issuer's).
BUYER_EVENTS = (ACKNOWLEDGE, CLAIM, GOODS_RECEIVED, ACCEPT)
CLAIM_CONCEPTS = ("01", "02", "03", "04")
#: The events that name the person who received or accepted (annex: 032 and 033).
EVENTS_WITH_PERSON = frozenset({GOODS_RECEIVED, ACCEPT})

DESCRIPTIONS = {
    ACKNOWLEDGE: "Acuse de recibo de Factura Electrónica de Venta",
    CLAIM: "Reclamo de la Factura Electrónica de Venta",
    GOODS_RECEIVED: "Recibo del bien y/o prestación del servicio",
    ACCEPT: "Aceptación expresa",
}

DIAN_NIT = "800197268"
DIAN_AGENCY = {
    "schemeAgencyID": "195",
    "schemeAgencyName": "CO, DIAN (Dirección de Impuestos y Aduanas Nacionales)",
}
PROFILE_ID = "DIAN 2.1: ApplicationResponse de la Factura Electrónica de Venta"
#: cbc:ProfileExecutionID and cbc:UUID/@schemeID: 1 producción, 2 pruebas.
PRODUCTION, TESTING = "1", "2"
QR_URLS = {
    PRODUCTION: "https://catalogo-vpfe.dian.gov.co/document/searchqr?documentkey=",
    TESTING: "https://catalogo-vpfe-hab.dian.gov.co/document/searchqr?documentkey=",
}
#: Colombia has one time zone and no daylight saving time.
COLOMBIA = dt.timezone(dt.timedelta(hours=-5))


class RadianError(ValueError):
    """An event that cannot be built as asked (a code, a concept or a party missing)."""


@dataclass(frozen=True)
class EventParty:
    """A party of the event: the buyer (sender) or the supplier (receiver)."""

    nit: str
    name: str
    check_digit: str = ""
    #: DIAN's identification type: 31 is NIT.
    id_type: str = "31"


@dataclass(frozen=True)
class ReceiverPerson:
    """The person who received the goods (032) or accepted the invoice (033)."""

    name: str
    identification: str
    job_title: str
    department: str
    #: 13 cédula de ciudadanía.
    id_type: str = "13"


@dataclass(frozen=True)
class Software:
    """The sending software as DIAN registered it: its provider, id and PIN."""

    provider_nit: str
    provider_check_digit: str
    software_id: str
    pin: str


@dataclass(frozen=True)
class EventRequest:
    """Everything an event says; built by the caller, turned into XML by `build_event`."""

    number: str
    code: str
    issued_at: dt.datetime
    sender: EventParty
    receiver: EventParty
    invoice_number: str
    invoice_cufe: str
    software: Software
    environment: str = TESTING
    invoice_type_code: str = "01"
    concept: str = ""
    note: str = ""
    person: ReceiverPerson | None = None

    @property
    def issue_date(self) -> str:
        return self.issued_at.astimezone(COLOMBIA).strftime("%Y-%m-%d")

    @property
    def issue_time(self) -> str:
        return self.issued_at.astimezone(COLOMBIA).strftime("%H:%M:%S-05:00")


def event_cude(
    *,
    number: str,
    issue_date: str,
    issue_time: str,
    sender_nit: str,
    receiver_nit: str,
    code: str,
    document_id: str,
    document_type_code: str,
    software_pin: str,
) -> str:
    """The event's CUDE, in the annex's order (see the module docstring)."""
    seed = (
        f"{number}{issue_date}{issue_time}{normalize_nit(sender_nit)}"
        f"{normalize_nit(receiver_nit)}{code}{document_id}{document_type_code}{software_pin}"
    )
    return hashlib.sha384(seed.encode("utf-8")).hexdigest()


def software_security_code(software_id: str, pin: str, number: str) -> str:
    """SHA-384(software id + PIN + the event's number): proves the PIN without sending it."""
    return hashlib.sha384(f"{software_id}{pin}{number}".encode()).hexdigest()


def request_cude(request: EventRequest) -> str:
    return event_cude(
        number=request.number,
        issue_date=request.issue_date,
        issue_time=request.issue_time,
        sender_nit=request.sender.nit,
        receiver_nit=request.receiver.nit,
        code=request.code,
        document_id=request.invoice_number,
        document_type_code=request.invoice_type_code,
        software_pin=request.software.pin,
    )


def _check(request: EventRequest) -> None:
    if request.code not in BUYER_EVENTS:
        raise RadianError(f"Evento {request.code!r}: el comprador solo genera 030, 031, 032, 033.")
    if request.code == CLAIM and request.concept not in CLAIM_CONCEPTS:
        raise RadianError("Un reclamo (031) necesita el concepto 01, 02, 03 o 04.")
    if request.code != CLAIM and request.concept:
        raise RadianError("Solo un reclamo (031) lleva concepto.")
    if request.code in EVENTS_WITH_PERSON and request.person is None:
        raise RadianError(f"El evento {request.code} necesita la persona que recibe o acepta.")
    if request.environment not in (PRODUCTION, TESTING):
        raise RadianError("Ambiente desconocido.")
    for value, what in ((request.sender.nit, "comprador"), (request.receiver.nit, "proveedor")):
        if not normalize_nit(value):
            raise RadianError(f"Falta el NIT del {what}.")


def _el(parent: etree._Element, ns: str, tag: str, text: str | None = None, **attrs: str):
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", attrib=attrs or None)
    if text is not None:
        element.text = text
    return element


def _party(parent: etree._Element, tag: str, party: EventParty) -> None:
    tax = _el(_el(parent, NS_CAC, tag), NS_CAC, "PartyTaxScheme")
    _el(tax, NS_CBC, "RegistrationName", party.name)
    attrs = dict(DIAN_AGENCY, schemeName=party.id_type)
    if party.check_digit:
        attrs["schemeID"] = party.check_digit
    _el(tax, NS_CBC, "CompanyID", normalize_nit(party.nit), **attrs)
    scheme = _el(tax, NS_CAC, "TaxScheme")
    _el(scheme, NS_CBC, "ID", "01")
    _el(scheme, NS_CBC, "Name", "IVA")


def _person(parent: etree._Element, person: ReceiverPerson) -> None:
    element = _el(_el(parent, NS_CAC, "IssuerParty"), NS_CAC, "Person")
    _el(element, NS_CBC, "ID", person.identification, schemeName=person.id_type)
    first, _space, family = person.name.strip().partition(" ")
    _el(element, NS_CBC, "FirstName", first)
    _el(element, NS_CBC, "FamilyName", family or first)
    _el(element, NS_CBC, "JobTitle", person.job_title)
    _el(element, NS_CBC, "OrganizationDepartment", person.department)


def _dian_extensions(parent: etree._Element, request: EventRequest) -> None:
    content = _el(_el(parent, NS_EXT, "UBLExtension"), NS_EXT, "ExtensionContent")
    ext = _el(content, NS_STS, "DianExtensions")
    _el(
        _el(ext, NS_STS, "InvoiceSource"),
        NS_CBC,
        "IdentificationCode",
        "CO",
        listAgencyID="6",
        listAgencyName="United Nations Economic Commission for Europe",
        listSchemeURI="urn:oasis:names:specification:ubl:codelist:gc:CountryIdentificationCode-2.1",
    )
    provider = _el(ext, NS_STS, "SoftwareProvider")
    _el(
        provider,
        NS_STS,
        "ProviderID",
        normalize_nit(request.software.provider_nit),
        **dict(DIAN_AGENCY, schemeID=request.software.provider_check_digit, schemeName="31"),
    )
    _el(provider, NS_STS, "SoftwareID", request.software.software_id, **DIAN_AGENCY)
    _el(
        ext,
        NS_STS,
        "SoftwareSecurityCode",
        software_security_code(request.software.software_id, request.software.pin, request.number),
        **DIAN_AGENCY,
    )
    _el(
        _el(ext, NS_STS, "AuthorizationProvider"),
        NS_STS,
        "AuthorizationProviderID",
        DIAN_NIT,
        **dict(DIAN_AGENCY, schemeID="4", schemeName="31"),
    )
    _el(ext, NS_STS, "QRCode", QR_URLS[request.environment] + request.invoice_cufe)


def build_event(request: EventRequest) -> etree._Element:
    """The unsigned ApplicationResponse, with an empty slot for the signature (see xades)."""
    _check(request)
    root = etree.Element(f"{{{NS_AR}}}ApplicationResponse", nsmap=NSMAP)
    extensions = _el(root, NS_EXT, "UBLExtensions")
    _dian_extensions(extensions, request)
    slot = _el(_el(extensions, NS_EXT, "UBLExtension"), NS_EXT, "ExtensionContent")
    _el(slot, NS_DS, "Signature", Id="placeholder")
    _el(root, NS_CBC, "UBLVersionID", "UBL 2.1")
    _el(root, NS_CBC, "CustomizationID", "1")
    _el(root, NS_CBC, "ProfileID", PROFILE_ID)
    _el(root, NS_CBC, "ProfileExecutionID", request.environment)
    _el(root, NS_CBC, "ID", request.number)
    _el(
        root,
        NS_CBC,
        "UUID",
        request_cude(request),
        schemeID=request.environment,
        schemeName="CUDE-SHA384",
    )
    _el(root, NS_CBC, "IssueDate", request.issue_date)
    _el(root, NS_CBC, "IssueTime", request.issue_time)
    if request.note:
        _el(root, NS_CBC, "Note", request.note)
    _party(root, "SenderParty", request.sender)
    _party(root, "ReceiverParty", request.receiver)
    document_response = _el(root, NS_CAC, "DocumentResponse")
    response = _el(document_response, NS_CAC, "Response")
    if request.code == CLAIM:
        _el(response, NS_CBC, "ResponseCode", request.code, listID=request.concept)
    else:
        _el(response, NS_CBC, "ResponseCode", request.code)
    _el(response, NS_CBC, "Description", DESCRIPTIONS[request.code])
    reference = _el(document_response, NS_CAC, "DocumentReference")
    _el(reference, NS_CBC, "ID", request.invoice_number)
    _el(reference, NS_CBC, "UUID", request.invoice_cufe, schemeName="CUFE-SHA384")
    _el(reference, NS_CBC, "DocumentTypeCode", request.invoice_type_code)
    if request.person is not None and request.code in EVENTS_WITH_PERSON:
        _person(document_response, request.person)
    return root


@dataclass(frozen=True)
class EventFacts:
    """What an event document says, read back (by the receiving side, or to show it)."""

    number: str
    cude: str
    issue_date: str
    issue_time: str
    environment: str
    sender_nit: str
    receiver_nit: str
    code: str
    concept: str
    invoice_number: str
    invoice_cufe: str
    invoice_type_code: str
    software_id: str
    software_security_code: str
    has_person: bool

    def expected_cude(self, software_pin: str) -> str:
        return event_cude(
            number=self.number,
            issue_date=self.issue_date,
            issue_time=self.issue_time,
            sender_nit=self.sender_nit,
            receiver_nit=self.receiver_nit,
            code=self.code,
            document_id=self.invoice_number,
            document_type_code=self.invoice_type_code,
            software_pin=software_pin,
        )


_NS = {"cac": NS_CAC, "cbc": NS_CBC, "sts": NS_STS, "ar": NS_AR, "ext": NS_EXT}


def parse_event_xml(data: bytes) -> etree._Element:
    """Parse an event with the locked-down parser (no DTD, no entities, no network)."""
    if b"<!DOCTYPE" in data.upper():
        raise RadianError("El documento declara un DOCTYPE.")
    try:
        return etree.fromstring(data, parser=untrusted_parser(remove_blank_text=False))
    except etree.XMLSyntaxError as error:
        raise RadianError("El evento no es XML válido.") from error


def read_event(root: etree._Element) -> EventFacts:
    """Read an ApplicationResponse's facts; missing parts become empty strings."""
    if root.tag != f"{{{NS_AR}}}ApplicationResponse":
        raise RadianError("El documento no es un ApplicationResponse.")

    def text(path: str) -> str:
        found = root.find(path, _NS)
        return (found.text or "").strip() if found is not None else ""

    code_element = root.find("cac:DocumentResponse/cac:Response/cbc:ResponseCode", _NS)
    return EventFacts(
        number=text("cbc:ID"),
        cude=text("cbc:UUID"),
        issue_date=text("cbc:IssueDate"),
        issue_time=text("cbc:IssueTime"),
        environment=text("cbc:ProfileExecutionID"),
        sender_nit=text("cac:SenderParty/cac:PartyTaxScheme/cbc:CompanyID"),
        receiver_nit=text("cac:ReceiverParty/cac:PartyTaxScheme/cbc:CompanyID"),
        code=(code_element.text or "").strip() if code_element is not None else "",
        concept=code_element.get("listID", "") if code_element is not None else "",
        invoice_number=text("cac:DocumentResponse/cac:DocumentReference/cbc:ID"),
        invoice_cufe=text("cac:DocumentResponse/cac:DocumentReference/cbc:UUID"),
        invoice_type_code=text("cac:DocumentResponse/cac:DocumentReference/cbc:DocumentTypeCode"),
        software_id=text(
            "ext:UBLExtensions/ext:UBLExtension/ext:ExtensionContent/sts:DianExtensions"
            "/sts:SoftwareProvider/sts:SoftwareID"
        ),
        software_security_code=text(
            "ext:UBLExtensions/ext:UBLExtension/ext:ExtensionContent/sts:DianExtensions"
            "/sts:SoftwareSecurityCode"
        ),
        has_person=root.find("cac:DocumentResponse/cac:IssuerParty/cac:Person", _NS) is not None,
    )
