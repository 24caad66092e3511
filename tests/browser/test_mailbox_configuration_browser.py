"""A Back office user configures the reception mailbox in a real Chromium, as the guide says."""

import uuid

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from reception.models import ReceptionMailbox, Secret
from tests.reception.fake_check import install_fake_check
from tests.reception.mailbox_data import CLIENT, OTHER_GUID, PASSWORD, SECRET, TENANT, in_days

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def fake_check(monkeypatch):
    # Replaced by the real check in the connectivity tests.
    return install_fake_check(monkeypatch)


def fill_modern_form(page, *, tenant_confirm):
    page.fill("#id_username", "recepcion@andina.example.test")
    page.fill("#id_tenant_id", TENANT)
    page.fill("#id_tenant_id_confirm", tenant_confirm)
    page.fill("#id_client_id", CLIENT)
    page.fill("#id_client_id_confirm", CLIENT)
    page.fill("#id_secret", SECRET)
    page.fill("#id_secret_confirm", SECRET)
    page.fill("#id_secret_expires_on", in_days(180))
    page.fill("#id_notification_email", "ti@andina.example.test")


def switch_to_basic(page):
    page.select_option("#id_server_type", "outlook_basic")
    expect(page.locator("#id_tenant_id")).to_be_hidden()
    expect(page.locator("#id_password")).to_be_visible()
    page.fill("#id_password", PASSWORD)
    page.click("input[name=_continue]")
    expect(page.locator("#content-main")).to_contain_text(
        "todos los parámetros que tenías previamente diligenciados serán eliminados"
    )


def test_it_configures_then_switches_the_server_type(
    browser_page, screenshot, org_a, alice, fake_check
):
    page = browser_page(alice)
    page.goto(reverse("admin:reception_receptionmailbox_add"))
    page.select_option("#id_organization", str(org_a.pk))
    page.select_option("#id_server_type", "outlook_modern")
    page.select_option("#id_protocol", "imap")
    # The page suggests the server and port, still editable, and shows modern-auth fields.
    expect(page.locator("#id_host")).to_have_value("outlook.office365.com")
    expect(page.locator("#id_port")).to_have_value("993")
    expect(page.locator("#id_password")).to_be_hidden()
    expect(page.locator("#id_backup_email")).to_be_hidden()

    # Mismatching confirmation: the error, and nothing saved.
    fill_modern_form(page, tenant_confirm=OTHER_GUID)
    page.click("input[name=_continue]")
    expect(page.locator(".field-tenant_id_confirm .errorlist")).to_contain_text("no coincide")
    expect(page.locator("#id_secret")).to_have_value("")  # never rendered back
    screenshot(page, "1-mismatch")
    assert not ReceptionMailbox.objects.exists()

    page.fill("#id_tenant_id_confirm", TENANT)
    page.fill("#id_secret", SECRET)
    page.fill("#id_secret_confirm", SECRET)
    page.click("input[name=_continue]")
    expect(page.locator("#content h1")).to_contain_text(
        "Correo Recepción de Documentos Electrónicos - Activo"
    )
    expect(page.locator("ul.messagelist")).to_contain_text("Estado del correo: Activo")
    screenshot(page, "2-saved")
    mailbox = ReceptionMailbox.objects.get(organization=org_a)
    change_url = reverse("admin:reception_receptionmailbox_change", args=[mailbox.pk])

    # Switch the type and answer "No": back to the form, nothing changed.
    switch_to_basic(page)
    screenshot(page, "3-switch-warning")
    page.locator(".mailbox-switch").get_by_role("link", name="No", exact=True).click()
    expect(page).to_have_url(f"{page.url.split('/admin/')[0]}{change_url}")
    expect(page.locator("#id_server_type")).to_have_value("outlook_modern")
    expect(page.locator("#id_tenant_id")).to_have_value(TENANT)
    mailbox.refresh_from_db()
    assert (mailbox.server_type, mailbox.tenant_id) == ("outlook_modern", uuid.UUID(TENANT))
    assert mailbox.current_secret.value == SECRET

    # Again, and "Sí": earlier parameters wiped, the new type saved with its password.
    switch_to_basic(page)
    page.locator(".mailbox-switch").get_by_role("button", name="Sí", exact=True).click()
    expect(page.locator("ul.messagelist")).to_contain_text("Tipo de Servidor cambiado")
    expect(page.locator("#id_server_type")).to_have_value("outlook_basic")
    expect(page.locator("#id_tenant_id")).to_be_hidden()
    screenshot(page, "4-switched")
    mailbox.refresh_from_db()
    assert mailbox.server_type == "outlook_basic"
    assert mailbox.password == PASSWORD
    assert (mailbox.tenant_id, mailbox.client_id) == (None, None)
    assert not Secret.objects.filter(mailbox=mailbox, is_current=True).exists()
    assert SECRET not in page.content()
    assert PASSWORD not in page.content()
