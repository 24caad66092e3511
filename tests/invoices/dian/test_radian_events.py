"""The event document, its CUDE and its XAdES-EPES signature (pure package, no Django)."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from lxml import etree

from invoices.dian.certificates import (
    CertificateProblem,
    load_pkcs12,
    nit_match,
    validity_problem,
)
from invoices.dian.radian import (
    COLOMBIA,
    EventParty,
    EventRequest,
    RadianError,
    ReceiverPerson,
    Software,
    build_event,
    event_cude,
    parse_event_xml,
    read_event,
    software_security_code,
)
from invoices.dian.xades import SignatureRefused, sign_event, verify_event
from tests.harness.dian_pki import P12_PASSWORD, SigningCA

BUYER = EventParty(nit="900373979", check_digit="1", name="Comprador S.A.S.")
SUPPLIER = EventParty(nit="900373972", check_digit="8", name="Proveedor S.A.S.")
SOFTWARE = Software(
    provider_nit="900373979",
    provider_check_digit="1",
    software_id="56f2ae4e-9812-4fad-9255-08fcfcd5ccb0",
    pin="12345",
)
PERSON = ReceiverPerson(
    name="Ana María Pérez", identification="52123456", job_title="Almacenista", department="Bodega"
)
ISSUED = dt.datetime(2026, 3, 10, 9, 30, 5, tzinfo=COLOMBIA)
CUFE = "a" * 96


def request(code: str = "030", **overrides) -> EventRequest:
    values = {
        "number": "EV1",
        "code": code,
        "issued_at": ISSUED,
        "sender": BUYER,
        "receiver": SUPPLIER,
        "invoice_number": "SETP990000002",
        "invoice_cufe": CUFE,
        "software": SOFTWARE,
        "person": PERSON if code in ("032", "033") else None,
        "concept": "02" if code == "031" else "",
    }
    values.update(overrides)
    return EventRequest(**values)


def test_cude_reproduces_the_annex_worked_example() -> None:
    """Anexo Técnico FEV v1.9 § 11.5.1: the annex's own example, quoted identically by several
    public implementations (it settles NitFE = generator of the event, DocAdq = its receiver)."""
    assert event_cude(
        number="1",
        issue_date="2019-04-30",
        issue_time="19:48:50-05:00",
        sender_nit="99998888",
        receiver_nit="800197268",
        code="030",
        document_id="FE123",
        document_type_code="01",
        software_pin="11111",
    ) == (
        "0d91ba25b01f5e7dbda870a11b274501d3a62a73e91932c473c86c93f12a142a"
        "2ac45876efcde3e679024a01c0be41f9"
    )


def test_cude_has_no_amounts_and_no_environment_digit() -> None:
    seed = "EV12026-03-1009:30:05-05:00900373979900373972030SETP9900000020112345"
    assert read_event(build_event(request())).cude == hashlib.sha384(seed.encode()).hexdigest()


def test_software_security_code_is_sha384_of_id_pin_and_number() -> None:
    expected = hashlib.sha384(f"{SOFTWARE.software_id}12345EV1".encode()).hexdigest()
    assert software_security_code(SOFTWARE.software_id, "12345", "EV1") == expected
    assert read_event(build_event(request())).software_security_code == expected


@pytest.mark.parametrize("code", ["030", "031", "032", "033"])
def test_each_event_reads_back_as_built(code: str) -> None:
    facts = read_event(build_event(request(code)))
    assert (facts.code, facts.number, facts.invoice_number, facts.invoice_cufe) == (
        code,
        "EV1",
        "SETP990000002",
        CUFE,
    )
    assert (facts.sender_nit, facts.receiver_nit) == ("900373979", "900373972")
    assert facts.concept == ("02" if code == "031" else "")
    assert facts.has_person == (code in ("032", "033"))
    assert facts.cude == facts.expected_cude("12345")
    assert (facts.issue_date, facts.issue_time) == ("2026-03-10", "09:30:05-05:00")


def test_dian_extension_names_the_authorization_provider_and_the_software() -> None:
    root = build_event(request())
    ns = {"sts": "dian:gov:co:facturaelectronica:Structures-2-1"}
    assert root.findtext(".//sts:AuthorizationProviderID", namespaces=ns) == "800197268"
    assert root.findtext(".//sts:SoftwareID", namespaces=ns) == SOFTWARE.software_id
    assert root.findtext(".//sts:ProviderID", namespaces=ns) == "900373979"


@pytest.mark.parametrize(
    ("code", "overrides", "message"),
    [
        ("031", {"concept": ""}, "concepto"),
        ("031", {"concept": "05"}, "concepto"),
        ("030", {"concept": "01"}, "Solo un reclamo"),
        ("032", {"person": None}, "persona"),
        ("034", {}, "solo genera"),
    ],
)
def test_events_the_annex_does_not_allow_are_refused(code, overrides, message) -> None:
    with pytest.raises(RadianError, match=message):
        build_event(request(code, **overrides))


@pytest.fixture(scope="module")
def ca() -> SigningCA:
    return SigningCA.create()


@pytest.fixture(scope="module")
def identity(ca: SigningCA):
    return load_pkcs12(ca.pkcs12(nit="900373979"), P12_PASSWORD)


def signed(identity, code: str = "030") -> bytes:
    return sign_event(
        build_event(request(code)),
        key=identity.key,
        certificate=identity.certificate,
        chain=identity.chain,
        signing_time=ISSUED,
    )


@pytest.mark.parametrize("code", ["030", "031", "032", "033"])
def test_signature_verifies_with_dian_policy(identity, code: str) -> None:
    assert verify_event(signed(identity, code)) == identity.certificate


def test_signature_is_xades_epes_inside_the_second_extension(identity) -> None:
    root = etree.fromstring(signed(identity))
    ns = {
        "ext": "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2",
        "ds": "http://www.w3.org/2000/09/xmldsig#",
        "xades": "http://uri.etsi.org/01903/v1.3.2#",
    }
    extensions = root.findall("ext:UBLExtensions/ext:UBLExtension", ns)
    assert extensions[1].find("ext:ExtensionContent/ds:Signature", ns) is not None
    assert (
        root.find(".//ds:SignatureMethod", ns).get("Algorithm")
        == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    )
    assert root.findtext(".//xades:SigningTime", namespaces=ns) == "2026-03-10T09:30:05-05:00"
    assert root.findtext(".//xades:SigPolicyId/xades:Identifier", namespaces=ns).endswith(
        "politicadefirmav2.pdf"
    )
    assert root.find(".//xades:SigningCertificateV2/xades:Cert/xades:CertDigest", ns) is not None


def test_a_changed_event_no_longer_verifies(identity) -> None:
    tampered = signed(identity).replace(b">030<", b">033<")
    with pytest.raises(SignatureRefused):
        verify_event(tampered)


def test_parse_refuses_doctype() -> None:
    with pytest.raises(RadianError):
        parse_event_xml(b'<!DOCTYPE x [<!ENTITY e "x">]><x/>')


def test_wrong_password_is_said_in_spanish(ca: SigningCA) -> None:
    with pytest.raises(CertificateProblem, match="contraseña no corresponde"):
        load_pkcs12(ca.pkcs12(nit="900373979"), "otra")


def test_a_file_without_private_key_is_refused(ca: SigningCA) -> None:
    data = ca.pkcs12(nit="900373979", with_key=False)
    assert pkcs12.load_key_and_certificates(data, P12_PASSWORD.encode())[0] is None
    with pytest.raises(CertificateProblem, match="llave privada"):
        load_pkcs12(data, P12_PASSWORD)


def test_expired_and_future_certificates_are_named(ca: SigningCA) -> None:
    now = dt.datetime.now(dt.UTC)
    _key, old = ca.issue(
        nit="1", valid_from=now - dt.timedelta(days=400), valid_until=now - dt.timedelta(days=1)
    )
    _key, future = ca.issue(nit="1", valid_from=now + dt.timedelta(days=2))
    assert "venció" in validity_problem(old, now=now)
    assert "aún no es válido" in validity_problem(future, now=now)


def test_nit_in_subject_is_matched_with_or_without_check_digit(ca: SigningCA) -> None:
    assert nit_match(ca.issue(nit="900373979")[1], "900.373.979-1") is True
    assert nit_match(ca.issue(nit="9003739791")[1], "900373979") is True
    assert nit_match(ca.issue(nit="800197268")[1], "900373979") is False
    assert nit_match(ca.issue(nit=None, name="Sin número")[1], "900373979") is None
