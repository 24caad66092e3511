"""DIAN's web service for RADIAN events: SOAP 1.2 with WS-Security, no models.

``SendEventUpdateStatus`` takes a base64 ZIP holding one signed ApplicationResponse;
``GetStatusEvent`` lists the events DIAN registered for an invoice (its CUFE). Each request
carries an X.509 BinarySecurityToken of the organization's certificate, a Timestamp and a
signature over the Timestamp and the ``wsa:To`` header; ``wsa:Action`` names the operation.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import uuid
import zipfile
from dataclasses import dataclass

import requests
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree
from signxml import DigestAlgorithm, SignatureMethod, XMLSigner
from signxml.algorithms import CanonicalizationMethod, SignatureConstructionMethod

from config.tls import trust_our_stores
from invoices.dian.certificates import SigningIdentity
from invoices.dian.ubl import untrusted_parser

HABILITACION_URL = "https://vpfe-hab.dian.gov.co/WcfDianCustomerServices.svc"
PRODUCCION_URL = "https://vpfe.dian.gov.co/WcfDianCustomerServices.svc"
ACTION_PREFIX = "http://wcf.dian.colombia/IWcfDianCustomerServices/"

NS_SOAP = "http://www.w3.org/2003/05/soap-envelope"
NS_WSA = "http://www.w3.org/2005/08/addressing"
NS_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
NS_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
NS_WCF = "http://wcf.dian.colombia"
NS_DIAN_RESPONSE = "http://schemas.datacontract.org/2004/07/DianResponse"
NS_ARRAYS = "http://schemas.microsoft.com/2003/10/Serialization/Arrays"
NS_DS = "http://www.w3.org/2000/09/xmldsig#"
X509_TOKEN = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3"  # noqa: S105 (a URI, not a secret)
BASE64_ENCODING = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)
#: How long DIAN may take to answer; its own Timestamp is valid five minutes.
TIMESTAMP_MINUTES = 5
#: "Regla: 90": DIAN already holds this very document (a resend of a registered event).
ALREADY_REGISTERED_RULE = "90"


class DianError(Exception):
    """DIAN could not be asked, or answered in a way that cannot be read."""


class DianTransient(DianError):
    """A timeout, a refused connection, TLS trouble or a 5xx: worth trying again later."""


@dataclass(frozen=True)
class DianAnswer:
    """DIAN's answer, as its DianResponse carries it."""

    is_valid: bool
    status_code: str
    status_description: str
    errors: tuple[str, ...]
    document_key: str
    payload: bytes = b""

    @property
    def rules(self) -> tuple[str, ...]:
        """The rule numbers of the error lines ("Regla: 90, Rechazo: ..." gives "90")."""
        found = []
        for line in self.errors:
            head = line.split(",", 1)[0]
            if head.strip().lower().startswith("regla:"):
                found.append(head.split(":", 1)[1].strip())
        return tuple(found)

    @property
    def already_registered(self) -> bool:
        return ALREADY_REGISTERED_RULE in self.rules

    @property
    def registered(self) -> bool:
        """Registered now, or earlier (a resend DIAN reports as already registered)."""
        return self.is_valid or self.already_registered

    def registered_cudes(self) -> set[str]:
        """The event keys a GetStatusEvent answer lists (its XmlBase64Bytes ApplicationResponse)."""
        if not self.payload:
            return set()
        root = etree.fromstring(self.payload, parser=untrusted_parser())
        return {
            (element.text or "").strip()
            for element in root.iter("{*}UUID")
            if element.get("schemeName") == "CUDE-SHA384"
        }


def zip_event(file_name: str, signed_xml: bytes) -> bytes:
    """The ZIP DIAN wants: one file, the signed event."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{file_name}.xml", signed_xml)
    return buffer.getvalue()


class DianClient:
    """One organization's conversation with DIAN's web service."""

    def __init__(
        self,
        *,
        url: str,
        identity: SigningIdentity,
        ca_bundle: str | None = None,
        timeout: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        self.url = url
        self.identity = identity
        self.timeout = timeout
        self.session = session or trust_our_stores(requests.Session(), ca_bundle)

    def send_event(self, *, file_name: str, signed_xml: bytes) -> DianAnswer:
        """SendEventUpdateStatus: DIAN validates the event and registers it, or says why not."""
        content = base64.b64encode(zip_event(file_name, signed_xml)).decode("ascii")
        return self._call("SendEventUpdateStatus", {"contentFile": content})

    def get_status_event(self, *, cufe: str) -> DianAnswer:
        """GetStatusEvent: the events DIAN holds for the invoice `cufe`."""
        return self._call("GetStatusEvent", {"trackId": cufe})

    def envelope(self, operation: str, arguments: dict[str, str], *, now: dt.datetime) -> bytes:
        """The signed SOAP 1.2 envelope of one call (public so tests can look at it)."""
        return build_envelope(
            url=self.url, operation=operation, arguments=arguments, identity=self.identity, now=now
        )

    def _call(self, operation: str, arguments: dict[str, str]) -> DianAnswer:
        body = self.envelope(operation, arguments, now=dt.datetime.now(dt.UTC))
        headers = {
            "Content-Type": (
                f'application/soap+xml; charset=utf-8; action="{ACTION_PREFIX}{operation}"'
            )
        }
        try:
            response = self.session.post(self.url, data=body, headers=headers, timeout=self.timeout)
        except requests.Timeout as error:
            raise DianTransient("La DIAN no respondió a tiempo.") from error
        except requests.exceptions.SSLError as error:
            raise DianTransient("No se pudo verificar el certificado TLS de la DIAN.") from error
        except requests.RequestException as error:
            raise DianTransient("No se pudo conectar con la DIAN.") from error
        if response.status_code >= 500 and b"Fault" not in response.content[:2000]:
            raise DianTransient(f"La DIAN respondió HTTP {response.status_code}.")
        return parse_answer(response.content, operation)


def build_envelope(
    *,
    url: str,
    operation: str,
    arguments: dict[str, str],
    identity: SigningIdentity,
    now: dt.datetime,
) -> bytes:
    """SOAP 1.2 envelope with WS-Security: token, timestamp, signature over timestamp and To."""
    nsmap = {"soap": NS_SOAP, "wsa": NS_WSA, "wcf": NS_WCF}
    envelope = etree.Element(f"{{{NS_SOAP}}}Envelope", nsmap=nsmap)
    header = etree.SubElement(envelope, f"{{{NS_SOAP}}}Header")
    security = etree.SubElement(
        header,
        f"{{{NS_WSSE}}}Security",
        {f"{{{NS_SOAP}}}mustUnderstand": "true"},
        nsmap={"wsse": NS_WSSE, "wsu": NS_WSU},
    )
    suffix = uuid.uuid4().hex
    timestamp = etree.SubElement(
        security, f"{{{NS_WSU}}}Timestamp", {f"{{{NS_WSU}}}Id": f"TS-{suffix}"}
    )
    etree.SubElement(timestamp, f"{{{NS_WSU}}}Created").text = _instant(now)
    etree.SubElement(timestamp, f"{{{NS_WSU}}}Expires").text = _instant(
        now + dt.timedelta(minutes=TIMESTAMP_MINUTES)
    )
    token = etree.SubElement(
        security,
        f"{{{NS_WSSE}}}BinarySecurityToken",
        {
            "EncodingType": BASE64_ENCODING,
            "ValueType": X509_TOKEN,
            f"{{{NS_WSU}}}Id": f"X509-{suffix}",
        },
    )
    token.text = base64.b64encode(identity.certificate.public_bytes(Encoding.DER)).decode()
    etree.SubElement(header, f"{{{NS_WSA}}}Action").text = ACTION_PREFIX + operation
    to = etree.SubElement(
        header, f"{{{NS_WSA}}}To", {f"{{{NS_WSU}}}Id": f"id-{suffix}"}, nsmap={"wsu": NS_WSU}
    )
    to.text = url
    body = etree.SubElement(envelope, f"{{{NS_SOAP}}}Body")
    call = etree.SubElement(body, f"{{{NS_WCF}}}{operation}")
    for name, value in arguments.items():
        etree.SubElement(call, f"{{{NS_WCF}}}{name}").text = value

    key_info = etree.Element(f"{{{NS_DS}}}KeyInfo", nsmap={"ds": NS_DS})
    reference = etree.SubElement(
        etree.SubElement(key_info, f"{{{NS_WSSE}}}SecurityTokenReference", nsmap={"wsse": NS_WSSE}),
        f"{{{NS_WSSE}}}Reference",
        {"URI": f"#X509-{suffix}", "ValueType": X509_TOKEN},
    )
    del reference
    signer = XMLSigner(
        method=SignatureConstructionMethod.detached,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signature = signer.sign(
        envelope,
        key=identity.key,
        reference_uri=[f"#TS-{suffix}", f"#id-{suffix}"],
        key_info=key_info,
    )
    security.append(signature)
    return etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")


def _instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_answer(content: bytes, operation: str) -> DianAnswer:
    """Read a DianResponse (IsValid, StatusCode, StatusDescription, ErrorMessage, key)."""
    try:
        root = etree.fromstring(content, parser=untrusted_parser())
    except etree.XMLSyntaxError as error:
        raise DianError("La respuesta de la DIAN no es XML.") from error
    fault = root.find(f".//{{{NS_SOAP}}}Fault")
    if fault is not None:
        reason = " ".join(fault.itertext()).strip()
        raise DianError(f"La DIAN rechazó la solicitud: {reason[:300]}")
    result = root.find(f".//{{{NS_WCF}}}{operation}Result")
    if result is None:
        raise DianError("La respuesta de la DIAN no trae el resultado de la operación.")

    def text(name: str) -> str:
        return (result.findtext(f"{{{NS_DIAN_RESPONSE}}}{name}") or "").strip()

    errors = tuple(
        (line.text or "").strip()
        for line in result.iterfind(f"{{{NS_DIAN_RESPONSE}}}ErrorMessage/{{{NS_ARRAYS}}}string")
        if (line.text or "").strip()
    )
    payload_b64 = text("XmlBase64Bytes")
    try:
        payload = base64.b64decode(payload_b64) if payload_b64 else b""
    except ValueError as error:
        raise DianError("La respuesta de la DIAN trae un XML ilegible.") from error
    return DianAnswer(
        is_valid=text("IsValid").lower() == "true",
        status_code=text("StatusCode"),
        status_description=text("StatusDescription"),
        errors=errors,
        document_key=text("XmlDocumentKey"),
        payload=payload,
    )
