"""The DIAN web-service client against the fake DIAN (HTTPS, SOAP 1.2, WS-Security)."""

from __future__ import annotations

import datetime as dt

import pytest

from invoices.business_days import add_business_days
from invoices.dian.certificates import SigningIdentity, load_pkcs12
from invoices.dian.radian import (
    COLOMBIA,
    EventParty,
    EventRequest,
    ReceiverPerson,
    Software,
    build_event,
    read_event,
)
from invoices.dian.xades import sign_event
from invoices.radian.client import DianClient, DianError, DianTransient, zip_event
from tests.harness.dian import FakeDian
from tests.harness.dian_pki import P12_PASSWORD, SigningCA
from tests.harness.pki import TestPKI

SOFTWARE = Software("900373979", "1", "56f2ae4e-9812-4fad-9255-08fcfcd5ccb0", "12345")
PERSON = ReceiverPerson("Ana Pérez", "52123456", "Almacenista", "Bodega")
CUFE = "b" * 96


@pytest.fixture
def identity(dian_signing_ca: SigningCA) -> SigningIdentity:
    return load_pkcs12(dian_signing_ca.pkcs12(nit="900373979"), P12_PASSWORD)


@pytest.fixture
def dian(fake_dian: FakeDian) -> FakeDian:
    fake_dian.register_software(SOFTWARE.software_id, SOFTWARE.pin)
    return fake_dian


def client(dian: FakeDian, pki: TestPKI, identity: SigningIdentity) -> DianClient:
    return DianClient(url=dian.url, identity=identity, ca_bundle=str(pki.ca_pem), timeout=2.0)


def event(identity: SigningIdentity, code: str, number: str, software: Software = SOFTWARE):
    root = build_event(
        EventRequest(
            number=number,
            code=code,
            issued_at=dt.datetime.now(COLOMBIA).replace(microsecond=0),
            sender=EventParty("900373979", "Comprador", "1"),
            receiver=EventParty("900373972", "Proveedor", "8"),
            invoice_number="SETP990000002",
            invoice_cufe=CUFE,
            software=software,
            person=PERSON if code in ("032", "033") else None,
            concept="02" if code == "031" else "",
            note="Faltaron cajas" if code == "031" else "",
        )
    )
    return sign_event(
        root,
        key=identity.key,
        certificate=identity.certificate,
        chain=identity.chain,
        signing_time=dt.datetime.now(COLOMBIA).replace(microsecond=0),
    )


def send(c: DianClient, xml: bytes):
    return c.send_event(file_name="z", signed_xml=xml)


def test_it_registers_030_032_033_in_order(dian, harness_pki, identity) -> None:
    c = client(dian, harness_pki, identity)
    for number, code in (("E1", "030"), ("E2", "032"), ("E3", "033")):
        answer = send(c, event(identity, code, number))
        assert answer.is_valid, answer.errors
        assert answer.status_code == "00"
    assert [e.code for e in dian.registered(CUFE)] == ["030", "032", "033"]


def test_a_resend_is_already_registered_and_counts_once(dian, harness_pki, identity) -> None:
    c = client(dian, harness_pki, identity)
    xml = event(identity, "030", "E1")
    assert send(c, xml).registered
    again = send(c, xml)
    assert not again.is_valid
    assert again.already_registered and again.registered
    assert dian.registrations == 1


def test_032_without_030_is_rejected_with_the_rule(dian, harness_pki, identity) -> None:
    answer = send(client(dian, harness_pki, identity), event(identity, "032", "E1"))
    assert not answer.registered
    assert answer.rules == ("LGC01",)
    assert "acuse de recibo (030)" in answer.errors[0]


def test_a_wrong_pin_breaks_the_cude_and_the_security_code(dian, harness_pki, identity) -> None:
    wrong = Software(SOFTWARE.provider_nit, "1", SOFTWARE.software_id, "99999")
    answer = send(client(dian, harness_pki, identity), event(identity, "030", "E1", wrong))
    assert set(answer.rules) == {"AAB27b", "AAD06"}


def test_an_expired_certificate_is_rejected(dian, harness_pki, dian_signing_ca) -> None:
    now = dt.datetime.now(dt.UTC)
    expired = load_pkcs12(
        dian_signing_ca.pkcs12(
            nit="900373979",
            valid_from=now - dt.timedelta(days=400),
            valid_until=now - dt.timedelta(days=1),
        ),
        P12_PASSWORD,
    )
    answer = send(client(dian, harness_pki, expired), event(expired, "030", "E1"))
    assert answer.rules == ("ZE04",)
    assert "vencido" in answer.errors[0]


def test_a_certificate_from_an_unknown_authority_is_rejected(dian, harness_pki) -> None:
    stranger = SigningCA.create("Otra autoridad")
    other = load_pkcs12(stranger.pkcs12(nit="900373979"), P12_PASSWORD)
    answer = send(client(dian, harness_pki, other), event(other, "030", "E1"))
    assert answer.rules == ("ZE05",)


def test_a_claim_after_three_business_days_is_rejected(dian, harness_pki, identity) -> None:
    c = client(dian, harness_pki, identity)
    send(c, event(identity, "030", "E1"))
    send(c, event(identity, "032", "E2"))
    receipt = dian.registered(CUFE)[-1].registered_on
    dian.today = add_business_days(receipt, 4)
    answer = send(c, event(identity, "031", "E3"))
    assert answer.rules == ("LGC03",)
    dian.today = add_business_days(receipt, 3)
    assert send(c, event(identity, "031", "E4")).is_valid


def test_a_wsse_signature_by_another_key_is_a_fault(dian, harness_pki, identity) -> None:
    other = load_pkcs12(SigningCA.create().pkcs12(nit="1"), P12_PASSWORD)
    forged = SigningIdentity(key=other.key, certificate=identity.certificate)
    with pytest.raises(DianError, match="verifying security"):
        send(client(dian, harness_pki, forged), event(identity, "030", "E1"))
    assert dian.registrations == 0


def test_timeouts_and_5xx_are_transient(dian, harness_pki, identity) -> None:
    c = client(dian, harness_pki, identity)
    dian.fail_next("timeout")
    with pytest.raises(DianTransient):
        send(c, event(identity, "030", "E1"))
    dian.fail_next("5xx")
    with pytest.raises(DianTransient):
        send(c, event(identity, "030", "E1"))
    assert dian.registrations == 0


def test_get_status_event_lists_what_a_lost_answer_registered(dian, harness_pki, identity) -> None:
    c = client(dian, harness_pki, identity)
    xml = event(identity, "030", "E1")
    dian.fail_next("timeout_after_register")
    with pytest.raises(DianTransient):
        send(c, xml)
    status = c.get_status_event(cufe=CUFE)
    assert read_event_cude(xml) in status.registered_cudes()
    assert dian.registrations == 1


def test_the_ca_bundle_is_required_to_trust_the_fake(dian, identity) -> None:
    c = DianClient(url=dian.url, identity=identity, ca_bundle=None, timeout=2.0)
    with pytest.raises(DianTransient, match="TLS"):
        send(c, event(identity, "030", "E1"))


def test_zip_holds_one_xml() -> None:
    import io
    import zipfile

    assert zipfile.ZipFile(io.BytesIO(zip_event("z", b"<x/>"))).namelist() == ["z.xml"]


def read_event_cude(xml: bytes) -> str:
    from invoices.dian.radian import parse_event_xml

    return read_event(parse_event_xml(xml)).cude


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda body, url: body.replace(f">{url}<".encode(), b">https://elsewhere/<"), "To"),
        (lambda body, url: body.replace(b"<wsu:Created>", b"<wsu:Created>1"), "security"),
        (
            lambda body, url: body.replace(
                b"IWcfDianCustomerServices/SendEventUpdateStatus<",
                b"IWcfDianCustomerServices/GetStatusEvent<",
            ),
            "Action",
        ),
    ],
)
def test_the_fake_refuses_envelopes_changed_after_signing(
    dian, harness_pki, identity, tamper, reason
) -> None:
    """The fake's WS-Security checks can fail: a changed To, Timestamp or Action is a fault."""
    c = client(dian, harness_pki, identity)
    body = c.envelope("SendEventUpdateStatus", {"contentFile": "UEs="}, now=dt.datetime.now(dt.UTC))
    response = c.session.post(
        dian.url,
        data=tamper(body, dian.url),
        headers={
            "Content-Type": 'application/soap+xml; charset=utf-8; action="http://wcf.dian.'
            'colombia/IWcfDianCustomerServices/SendEventUpdateStatus"'
        },
        timeout=2,
    )
    assert response.status_code == 500
    assert b"Fault" in response.content
    assert reason.lower() in response.text.lower()
