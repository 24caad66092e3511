"""A fake of DIAN's web service for RADIAN events (HTTPS, SOAP 1.2), built to its contract.

It answers ``SendEventUpdateStatus`` and ``GetStatusEvent`` as DIAN's WCF service does (a
``DianResponse`` with IsValid, StatusCode, StatusDescription, ErrorMessage, XmlDocumentKey),
after checking what DIAN checks:

- WS-Security: the X.509 BinarySecurityToken, a signature over exactly the Timestamp and the
  ``wsa:To`` header made with that token's key, a Timestamp that is current, ``wsa:To`` naming
  this endpoint and ``wsa:Action`` naming the body's operation; otherwise a SOAP Fault, as WCF
  answers a message it cannot authenticate.
- The event: one XML in the ZIP, an XAdES-EPES signature under DIAN's policy that verifies, a
  certificate issued by a trusted authority and valid now, the SoftwareSecurityCode and the
  CUDE recomputed with the PIN DIAN holds for the software, a concept on a claim, the receiving
  person on 032/033.
- The order: 032 needs 030; 033 and 031 need 032 and must arrive within three business days of
  it (Colombian holidays, `invoices.business_days`); one final event (031 or 033) per invoice.
- A resend of a registered event answers "Regla: 90 ... Documento procesado anteriormente".

Rule codes quoted by public material are used where known (90, AAD06); the others are this
harness's labels, written in DIAN's "Regla: X, Rechazo: text" shape.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import threading
import zipfile
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from cryptography import x509
from lxml import etree
from signxml import SignatureConfiguration, XMLVerifier

from invoices.business_days import tacit_acceptance_deadline
from invoices.dian.radian import COLOMBIA, RadianError, parse_event_xml, read_event
from invoices.dian.radian import software_security_code as expected_security_code
from invoices.dian.xades import SignatureRefused, verify_event

from .httpserver import HTTPServerThread, Request, Response
from .pki import TestPKI

NS_SOAP = "http://www.w3.org/2003/05/soap-envelope"
NS_WSA = "http://www.w3.org/2005/08/addressing"
NS_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
NS_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
NS_WCF = "http://wcf.dian.colombia"
ACTION_PREFIX = "http://wcf.dian.colombia/IWcfDianCustomerServices/"
PATH = "/WcfDianCustomerServices.svc"
OPERATIONS = ("SendEventUpdateStatus", "GetStatusEvent")
CLOCK_SKEW = dt.timedelta(minutes=5)

OK_DESCRIPTION = "Procesado Correctamente."
REJECTED_DESCRIPTION = "Validación contiene errores en campos mandatorios."

RULE_ALREADY = "Regla: 90, Rechazo: Documento procesado anteriormente."
RULE_CUDE = "Regla: AAD06, Rechazo: El valor del CUDE no está calculado correctamente."
RULE_SECURITY_CODE = (
    "Regla: AAB27b, Rechazo: El código de seguridad del software no corresponde al software "
    "y PIN registrados."
)
RULE_SOFTWARE = "Regla: AAB24b, Rechazo: El software no está registrado en la DIAN."
RULE_SIGNATURE = "Regla: ZE02, Rechazo: Valor de la firma inválido."
RULE_CERT_EXPIRED = "Regla: ZE04, Rechazo: El certificado de firma está vencido."
RULE_CERT_NOT_YET = "Regla: ZE04, Rechazo: El certificado de firma aún no está vigente."
RULE_CERT_UNTRUSTED = (
    "Regla: ZE05, Rechazo: El certificado de firma no fue emitido por una entidad de "
    "certificación reconocida."
)
RULE_ZIP = "Regla: ZB01, Rechazo: El archivo ZIP debe contener un único documento XML."
RULE_SCHEMA = "Regla: ZB01, Rechazo: Fallo en el esquema XML del archivo."
RULE_CONCEPT = "Regla: AAH03, Rechazo: El reclamo (031) debe informar el concepto del reclamo."
RULE_PERSON = "Regla: AAH04, Rechazo: El evento debe informar la persona que recibe o acepta."
RULE_NEEDS_030 = (
    "Regla: LGC01, Rechazo: No se puede registrar el recibo del bien y/o prestación del "
    "servicio (032) sin el acuse de recibo (030) de la factura."
)
RULE_NEEDS_032 = (
    "Regla: LGC02, Rechazo: No se puede registrar el evento sin el recibo del bien y/o "
    "prestación del servicio (032)."
)
RULE_DEADLINE = (
    "Regla: LGC03, Rechazo: El evento se recibió después de los tres días hábiles siguientes "
    "al recibo del bien y/o prestación del servicio; la factura quedó aceptada tácitamente."
)
RULE_FINAL = "Regla: LGC04, Rechazo: La factura ya tiene una aceptación o un reclamo registrado."
RULE_REPEATED_CODE = "Regla: LGC05, Rechazo: El evento ya fue registrado para esta factura."


@dataclass
class RegisteredEvent:
    code: str
    cude: str
    number: str
    registered_on: dt.date
    xml: bytes = field(repr=False)


class FakeDian:
    """DIAN's event web service on 127.0.0.1 over HTTPS with the harness's test CA."""

    def __init__(self, pki: TestPKI, signing_ca_pem: bytes) -> None:
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(pki.cert_chain_pem), str(pki.key_pem))
        self._trusted = x509.load_pem_x509_certificates(signing_ca_pem)
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = HTTPServerThread(self._dispatch, tls=context)
        self.url = self._server.url + PATH
        self.reset()

    # --- test controls --------------------------------------------------------------------

    def reset(self) -> None:
        self._release.set()
        with self._lock:
            self.software: dict[str, str] = {}
            self.events: dict[str, list[RegisteredEvent]] = {}
            self.faults: list[str] = []
            self.calls: list[str] = []
            self.registrations = 0
            self.today: dt.date | None = None
            self.server_errors = self._server.errors
            self.server_errors.clear()
        self._release = threading.Event()

    def register_software(self, software_id: str, pin: str) -> None:
        """The software as the organization registered it at DIAN (id and PIN)."""
        with self._lock:
            self.software[software_id] = pin

    def fail_next(self, kind: str) -> None:
        """`"timeout"`: hang without registering; `"timeout_after_register"`: register, then
        hang (the answer is lost); `"5xx"`: answer 503."""
        assert kind in {"timeout", "timeout_after_register", "5xx"}
        with self._lock:
            self.faults.append(kind)

    def registered(self, cufe: str) -> list[RegisteredEvent]:
        with self._lock:
            return list(self.events.get(cufe, ()))

    def stop(self) -> None:
        self._release.set()
        self._server.stop()

    # --- the service ------------------------------------------------------------------------

    def _today(self) -> dt.date:
        return self.today or dt.datetime.now(COLOMBIA).date()

    def _dispatch(self, request: Request) -> Response:
        if request.method != "POST" or request.path != PATH:
            return Response(404, b"Not found", content_type="text/plain")
        with self._lock:
            fault = self.faults.pop(0) if self.faults else None
        if fault == "5xx":
            return Response(503, b"<html>Service Unavailable</html>", content_type="text/html")
        if fault == "timeout":
            self._hang()
            return Response(504, b"", content_type="text/plain")
        try:
            envelope = etree.fromstring(request.body)
        except etree.XMLSyntaxError:
            return _fault("The message is not well-formed XML.")
        problem, operation = self._check_security(envelope, request)
        if problem:
            return _fault(problem)
        with self._lock:
            self.calls.append(operation)
        call = envelope.find(f"{{{NS_SOAP}}}Body/{{{NS_WCF}}}{operation}")
        if operation == "GetStatusEvent":
            answer = self._status_event(call.findtext(f"{{{NS_WCF}}}trackId") or "")
        else:
            answer = self._send_event(call.findtext(f"{{{NS_WCF}}}contentFile") or "")
        if fault == "timeout_after_register":
            self._hang()
        return Response(200, answer, content_type="application/soap+xml; charset=utf-8")

    def _hang(self) -> None:
        self._release.wait(timeout=30)

    def _check_security(self, envelope: etree._Element, request: Request) -> tuple[str, str]:
        header = envelope.find(f"{{{NS_SOAP}}}Header")
        body = envelope.find(f"{{{NS_SOAP}}}Body")
        if header is None or body is None or len(body) != 1:
            return "An error occurred when verifying security for the message.", ""
        operation = etree.QName(body[0]).localname
        action = header.findtext(f"{{{NS_WSA}}}Action") or ""
        to = header.find(f"{{{NS_WSA}}}To")
        security = header.find(f"{{{NS_WSSE}}}Security")
        token = security.find(f"{{{NS_WSSE}}}BinarySecurityToken") if security is not None else None
        timestamp = security.find(f"{{{NS_WSU}}}Timestamp") if security is not None else None
        if operation not in OPERATIONS or action != ACTION_PREFIX + operation:
            return f"The message with Action '{action}' cannot be processed.", ""
        if f'action="{action}"' not in request.headers.get("content-type", ""):
            return "The SOAP action in the Content-Type does not match wsa:Action.", ""
        if to is None or to.text != self.url:
            return "The message's wsa:To does not name this endpoint.", ""
        if token is None or timestamp is None:
            return "An error occurred when verifying security for the message.", ""
        try:
            certificate = x509.load_der_x509_certificate(base64.b64decode(token.text or ""))
            results = XMLVerifier().verify(
                envelope,
                x509_cert=certificate,
                # Validity is the event's rule (ZE04), answered in DIAN's words, not a fault.
                expect_config=SignatureConfiguration(
                    expect_references=2, verification_time=certificate.not_valid_before_utc
                ),
            )
        except Exception:  # any failure to verify is the same answer for the client
            return "An error occurred when verifying security for the message.", ""
        # See what is signed: the Timestamp and the To judged below are the signed ones.
        signed = {etree.QName(result.signed_xml).text: result.signed_xml for result in results}
        if set(signed) != {f"{{{NS_WSU}}}Timestamp", f"{{{NS_WSA}}}To"} or len(results) != 2:
            return "The signature must cover the Timestamp and the wsa:To header.", ""
        timestamp = signed[f"{{{NS_WSU}}}Timestamp"]
        if signed[f"{{{NS_WSA}}}To"].text != self.url:
            return "The signed wsa:To does not name this endpoint.", ""
        created = _instant(timestamp.findtext(f"{{{NS_WSU}}}Created"))
        expires = _instant(timestamp.findtext(f"{{{NS_WSU}}}Expires"))
        now = dt.datetime.now(dt.UTC)
        if created is None or expires is None or created > now + CLOCK_SKEW or expires < now:
            return "The security timestamp is invalid or has expired.", ""
        return "", operation

    def _send_event(self, content_file: str) -> bytes:
        try:
            archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(content_file)))
            names = [name for name in archive.namelist() if not name.endswith("/")]
            if len(names) != 1 or not names[0].lower().endswith(".xml"):
                return _answer("SendEventUpdateStatus", rejected=[RULE_ZIP])
            data = archive.read(names[0])
        except (zipfile.BadZipFile, ValueError):
            return _answer("SendEventUpdateStatus", rejected=[RULE_ZIP])
        try:
            facts = read_event(parse_event_xml(data))
        except RadianError:
            return _answer("SendEventUpdateStatus", rejected=[RULE_SCHEMA])
        rules = self._event_rules(data, facts)
        with self._lock:
            registered = self.events.setdefault(facts.invoice_cufe, [])
            if any(event.cude == facts.cude for event in registered):
                return _answer("SendEventUpdateStatus", rejected=[RULE_ALREADY], key=facts.cude)
            rules += self._order_rules(facts, registered)
            if rules:
                return _answer("SendEventUpdateStatus", rejected=rules, key=facts.cude)
            registered.append(
                RegisteredEvent(facts.code, facts.cude, facts.number, self._today(), data)
            )
            self.registrations += 1
        return _answer("SendEventUpdateStatus", key=facts.cude)

    def _event_rules(self, data: bytes, facts) -> list[str]:
        rules: list[str] = []
        try:
            certificate = verify_event(data)
        except SignatureRefused:
            return [RULE_SIGNATURE]
        now = dt.datetime.now(dt.UTC)
        if not any(_issued_by(certificate, ca) for ca in self._trusted):
            rules.append(RULE_CERT_UNTRUSTED)
        elif now > certificate.not_valid_after_utc:
            rules.append(RULE_CERT_EXPIRED)
        elif now < certificate.not_valid_before_utc:
            rules.append(RULE_CERT_NOT_YET)
        pin = self.software.get(facts.software_id)
        if pin is None:
            return [*rules, RULE_SOFTWARE]
        if facts.software_security_code != expected_security_code(
            facts.software_id, pin, facts.number
        ):
            rules.append(RULE_SECURITY_CODE)
        if facts.cude != facts.expected_cude(pin):
            rules.append(RULE_CUDE)
        if facts.code == "031" and facts.concept not in ("01", "02", "03", "04"):
            rules.append(RULE_CONCEPT)
        if facts.code in ("032", "033") and not facts.has_person:
            rules.append(RULE_PERSON)
        return rules

    def _order_rules(self, facts, registered: list[RegisteredEvent]) -> list[str]:
        codes = {event.code: event for event in registered}
        if facts.code in codes:
            return [RULE_REPEATED_CODE]
        if facts.code == "032" and "030" not in codes:
            return [RULE_NEEDS_030]
        if facts.code in ("031", "033"):
            if "031" in codes or "033" in codes:
                return [RULE_FINAL]
            receipt = codes.get("032")
            if receipt is None:
                return [RULE_NEEDS_032]
            if self._today() > tacit_acceptance_deadline(receipt.registered_on):
                return [RULE_DEADLINE]
        return []

    def _status_event(self, cufe: str) -> bytes:
        with self._lock:
            registered = list(self.events.get(cufe, ()))
        responses = "".join(
            "<cac:DocumentResponse><cac:Response>"
            f"<cbc:ResponseCode>{event.code}</cbc:ResponseCode></cac:Response>"
            "<cac:DocumentReference>"
            f"<cbc:ID>{escape(event.number)}</cbc:ID>"
            f'<cbc:UUID schemeName="CUDE-SHA384">{event.cude}</cbc:UUID>'
            "</cac:DocumentReference></cac:DocumentResponse>"
            for event in registered
        )
        listing = (
            '<ApplicationResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:'
            'ApplicationResponse-2" xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:'
            'CommonAggregateComponents-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:'
            f'xsd:CommonBasicComponents-2">{responses}</ApplicationResponse>'
        ).encode()
        return _answer("GetStatusEvent", key=cufe, payload=listing)


def _issued_by(certificate: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(ca)
    except (ValueError, TypeError, Exception):
        return False
    return True


def _instant(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _fault(reason: str) -> Response:
    body = (
        f'<s:Envelope xmlns:s="{NS_SOAP}"><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value>'
        '<s:Subcode><s:Value xmlns:a="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-'
        'wssecurity-secext-1.0.xsd">a:InvalidSecurity</s:Value></s:Subcode></s:Code>'
        f'<s:Reason><s:Text xml:lang="en-US">{escape(reason)}</s:Text></s:Reason>'
        "</s:Fault></s:Body></s:Envelope>"
    ).encode()
    return Response(500, body, content_type="application/soap+xml; charset=utf-8")


def _answer(
    operation: str,
    *,
    rejected: list[str] | None = None,
    key: str = "",
    payload: bytes = b"",
) -> bytes:
    errors = "".join(f"<c:string>{escape(rule)}</c:string>" for rule in rejected or [])
    valid = not rejected
    return (
        f'<s:Envelope xmlns:s="{NS_SOAP}" xmlns:a="{NS_WSA}"><s:Header>'
        f'<a:Action s:mustUnderstand="1">{ACTION_PREFIX}{operation}Response</a:Action>'
        f'</s:Header><s:Body><{operation}Response xmlns="{NS_WCF}">'
        f'<{operation}Result xmlns:b="http://schemas.datacontract.org/2004/07/DianResponse" '
        'xmlns:i="http://www.w3.org/2001/XMLSchema-instance">'
        '<b:ErrorMessage xmlns:c="http://schemas.microsoft.com/2003/10/Serialization/Arrays">'
        f"{errors}</b:ErrorMessage>"
        f"<b:IsValid>{'true' if valid else 'false'}</b:IsValid>"
        f"<b:StatusCode>{'00' if valid else '99'}</b:StatusCode>"
        f"<b:StatusDescription>{OK_DESCRIPTION if valid else REJECTED_DESCRIPTION}"
        "</b:StatusDescription>"
        f"<b:StatusMessage>{'La Factura electrónica ha sido autorizada.' if valid else ''}"
        "</b:StatusMessage>"
        f"<b:XmlBase64Bytes>{base64.b64encode(payload).decode()}</b:XmlBase64Bytes>"
        '<b:XmlBytes i:nil="true"/>'
        f"<b:XmlDocumentKey>{escape(key)}</b:XmlDocumentKey>"
        f"</{operation}Result></{operation}Response></s:Body></s:Envelope>"
    ).encode()
