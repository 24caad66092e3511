"""The pages work in a real Chromium under the Content-Security-Policy, with no violation.

Chromium reports every blocked script, style, frame or plugin as a `securitypolicyviolation`
event in the page (or frame) and as a console error; both are collected from the first page
on and must stay empty while a user logs in, uses the mailbox form's script and opens a
document with its PDF.
"""

from dataclasses import dataclass, field

import pytest
from django.urls import reverse
from django.utils.functional import empty
from playwright.sync_api import Page, expect

from config.storage import private_storage
from tests.conftest import PASSWORD
from tests.factories.documents import ReceivedDocumentFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

#: Runs in every page and frame before its own scripts; the policy does not apply to it.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} in ${event.documentURI}`
  );
});
"""
#: What an injected page would try: run a script written into the page itself.
INLINE_SCRIPT = """() => {
  const script = document.createElement("script");
  script.textContent = "window.inlineScriptRan = true;";
  document.head.append(script);
  return window.inlineScriptRan === true;
}"""
PDF_VIEWER = "chrome-extension://"


@dataclass
class WatchedPage:
    page: Page
    violations: list[str] = field(default_factory=list)


@pytest.fixture
def private_files(settings, tmp_path, monkeypatch):
    settings.PRIVATE_STORAGE_ROOT = tmp_path / "private"
    monkeypatch.setattr(private_storage, "_wrapped", empty)


@pytest.fixture
def watched(browser, live_server):
    """A page whose policy violations (events and console errors) are collected."""
    context = browser.new_context(
        base_url=live_server.url, locale="es-CO", timezone_id="America/Bogota"
    )
    watched = WatchedPage(page=context.new_page())
    context.expose_function("reportViolation", lambda text: watched.violations.append(text))
    context.add_init_script(REPORT_VIOLATIONS)
    watched.page.on(
        "console",
        lambda message: (
            watched.violations.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    yield watched
    context.close()


def test_the_policy_is_enforced_and_its_violations_are_seen(watched):
    page = watched.page
    response = page.goto(reverse("admin:login"))
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert page.evaluate(INLINE_SCRIPT) is False
    expect(page.locator("#id_username")).to_be_visible()
    assert any("script-src-elem blocked inline" in text for text in watched.violations)


def test_the_admin_works_under_the_policy(watched, screenshot, org_a, alice, private_files):
    page = watched.page
    invoice = ReceivedDocumentFactory(
        organization=org_a, number="FE4455", supplier_name="Proveedora Andina", with_files=True
    )

    page.goto(reverse("admin:login"))
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text("alice")

    # The mailbox form's script suggests the server and port and shows the POP3 backup field.
    page.goto(reverse("admin:reception_receptionmailbox_add"))
    page.select_option("#id_server_type", "gmail")
    page.select_option("#id_protocol", "imap")
    expect(page.locator("#id_host")).to_have_value("imap.gmail.com")
    expect(page.locator("#id_port")).to_have_value("993")
    expect(page.locator("#id_backup_email")).to_be_hidden()
    expect(page.locator("#id_tenant_id")).to_be_hidden()
    page.select_option("#id_protocol", "pop3")
    expect(page.locator("#id_host")).to_have_value("pop.gmail.com")
    expect(page.locator("#id_port")).to_have_value("995")
    expect(page.locator("#id_backup_email")).to_be_visible()
    screenshot(page, "1-mailbox-form")

    # The document page frames its own PDF, and Chromium's viewer opens inside the frame.
    pdf_url = reverse("admin:invoices_receiveddocument_pdf", args=[invoice.pk])
    with (
        page.expect_response(lambda response: response.url.endswith(pdf_url)) as pdf,
        page.expect_event(
            "framenavigated", predicate=lambda frame: frame.url.startswith(PDF_VIEWER)
        ) as viewer,
    ):
        page.goto(reverse("admin:invoices_receiveddocument_change", args=[invoice.pk]))
    assert pdf.value.status == 200
    assert pdf.value.headers["content-type"] == "application/pdf"
    assert viewer.value.parent_frame == page.frame(name="pdf-frame")
    expect(page.locator("#pdf-frame")).to_be_visible()
    expect(page.locator(".doc-pdf")).to_have_css("height", "720px")  # the stylesheet applies
    screenshot(page, "2-document")

    # The public page of the backup-confirmation link, with its own stylesheet.
    page.goto(reverse("backup-confirm", args=["enlace-vencido"]))
    expect(page.locator("h1")).to_have_css("color", "rgb(11, 79, 108)")

    assert watched.violations == []
