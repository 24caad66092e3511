"""The DIAN credentials' admin (Back office) and the events on the document page."""

from __future__ import annotations

import base64

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from invoices.models import DianCredentials, RadianEvent, RadianEventState, ReviewStatus
from invoices.radian_services import radian_event_send
from tests.factories.documents import ReceivedDocumentFactory
from tests.harness.dian_pki import P12_PASSWORD
from tests.invoices.radian.helpers import configure_dian, credentials_data

pytestmark = pytest.mark.django_db


def test_back_office_configures_dian_and_no_secret_comes_back(
    client, alice, org_a, dian_signing_ca
) -> None:
    client.force_login(alice)
    p12 = dian_signing_ca.pkcs12(nit=org_a.nit)
    data = {
        **credentials_data(software_pin="P1N-7788"),
        "organization": org_a.pk,
        "certificate": SimpleUploadedFile("firma.p12", p12),
    }
    response = client.post(reverse("admin:invoices_diancredentials_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    credentials = DianCredentials.objects.get(organization=org_a)
    assert credentials.software_pin == "P1N-7788"
    page = client.get(reverse("admin:invoices_diancredentials_change", args=[credentials.pk]))
    html = page.content.decode()
    assert "P1N-7788" not in html
    assert P12_PASSWORD not in html
    assert base64.b64encode(p12).decode()[:40] not in html
    assert org_a.nit in html  # the certificate's subject is shown


def test_a_wrong_password_is_shown_on_the_form(client, alice, org_a, dian_signing_ca) -> None:
    client.force_login(alice)
    data = {
        **credentials_data(certificate_password="mala"),
        "organization": org_a.pk,
        "certificate": SimpleUploadedFile("f.p12", dian_signing_ca.pkcs12(nit=org_a.nit)),
    }
    response = client.post(reverse("admin:invoices_diancredentials_add"), data)
    assert response.status_code == 200
    assert "la contraseña no corresponde" in response.content.decode()
    assert not DianCredentials.objects.exists()


def test_a_review_with_credentials_queues_the_event_and_shows_dians_rejection(
    client, bob, org_a, dian_settings, fake_dian, dian_signing_ca
) -> None:
    configure_dian(org_a, dian_signing_ca, fake=fake_dian, software_pin="99999")
    invoice = ReceivedDocumentFactory(organization=org_a)
    client.force_login(bob)
    url = reverse("admin:invoices_receiveddocument_review", args=[invoice.pk, "acuse"])
    response = client.post(url, {"note": ""}, follow=True)
    assert "en camino a la DIAN" in response.content.decode()
    event = RadianEvent.objects.get(document=invoice)
    invoice.refresh_from_db()
    assert (event.state, invoice.review_status) == (RadianEventState.TO_SEND, ReviewStatus.PENDING)
    radian_event_send(event_id=event.pk)
    page = client.get(reverse("admin:invoices_receiveddocument_change", args=[invoice.pk]))
    html = page.content.decode()
    assert "Rechazado" in html
    assert "Regla: AAD06, Rechazo: El valor del CUDE no está calculado correctamente." in html
    invoice.refresh_from_db()
    assert invoice.review_status == ReviewStatus.PENDING


def test_the_events_list_filters_by_state(
    client, bob, org_a, dian_settings, fake_dian, dian_signing_ca
) -> None:
    configure_dian(org_a, dian_signing_ca, fake=fake_dian)
    invoice = ReceivedDocumentFactory(organization=org_a)
    client.force_login(bob)
    client.post(reverse("admin:invoices_receiveddocument_review", args=[invoice.pk, "acuse"]))
    radian_event_send(event_id=RadianEvent.objects.get().pk)
    changelist = reverse("admin:invoices_radianevent_changelist")
    registered = client.get(changelist, {"state__exact": "registered"})
    rejected = client.get(changelist, {"state__exact": "rejected"})
    assert len(registered.context["cl"].result_list) == 1
    assert len(rejected.context["cl"].result_list) == 0
