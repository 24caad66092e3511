"""A Back office user reads a failed diagnosis in Chromium, fixes Exchange as it says, and
presses "Probar conexión" — against the real Dovecot and the fake Entra ID."""

import pytest
from playwright.sync_api import expect

from reception.models import MailboxStatus
from reception.services import mailbox_check, mailbox_configure

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def broken_mailbox(org_a, dovecot, fake_entra, reception_settings):
    """Org A's mailbox set up like the guide, then FullAccess removed and checked: Inactivo."""
    address = "recepcion@andina-browser.test"
    dovecot.add_user(address)
    guide = fake_entra.configure_like_guide(address)
    mailbox = mailbox_configure(
        organization=org_a,
        data={
            "server_type": "outlook_modern",
            "protocol": "imap",
            "host": dovecot.host,
            "port": dovecot.ports.imaps,
            "security": "ssl",
            "username": address,
            "tenant_id": guide.tenant_id,
            "client_id": guide.client_id,
            "object_id": guide.app.enterprise_object_id,
            "secret": guide.client_secret,
            "secret_expires_on": None,
            "notification_email": "ti@andina.test",
            "backup_email": "",
        },
        source="test",
    )
    assert mailbox.status == MailboxStatus.ACTIVE, mailbox.status_reason
    guide.tenant.remove_mailbox_permission(address, guide.app.enterprise_object_id)
    assert not mailbox_check(mailbox, source="test").ok
    mailbox.guide = guide
    return mailbox


def test_it_shows_the_powershell_fix_then_activo_after_probar_conexion(
    browser_page, screenshot, alice, broken_mailbox
):
    mailbox, guide = broken_mailbox, broken_mailbox.guide
    page = browser_page(alice)
    page.goto(f"/admin/reception/receptionmailbox/{mailbox.pk}/change/")

    expect(page.locator("#content h1")).to_contain_text(
        "Correo Recepción de Documentos Electrónicos - Inactivo"
    )
    panel = page.locator("#mailbox-diagnosis")
    failed = panel.locator(".diagnosis-step--failed")
    expect(failed).to_contain_text("FALLÓ")
    expect(failed).to_contain_text("User is authenticated but not connected")
    command = (
        f"Add-MailboxPermission -Identity '{mailbox.username}' "
        f"-User '{guide.app.enterprise_object_id}' -AccessRights FullAccess"
    )
    expect(failed.locator("pre.powershell", has_text=command)).to_be_visible()
    expect(panel.locator(".diagnosis-step--not_run").first).to_contain_text("no se ejecutó")
    assert guide.client_secret not in page.content()
    screenshot(page, "1-failed-diagnosis")

    # The customer runs the command in Exchange Online PowerShell.
    guide.tenant.add_mailbox_permission(mailbox.username, guide.app.enterprise_object_id)
    page.get_by_role("button", name="Probar conexión").click()

    expect(page.locator(".mailbox-status-line")).to_contain_text("Activo")
    expect(page.locator(".diagnosis-summary")).to_contain_text("Todos los pasos pasaron.")
    expect(page.locator(".diagnosis-step--failed")).to_have_count(0)
    screenshot(page, "2-check-passed")

    page.get_by_role("link", name="Volver al correo").click()
    expect(page.locator("#content h1")).to_contain_text(
        "Correo Recepción de Documentos Electrónicos - Activo"
    )
    screenshot(page, "3-mailbox-activo")
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.ACTIVE
    assert mailbox.status_changes.first().actor == alice
