"""A new Back office user adds the reception mailbox in Chromium at 1366 px, a common laptop
width: nothing scrolls sideways, the GUIDs can be compared in full, and after saving the
step-by-step diagnosis is in view — checked against the real Dovecot."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from reception.models import ReceptionMailbox
from reception.schedules import schedules_ensure
from tests.reception.fake_check import install_fake_check
from tests.reception.mailbox_data import CLIENT, OTHER_GUID, SECRET, TENANT

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

WIDTH = 1366
NO_SIDEWAYS_SCROLL = (
    "() => document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth"
)


def style_of(locator):
    return locator.evaluate(
        "e => { const s = getComputedStyle(e);"
        " return [s.fontFamily, s.fontSize, s.fontWeight, s.lineHeight, s.textTransform]; }"
    )


def fits_in_width(page, selector):
    """Whether the list inside `selector` shows all its columns without scrolling sideways."""
    return page.eval_on_selector(selector, "e => e.scrollWidth <= e.clientWidth")


def wide_page(browser_page, user):
    page = browser_page(user)
    page.set_viewport_size({"width": WIDTH, "height": 768})
    return page


def test_it_adds_a_mailbox_and_lands_on_its_diagnosis(
    browser_page, screenshot, org_a, alice, dovecot, reception_settings
):
    address = "recepcion@andina-1366.test"
    dovecot.add_user(address, password="Basic-Pa55word!")
    page = wide_page(browser_page, alice)
    page.goto(reverse("admin:index"))
    steps = page.locator("#first-steps")
    expect(steps).to_contain_text("Primeros pasos")
    screenshot(page, "0-first-steps")
    steps.get_by_role("link", name="Configura su correo de recepción").click()
    expect(page).to_have_url(re.compile(r"/receptionmailbox/add/$"))
    page.select_option("#id_organization", str(org_a.pk))
    page.select_option("#id_server_type", "other")
    page.select_option("#id_protocol", "imap")
    page.fill("#id_host", dovecot.host)
    page.fill("#id_port", str(dovecot.ports.imaps))
    page.select_option("#id_security", "ssl")
    page.fill("#id_username", address)
    page.fill("#id_password", "Basic-Pa55word!")
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the add form scrolls sideways at 1366 px"
    # No empty history tables on a mailbox that does not exist yet.
    expect(page.locator("#secrets-group")).to_have_count(0)
    expect(page.locator("#status_changes-group")).to_have_count(0)
    screenshot(page, "1-form")

    page.click("input[name=_save]")
    expect(page).to_have_url(re.compile(r"/change/#mailbox-diagnosis$"))
    mailbox = ReceptionMailbox.objects.get(organization=org_a)
    assert page.url.endswith(
        reverse("admin:reception_receptionmailbox_change", args=[mailbox.pk]) + "#mailbox-diagnosis"
    )
    diagnosis = page.locator("#mailbox-diagnosis")
    expect(diagnosis).to_be_in_viewport()
    expect(diagnosis.locator(".diagnosis-step--ok").first).to_be_visible()
    # "Probar conexión" (a form's button) weighs the same as "Historial" (a link).
    button = page.locator(".object-tools button[name=probar]")
    link = page.locator(".object-tools a.historylink")
    assert style_of(button) == style_of(link)
    assert button.bounding_box()["height"] == link.bounding_box()["height"]
    screenshot(page, "2-diagnosis")

    page.goto(reverse("admin:reception_receptionmailbox_changelist"))
    expect(page.locator("#result_list")).to_contain_text("Activo")
    screenshot(page, "3-list")
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the mailbox list scrolls sideways at 1366 px"
    assert fits_in_width(page, "#changelist .results"), "the mailbox list is cut"


def test_it_fits_the_schedules_list(browser_page, screenshot, root):
    schedules_ensure()
    page = wide_page(browser_page, root)
    page.goto(reverse("admin:django_q_schedule_changelist"))
    expect(page.locator("#content h1")).to_contain_text("Escoge qué modificar")
    screenshot(page, "4-schedules")
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the schedules list scrolls sideways at 1366 px"
    assert fits_in_width(page, "#changelist .results"), "the schedules list is cut"


def test_it_shows_guids_in_full_with_a_retype_hint_and_a_colombian_date(
    browser_page, screenshot, org_a, alice, monkeypatch
):
    install_fake_check(monkeypatch)
    page = wide_page(browser_page, alice)
    page.goto(reverse("admin:reception_receptionmailbox_add"))
    page.select_option("#id_organization", str(org_a.pk))
    page.select_option("#id_server_type", "outlook_modern")
    page.select_option("#id_protocol", "imap")
    page.fill("#id_username", "recepcion@andina.example.test")
    page.fill("#id_tenant_id", TENANT)
    page.fill("#id_tenant_id_confirm", OTHER_GUID)
    page.fill("#id_client_id", CLIENT)
    page.fill("#id_client_id_confirm", CLIENT)
    page.fill("#id_secret", SECRET)
    page.fill("#id_secret_confirm", SECRET)
    page.fill("#id_secret_expires_on", "30/06/2027")
    page.fill("#id_notification_email", "ti@andina.example.test")
    page.click("input[name=_continue]")
    expect(page.locator(".field-tenant_id_confirm .errorlist")).to_contain_text("no coincide")

    # Each GUID fits its input, so an id and its confirmation can be compared by eye.
    for name in ("tenant_id", "tenant_id_confirm", "client_id", "client_id_confirm"):
        fits = page.eval_on_selector(f"#id_{name}", "e => e.scrollWidth <= e.clientWidth")
        assert fits, f"{name} is cut"
    # The secret comes back empty by design, and the page says why, next to it.
    expect(page.locator("#id_secret")).to_have_value("")
    expect(page.locator(".field-secret .retype-hint")).to_contain_text("vuelve a escribir")
    # Django admin's date widget, in dd/mm/aaaa.
    expect(page.locator("#id_secret_expires_on")).to_have_value("30/06/2027")
    expect(page.locator(".field-secret_expires_on .datetimeshortcuts")).to_be_visible()
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the form with errors scrolls sideways"
    screenshot(page, "1-errors")
