"""Review transitions: the RADIAN order, the recorded trail, and final states."""

import datetime

import pytest
import time_machine
from django.utils import timezone

from invoices import services
from invoices.exceptions import ReviewRefused
from invoices.models import ReviewEvent, ReviewStatus
from tests.factories.documents import ReceivedDocumentFactory

BOGOTA = datetime.timezone(datetime.timedelta(hours=-5))


@pytest.fixture
def invoice(org_a):
    return ReceivedDocumentFactory(organization=org_a)


def _received(invoice, actor):
    services.document_acknowledge(document=invoice, actor=actor)
    return services.document_receive_goods(document=invoice, actor=actor)


def test_it_records_the_acknowledgement_with_who_and_when(invoice, bob):
    done = services.document_acknowledge(document=invoice, actor=bob, note="Llegó el correo")

    assert done.review_status == ReviewStatus.ACKNOWLEDGED
    event = ReviewEvent.objects.get(document=invoice)
    assert (event.from_status, event.to_status, event.event_code) == (
        ReviewStatus.PENDING,
        ReviewStatus.ACKNOWLEDGED,
        "030",
    )
    assert event.actor == bob
    assert event.note == "Llegó el correo"
    assert event.created_at is not None
    assert event.sent_to_dian_at is None


def test_it_refuses_the_goods_receipt_before_the_acknowledgement(invoice, bob):
    with pytest.raises(ReviewRefused, match="032"):
        services.document_receive_goods(document=invoice, actor=bob)

    invoice.refresh_from_db()
    assert invoice.review_status == ReviewStatus.PENDING
    assert not ReviewEvent.objects.exists()


@time_machine.travel(datetime.datetime(2026, 1, 9, 11, 0, tzinfo=BOGOTA), tick=False)
def test_it_records_when_the_goods_arrived(invoice, bob):
    done = _received(invoice, bob)

    assert done.review_status == ReviewStatus.GOODS_RECEIVED
    assert done.goods_received_at == timezone.now()
    assert services.document_tacit_deadline(done) == datetime.date(2026, 1, 15)
    codes = list(ReviewEvent.objects.values_list("event_code", flat=True))
    assert codes == ["030", "032"]


def test_it_accepts_after_the_goods_receipt(invoice, bob):
    _received(invoice, bob)

    done = services.document_accept(document=invoice, actor=bob)

    assert done.review_status == ReviewStatus.ACCEPTED
    assert ReviewEvent.objects.last().event_code == "033"
    assert services.document_tacit_deadline(done) is None


def test_it_refuses_an_acceptance_without_the_goods_receipt(invoice, bob):
    services.document_acknowledge(document=invoice, actor=bob)

    with pytest.raises(ReviewRefused, match="033"):
        services.document_accept(document=invoice, actor=bob)


def test_it_records_a_claim_with_its_concept_and_reason(invoice, bob):
    services.document_acknowledge(document=invoice, actor=bob)

    done = services.document_claim(
        document=invoice, actor=bob, concept="02", reason="  Faltaron 3 cajas  "
    )

    assert done.review_status == ReviewStatus.CLAIMED
    assert (done.claim_concept, done.claim_reason) == ("02", "Faltaron 3 cajas")
    event = ReviewEvent.objects.last()
    assert (event.event_code, event.claim_concept, event.note) == ("031", "02", "Faltaron 3 cajas")


def test_it_refuses_a_claim_before_the_acknowledgement(invoice, bob):
    with pytest.raises(ReviewRefused, match="031"):
        services.document_claim(document=invoice, actor=bob, concept="01", reason="Mal")


@pytest.mark.parametrize(("concept", "reason"), [("05", "Motivo"), ("", "Motivo"), ("01", "  ")])
def test_it_refuses_a_claim_without_a_valid_concept_or_reason(invoice, bob, concept, reason):
    services.document_acknowledge(document=invoice, actor=bob)

    with pytest.raises(ReviewRefused):
        services.document_claim(document=invoice, actor=bob, concept=concept, reason=reason)

    invoice.refresh_from_db()
    assert invoice.review_status == ReviewStatus.ACKNOWLEDGED


def test_it_refuses_a_claim_after_the_tacit_acceptance_deadline(invoice, bob):
    with time_machine.travel(datetime.datetime(2026, 1, 9, 11, 0, tzinfo=BOGOTA), tick=False):
        _received(invoice, bob)
    with (
        time_machine.travel(datetime.datetime(2026, 1, 16, 9, 0, tzinfo=BOGOTA), tick=False),
        pytest.raises(ReviewRefused, match="2026-01-15"),
    ):
        services.document_claim(document=invoice, actor=bob, concept="01", reason="Tarde")


def test_it_still_allows_a_claim_on_the_deadline_itself(invoice, bob):
    with time_machine.travel(datetime.datetime(2026, 1, 9, 11, 0, tzinfo=BOGOTA), tick=False):
        _received(invoice, bob)
    with time_machine.travel(datetime.datetime(2026, 1, 15, 23, 0, tzinfo=BOGOTA), tick=False):
        done = services.document_claim(document=invoice, actor=bob, concept="03", reason="Falta")
    assert done.review_status == ReviewStatus.CLAIMED


@pytest.mark.parametrize("final", ["accept", "claim"])
def test_it_refuses_every_step_once_accepted_or_claimed(invoice, bob, final):
    _received(invoice, bob)
    if final == "accept":
        services.document_accept(document=invoice, actor=bob)
    else:
        services.document_claim(document=invoice, actor=bob, concept="01", reason="Errado")

    steps = [
        lambda: services.document_acknowledge(document=invoice, actor=bob),
        lambda: services.document_receive_goods(document=invoice, actor=bob),
        lambda: services.document_accept(document=invoice, actor=bob),
        lambda: services.document_claim(document=invoice, actor=bob, concept="02", reason="x"),
    ]
    for step in steps:
        with pytest.raises(ReviewRefused, match="no se revierten"):
            step()
    assert ReviewEvent.objects.count() == 3


def test_it_refuses_events_on_credit_notes(org_a, bob):
    note = ReceivedDocumentFactory(organization=org_a, credit_note=True)

    with pytest.raises(ReviewRefused, match="facturas"):
        services.document_acknowledge(document=note, actor=bob)


def test_it_works_on_the_current_row_not_a_stale_copy(invoice, bob):
    stale = ReceivedDocumentFactory._meta.model.objects.get(pk=invoice.pk)
    services.document_acknowledge(document=invoice, actor=bob)

    with pytest.raises(ReviewRefused, match="030"):
        services.document_acknowledge(document=stale, actor=bob)
    assert ReviewEvent.objects.count() == 1
