"""An accountant reviews a received invoice in a real Chromium: PDF inline, 030, claim, export."""

import csv
import io
import os
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils.functional import empty
from playwright.sync_api import expect, sync_playwright

from invoices.models import ReviewEvent, ReviewStatus
from reception.storage import private_storage
from tests.conftest import PASSWORD
from tests.factories.documents import ReceivedDocumentFactory

# Playwright's sync API runs an event loop in this thread; the ORM calls made here are fine.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def private_files(settings, tmp_path, monkeypatch):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    monkeypatch.setattr(private_storage, "_wrapped", empty)


@pytest.fixture
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def accountant_page(browser, live_server, bob):
    context = browser.new_context(base_url=live_server.url, accept_downloads=True)
    page = context.new_page()
    page.goto(reverse("admin:login"))
    page.fill("#id_username", bob.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text(bob.username)
    yield page
    context.close()


def shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"accountant-review-{name}.png", full_page=True)


def test_it_reviews_claims_and_exports_an_invoice(accountant_page, org_a, bob, private_files):
    invoice = ReceivedDocumentFactory(
        organization=org_a, number="FE7788", supplier_name="Proveedora Andina", with_files=True
    )
    page = accountant_page

    page.goto(reverse("admin:invoices_receiveddocument_changelist"))
    expect(page.locator("#result_list")).to_contain_text("$ 1.190.000,00")
    shot(page, "1-list")

    pdf_url = reverse("admin:invoices_receiveddocument_pdf", args=[invoice.pk])
    with page.expect_response(lambda response: response.url.endswith(pdf_url)) as pdf:
        page.get_by_role("link", name="FE7788").click()
    assert pdf.value.status == 200
    assert pdf.value.headers["content-type"] == "application/pdf"
    expect(page.locator("#pdf-frame")).to_be_visible()
    expect(page.locator("#pdf-frame")).to_have_attribute("src", pdf_url)
    shot(page, "2-document")

    page.click("#review-acknowledge")
    expect(page.locator("#review-status")).to_have_text("Acuse de recibo (030)")
    shot(page, "3-acknowledged")

    page.select_option("select[name=concept]", "02")
    page.fill("textarea[name=reason]", "Llegaron 40 de las 100 cajas pedidas.")
    page.click("#review-claim")
    expect(page.locator("#content-main")).to_contain_text("02 Mercancía no entregada totalmente")
    shot(page, "4-confirm-claim")
    page.click("#confirm-review")
    expect(page.locator("#review-status")).to_have_text("Reclamado (031)")
    expect(page.locator("#history")).to_contain_text("Llegaron 40 de las 100 cajas pedidas.")
    shot(page, "5-claimed")

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
    shot(page, "6-exported")
