"""An accountant marks 030 and 032 in a real Chromium and sees DIAN register them."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from invoices.models import RadianEvent, ReviewStatus
from invoices.tasks import radian_send_event
from tests.factories.documents import ReceivedDocumentFactory
from tests.invoices.radian.helpers import configure_dian

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_an_accountant_sees_030_and_032_registered(
    browser_page, screenshot, org_a, bob, dian_settings, fake_dian, dian_signing_ca
):
    configure_dian(org_a, dian_signing_ca, fake=fake_dian)
    invoice = ReceivedDocumentFactory(organization=org_a, number="FE8899")
    page = browser_page(bob)
    page.goto(reverse("admin:invoices_receiveddocument_change", args=[invoice.pk]))

    for button, code, status in (
        ("#review-acknowledge", "030", "Acuse de recibo (030)"),
        ("#review-goods", "032", "Recibo del bien o servicio (032)"),
    ):
        page.click(button)
        row = page.locator(f"#radian-events tr[data-code='{code}']")
        expect(row.locator(".radian-state")).to_have_text("Por enviar")
        expect(page.locator("#review-status")).not_to_have_text(status)
        screenshot(page, f"{code}-queued")

        radian_send_event(RadianEvent.objects.get(document=invoice, code=code).pk)  # the worker

        page.reload()
        expect(row.locator(".radian-state")).to_have_text("Registrado")
        expect(page.locator("#review-status")).to_have_text(status)
        screenshot(page, f"{code}-registered")

    invoice.refresh_from_db()
    assert invoice.review_status == ReviewStatus.GOODS_RECEIVED
    assert [event.code for event in fake_dian.registered(invoice.cufe)] == ["030", "032"]
