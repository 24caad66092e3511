"""A review step becomes a signed event that reaches the fake DIAN, and its answer is kept."""

from __future__ import annotations

import base64
import datetime as dt
import io
import zipfile

import pytest
from django.core import mail
from django.db import connection
from django_q.models import Schedule

from invoices.business_days import add_business_days
from invoices.dian.radian import parse_event_xml, read_event
from invoices.dian.xades import verify_event
from invoices.exceptions import ReviewRefused
from invoices.models import RadianEvent, RadianEventState, ReviewStatus
from invoices.radian_services import (
    dian_credentials_configure,
    radian_event_request,
    radian_event_send,
)
from invoices.tasks import radian_retry_due
from tests.factories.documents import IncomingMessageFactory, ReceivedDocumentFactory
from tests.factories.mailboxes import make_mailbox
from tests.harness.dian_pki import P12_PASSWORD
from tests.invoices.radian.helpers import SOFTWARE_PIN, configure_dian, credentials_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(org_a):
    return ReceivedDocumentFactory(organization=org_a)


@pytest.fixture
def dian(dian_settings, fake_dian, org_a, dian_signing_ca):
    configure_dian(org_a, dian_signing_ca, fake=fake_dian)
    return fake_dian


def step(document, actor, code: str, **kwargs):
    event = radian_event_request(document=document, actor=actor, code=code, **kwargs)
    return radian_event_send(event_id=event.pk)


def test_it_takes_030_032_033_to_registrado(dian, invoice, bob) -> None:
    for code, status in (
        ("030", ReviewStatus.ACKNOWLEDGED),
        ("032", ReviewStatus.GOODS_RECEIVED),
        ("033", ReviewStatus.ACCEPTED),
    ):
        event = step(invoice, bob, code)
        assert event.state == RadianEventState.REGISTERED, event.dian_errors
        invoice.refresh_from_db()
        assert invoice.review_status == status
        assert event.review_event.sent_to_dian_at is not None
    registered = dian.registered(invoice.cufe)
    assert [e.code for e in registered] == ["030", "032", "033"]
    for sent in registered:
        assert verify_event(sent.xml)


def test_a_claim_with_concept_02_is_registered(dian, invoice, bob) -> None:
    step(invoice, bob, "030")
    step(invoice, bob, "032")
    event = step(invoice, bob, "031", concept="02", note="Llegaron 8 de 10 cajas.")
    assert event.state == RadianEventState.REGISTERED, event.dian_errors
    facts = read_event(parse_event_xml(dian.registered(invoice.cufe)[-1].xml))
    assert (facts.code, facts.concept) == ("031", "02")
    invoice.refresh_from_db()
    assert (invoice.review_status, invoice.claim_concept) == (ReviewStatus.CLAIMED, "02")


def test_the_event_waits_for_dian_before_the_review_moves(dian, invoice, bob) -> None:
    event = radian_event_request(document=invoice, actor=bob, code="030")
    invoice.refresh_from_db()
    assert (event.state, invoice.review_status) == (RadianEventState.TO_SEND, ReviewStatus.PENDING)
    with pytest.raises(ReviewRefused, match="en camino"):
        radian_event_request(document=invoice, actor=bob, code="030")


def test_a_wrong_pin_is_rejected_in_spanish_and_can_be_fixed(
    dian_settings, fake_dian, org_a, dian_signing_ca, invoice, bob
) -> None:
    credentials = configure_dian(org_a, dian_signing_ca, fake=fake_dian, software_pin="99999")
    event = step(invoice, bob, "030")
    assert event.state == RadianEventState.REJECTED
    assert any("Regla: AAD06" in rule and "CUDE" in rule for rule in event.dian_errors)
    invoice.refresh_from_db()
    assert invoice.review_status == ReviewStatus.PENDING
    form = credentials_form(org_a, None, instance=credentials, software_pin=SOFTWARE_PIN)
    assert form.is_valid(), form.errors
    dian_credentials_configure(organization=org_a, data=form.cleaned_data, certificate=None)
    retried = step(invoice, bob, "030")
    assert retried.state == RadianEventState.REGISTERED
    assert retried.number != event.number  # a number is never reused


def test_an_expired_certificate_is_rejected_by_dian(dian, org_a, dian_signing_ca, invoice, bob):
    now = dt.datetime.now(dt.UTC)
    expired = dian_signing_ca.pkcs12(
        nit=org_a.nit,
        valid_from=now - dt.timedelta(days=400),
        valid_until=now - dt.timedelta(days=1),
    )
    credentials = org_a.dian_credentials
    credentials.certificate = base64.b64encode(expired).decode()  # it expired after configuring
    credentials.save()
    event = step(invoice, bob, "030")
    assert event.state == RadianEventState.REJECTED
    assert event.dian_errors == ["Regla: ZE04, Rechazo: El certificado de firma está vencido."]


def test_a_claim_after_the_deadline_shows_dians_rejection(dian, invoice, bob) -> None:
    step(invoice, bob, "030")
    step(invoice, bob, "032")
    receipt = dian.registered(invoice.cufe)[-1].registered_on
    dian.today = add_business_days(receipt, 4)
    event = step(invoice, bob, "031", concept="01", note="Precio distinto al pactado.")
    assert event.state == RadianEventState.REJECTED
    assert "tres días hábiles" in event.dian_errors[0]
    invoice.refresh_from_db()
    assert invoice.review_status == ReviewStatus.GOODS_RECEIVED


def test_a_timeout_after_sending_is_reconciled_without_a_second_registration(
    dian, invoice, bob
) -> None:
    event = radian_event_request(document=invoice, actor=bob, code="030")
    dian.fail_next("timeout_after_register")
    event = radian_event_send(event_id=event.pk)
    assert event.state == RadianEventState.TRANSIENT
    assert event.next_retry_at is not None
    assert Schedule.objects.filter(name=f"radian-retry-{event.pk}").exists()
    event = radian_event_send(event_id=event.pk)
    assert event.state == RadianEventState.REGISTERED
    assert dian.registrations == 1
    assert dian.calls.count("SendEventUpdateStatus") == 1
    assert "GetStatusEvent" in dian.calls
    assert not Schedule.objects.filter(name=f"radian-retry-{event.pk}").exists()


def test_a_5xx_is_retried_later_and_then_registered(dian, invoice, bob) -> None:
    event = radian_event_request(document=invoice, actor=bob, code="030")
    dian.fail_next("5xx")
    first = radian_event_send(event_id=event.pk)
    assert (first.state, first.attempts) == (RadianEventState.TRANSIENT, 1)
    second = radian_event_send(event_id=event.pk)
    assert second.state == RadianEventState.REGISTERED
    assert dian.registrations == 1


def test_a_registered_event_is_never_sent_again(dian, invoice, bob) -> None:
    event = step(invoice, bob, "030")
    radian_event_send(event_id=event.pk)
    assert dian.calls.count("SendEventUpdateStatus") == 1


def test_the_supplier_gets_the_signed_event_by_email(
    dian, org_a, bob, django_capture_on_commit_callbacks
) -> None:
    message = IncomingMessageFactory(mailbox=make_mailbox(org_a))
    invoice = ReceivedDocumentFactory(organization=org_a, source_message=message)
    event = radian_event_request(document=invoice, actor=bob, code="030")
    with django_capture_on_commit_callbacks(execute=True):
        radian_event_send(event_id=event.pk)
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["facturacion@proveedora.example.test"]
    assert sent.subject.startswith(f"Evento;{event.number};{org_a.nit};")
    _name, content, _mime = sent.attachments[0]
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert verify_event(archive.read(archive.namelist()[0]))


def test_certificate_password_and_pin_are_encrypted_at_rest(dian, org_a) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT certificate, certificate_password, software_pin "
            "FROM invoices_diancredentials WHERE organization_id = %s",
            [org_a.pk],
        )
        row = cursor.fetchone()
    raw = b"".join(bytes(value) if not isinstance(value, str) else value.encode() for value in row)
    assert SOFTWARE_PIN.encode() not in raw
    assert P12_PASSWORD.encode() not in raw
    assert org_a.dian_credentials.software_pin == SOFTWARE_PIN


def test_the_sweep_resends_events_whose_retry_time_came(dian, invoice, bob) -> None:
    event = radian_event_request(document=invoice, actor=bob, code="030")
    dian.fail_next("timeout")
    assert radian_event_send(event_id=event.pk).state == RadianEventState.TRANSIENT
    assert radian_retry_due() == {"retried": 0}  # not yet due
    RadianEvent.objects.filter(pk=event.pk).update(
        next_retry_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    )
    assert radian_retry_due() == {"retried": 1}
    event.refresh_from_db()
    assert event.state == RadianEventState.REGISTERED


def test_a_stored_certificate_that_no_longer_opens_rejects_the_event(dian, org_a, invoice, bob):
    event = radian_event_request(document=invoice, actor=bob, code="030")
    credentials = org_a.dian_credentials
    credentials.certificate_password = "otra"
    credentials.save()
    event = radian_event_send(event_id=event.pk)
    assert event.state == RadianEventState.REJECTED
    assert "vuelve a configurarlo" in event.dian_errors[0]
    assert dian.calls == []
