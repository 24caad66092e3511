"""The review buttons: only a Contador of the organization records events, through the services."""

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from invoices.models import ReviewEvent, ReviewStatus
from organizations.roles import Role
from organizations.services import membership_set
from tests.factories.documents import ReceivedDocumentFactory


@pytest.fixture
def invoice(org_a):
    return ReceivedDocumentFactory(organization=org_a)


def review_url(document, action):
    return reverse("admin:invoices_receiveddocument_review", args=[document.pk, action])


def change_url(document):
    return reverse("admin:invoices_receiveddocument_change", args=[document.pk])


def status_of(document):
    document.refresh_from_db()
    return document.review_status


def test_it_lets_the_contador_acknowledge_and_receive_the_goods(client, bob, invoice):
    client.force_login(bob)

    response = client.post(review_url(invoice, "acuse"), {"note": "Visto"})

    assert response.status_code == 302
    assert response["Location"] == change_url(invoice)
    assert status_of(invoice) == ReviewStatus.ACKNOWLEDGED
    client.post(review_url(invoice, "recibo"))
    assert status_of(invoice) == ReviewStatus.GOODS_RECEIVED
    assert list(ReviewEvent.objects.values_list("event_code", "actor__username")) == [
        ("030", "bob"),
        ("032", "bob"),
    ]
    assert LogEntry.objects.filter(object_id=str(invoice.pk)).count() == 2


def test_it_shows_the_buttons_only_to_the_contador(client, alice, bob, invoice):
    client.force_login(bob)
    assert 'id="review-acknowledge"' in client.get(change_url(invoice)).content.decode()

    client.force_login(alice)
    assert 'id="review-acknowledge"' not in client.get(change_url(invoice)).content.decode()


@pytest.mark.parametrize("action", ["acuse", "recibo", "aceptar", "reclamar"])
def test_it_refuses_the_back_office_a_review_step(client, alice, invoice, action):
    client.force_login(alice)

    response = client.post(
        review_url(invoice, action), {"concept": "01", "reason": "x", "confirmed": "on"}
    )

    assert response.status_code == 403
    assert status_of(invoice) == ReviewStatus.PENDING


@pytest.mark.parametrize(("persona", "status_code"), [("charlie", 404), ("sofia", 403)])
def test_it_hides_the_review_from_outsiders(client, request, invoice, persona, status_code):
    client.force_login(request.getfixturevalue(persona))

    assert client.post(review_url(invoice, "acuse")).status_code == status_code
    assert status_of(invoice) == ReviewStatus.PENDING


def test_it_refuses_a_review_to_a_contador_of_another_organization(client, bob, org_b):
    foreign = ReceivedDocumentFactory(organization=org_b)
    client.force_login(bob)

    assert client.post(review_url(foreign, "acuse")).status_code == 404


def test_it_lets_a_back_office_member_review_where_they_are_contador(
    client, django_user_model, org_a, org_b
):
    both = django_user_model.objects.create_user(username="dora", password="x")
    membership_set(user=both, organization=org_a, role=Role.BACK_OFFICE)
    membership_set(user=both, organization=org_b, role=Role.CONTADOR)
    in_a = ReceivedDocumentFactory(organization=org_a)
    in_b = ReceivedDocumentFactory(organization=org_b)
    client.force_login(both)

    assert client.post(review_url(in_a, "acuse")).status_code == 403
    assert client.post(review_url(in_b, "acuse")).status_code == 302
    assert status_of(in_b) == ReviewStatus.ACKNOWLEDGED


def test_it_lets_a_superuser_review(client, root, invoice):
    client.force_login(root)

    client.post(review_url(invoice, "acuse"))

    assert status_of(invoice) == ReviewStatus.ACKNOWLEDGED


def test_it_only_accepts_post(client, bob, invoice):
    client.force_login(bob)

    assert client.get(review_url(invoice, "acuse")).status_code == 405


def test_it_answers_404_for_an_unknown_action(client, bob, invoice):
    client.force_login(bob)

    assert client.post(review_url(invoice, "borrar")).status_code == 404


def test_it_asks_for_confirmation_before_a_claim(client, bob, invoice):
    client.force_login(bob)
    client.post(review_url(invoice, "acuse"))

    response = client.post(
        review_url(invoice, "reclamar"), {"concept": "02", "reason": "Faltó la mitad"}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "02 Mercancía no entregada totalmente" in page
    assert 'name="confirmed" value="on"' in page
    assert status_of(invoice) == ReviewStatus.ACKNOWLEDGED

    client.post(
        review_url(invoice, "reclamar"),
        {"concept": "02", "reason": "Faltó la mitad", "confirmed": "on"},
    )
    invoice.refresh_from_db()
    assert (invoice.review_status, invoice.claim_concept, invoice.claim_reason) == (
        ReviewStatus.CLAIMED,
        "02",
        "Faltó la mitad",
    )


def test_it_validates_the_claim_again_when_confirmed(client, bob, invoice):
    client.force_login(bob)
    client.post(review_url(invoice, "acuse"))

    response = client.post(
        review_url(invoice, "reclamar"), {"concept": "09", "reason": "x", "confirmed": "on"}
    )

    assert response.status_code == 302
    assert status_of(invoice) == ReviewStatus.ACKNOWLEDGED


def test_it_asks_for_confirmation_before_accepting(client, bob, invoice):
    client.force_login(bob)
    client.post(review_url(invoice, "acuse"))
    client.post(review_url(invoice, "recibo"))

    assert client.post(review_url(invoice, "aceptar")).status_code == 200
    assert status_of(invoice) == ReviewStatus.GOODS_RECEIVED

    client.post(review_url(invoice, "aceptar"), {"confirmed": "on"})
    assert status_of(invoice) == ReviewStatus.ACCEPTED


def test_it_explains_a_refused_step(client, bob, invoice):
    client.force_login(bob)

    response = client.post(review_url(invoice, "recibo"), follow=True)

    assert "no procede" in response.content.decode()
    assert status_of(invoice) == ReviewStatus.PENDING


def test_it_offers_no_step_after_a_claim(client, bob, invoice):
    client.force_login(bob)
    client.post(review_url(invoice, "acuse"))
    client.post(
        review_url(invoice, "reclamar"), {"concept": "01", "reason": "x", "confirmed": "on"}
    )

    page = client.get(change_url(invoice)).content.decode()

    assert 'id="review-claim"' not in page
    assert "no se revierten" in page
    client.post(review_url(invoice, "recibo"))
    assert status_of(invoice) == ReviewStatus.CLAIMED


def test_it_requires_the_csrf_token(bob, invoice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)

    assert client.post(review_url(invoice, "acuse")).status_code == 403
    assert status_of(invoice) == ReviewStatus.PENDING
