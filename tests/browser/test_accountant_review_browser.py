"""An accountant reviews a received invoice in a real Chromium: PDF inline, 030, claim, export."""

import csv
import io
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils.functional import empty
from playwright.sync_api import expect

from config.storage import private_storage
from invoices.models import ReviewEvent, ReviewStatus
from tests.factories.documents import ReceivedDocumentFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def private_files(settings, tmp_path, monkeypatch):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    monkeypatch.setattr(private_storage, "_wrapped", empty)


def test_it_reviews_claims_and_exports_an_invoice(
    browser_page, screenshot, org_a, bob, private_files
):
    invoice = ReceivedDocumentFactory(
        organization=org_a, number="FE7788", supplier_name="Proveedora Andina", with_files=True
    )
    page = browser_page(bob)

    page.goto(reverse("admin:invoices_receiveddocument_changelist"))
    expect(page.locator("#result_list")).to_contain_text("$ 1.190.000,00")
    screenshot(page, "1-list")

    pdf_url = reverse("admin:invoices_receiveddocument_pdf", args=[invoice.pk])
    with page.expect_response(lambda response: response.url.endswith(pdf_url)) as pdf:
        page.get_by_role("link", name="FE7788").click()
    assert pdf.value.status == 200
    assert pdf.value.headers["content-type"] == "application/pdf"
    expect(page.locator("#pdf-frame")).to_be_visible()
    expect(page.locator("#pdf-frame")).to_have_attribute("src", pdf_url)
    screenshot(page, "2-document")

    page.click("#review-acknowledge")
    expect(page.locator("#review-status")).to_have_text("Acuse de recibo (030)")
    screenshot(page, "3-acknowledged")

    page.select_option("select[name=concept]", "02")
    page.fill("textarea[name=reason]", "Llegaron 40 de las 100 cajas pedidas.")
    page.click("#review-claim")
    expect(page.locator("#content-main")).to_contain_text("02 Mercancía no entregada totalmente")
    screenshot(page, "4-confirm-claim")
    page.click("#confirm-review")
    expect(page.locator("#review-status")).to_have_text("Reclamado (031)")
    expect(page.locator("#history")).to_contain_text("Llegaron 40 de las 100 cajas pedidas.")
    screenshot(page, "5-claimed")

    invoice.refresh_from_db()
    assert (invoice.review_status, invoice.claim_concept) == (ReviewStatus.CLAIMED, "02")
    assert list(ReviewEvent.objects.values_list("event_code", "actor")) == [
        ("030", bob.pk),
        ("031", bob.pk),
    ]

    page.goto(reverse("admin:invoices_receiveddocument_changelist") + "?q=FE7788")
    with page.expect_download() as download:
        page.click("#export-csv")
    assert download.value.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8-sig"))))
    assert [(row["Número"], row["Estado de revisión"]) for row in rows] == [
        ("FE7788", "Reclamado (031)")
    ]
    assert rows[0]["IVA"] == ""
    screenshot(page, "6-exported")
