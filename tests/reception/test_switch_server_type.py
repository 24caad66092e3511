"""Changing the Tipo de Servidor of a configured mailbox: the guide's warning, "No" and "Sí"."""

import datetime
import re
import uuid

import pytest
import time_machine
from django.contrib.admin.models import CHANGE, LogEntry
from django.test import Client
from django.urls import reverse

from reception.admin.sealing import SWITCH_PAYLOAD
from reception.models import MailboxStatus, ReceptionMailbox, Secret, StatusChange
from tests.factories.mailboxes import make_mailbox
from tests.reception.fake_check import install_fake_check
from tests.reception.mailbox_data import (
    CLIENT,
    NEW_SECRET,
    OBJECT,
    PASSWORD,
    SECRET,
    TENANT,
    USERNAME,
    admin_post,
    basic,
    modern,
)

WARNING = "todos los parámetros que tenías previamente diligenciados serán eliminados"
BOGOTA = datetime.timezone(datetime.timedelta(hours=-5))


@pytest.fixture
def fake_check(monkeypatch):
    # Replaced by the real check in the connectivity tests.
    return install_fake_check(monkeypatch)


@pytest.fixture
def mailbox(org_a):
    """A configured Outlook modern-auth mailbox of org A with its secret."""
    return make_mailbox(
        org_a,
        username=USERNAME,
        tenant_id=uuid.UUID(TENANT),
        client_id=uuid.UUID(CLIENT),
        object_id=uuid.UUID(OBJECT),
        secret=SECRET,
        status=MailboxStatus.ACTIVE,
    )


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


def change_url(mailbox):
    return reverse("admin:reception_receptionmailbox_change", args=[mailbox.pk])


def payload_of(response):
    match = re.search(rf'name="{SWITCH_PAYLOAD}" value="([^"]+)"', response.content.decode())
    assert match, "the switch page carries the sealed data"
    return match[1]


def assert_untouched(mailbox):
    fresh = ReceptionMailbox.objects.get(pk=mailbox.pk)
    assert fresh.server_type == "outlook_modern"
    assert (fresh.tenant_id, fresh.client_id) == (uuid.UUID(TENANT), uuid.UUID(CLIENT))
    assert fresh.object_id == mailbox.object_id
    assert fresh.password == ""
    assert fresh.current_secret.value == SECRET
    assert fresh.status == MailboxStatus.ACTIVE


def test_it_asks_before_switching(mailbox, alice_client, fake_check):
    response = alice_client.post(change_url(mailbox), admin_post(basic()))
    assert response.status_code == 200
    assert response.templates[0].name == "admin/reception/receptionmailbox/switch_server_type.html"
    page = response.content.decode()
    assert WARNING in page
    assert "«Outlook autenticación moderna» → «Outlook autenticación básica»" in page
    assert 'type="submit" value="Sí"' in page
    assert f'href="{change_url(mailbox)}"' in page and ">No</a>" in page
    assert PASSWORD not in page
    assert_untouched(mailbox)
    assert fake_check.calls == []


def test_it_changes_nothing_on_no(mailbox, alice_client, fake_check):
    alice_client.post(change_url(mailbox), admin_post(basic()))
    response = alice_client.get(change_url(mailbox))  # "No" is a link back to the form
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.initial["server_type"] == "outlook_modern"
    assert str(form.initial["tenant_id"]) == TENANT
    assert_untouched(mailbox)
    assert not StatusChange.objects.filter(mailbox=mailbox).exists()


def test_it_wipes_and_saves_the_new_type_on_yes(mailbox, alice, alice_client, fake_check):
    page = alice_client.post(change_url(mailbox), admin_post(basic()))
    response = alice_client.post(change_url(mailbox), {SWITCH_PAYLOAD: payload_of(page)})
    assert response.status_code == 302
    assert response["Location"] == change_url(mailbox) + "#mailbox-diagnosis"
    fresh = ReceptionMailbox.objects.get(pk=mailbox.pk)
    assert fresh.server_type == "outlook_basic"
    assert fresh.password == PASSWORD
    assert (fresh.tenant_id, fresh.client_id, fresh.object_id) == (None, None, None)
    assert fresh.current_secret is None
    assert list(Secret.objects.filter(mailbox=mailbox).values_list("value", flat=True)) == [None]
    assert fresh.status == MailboxStatus.ACTIVE  # the (fake) check ran on the new parameters
    reasons = list(
        StatusChange.objects.filter(mailbox=mailbox)
        .order_by("id")
        .values_list("to_status", "reason")
    )
    assert reasons[0][0] == MailboxStatus.INACTIVE
    assert "los parámetros anteriores fueron eliminados" in reasons[0][1]
    assert fake_check.calls == [{"mailbox": mailbox.pk, "actor": alice, "source": "admin"}]
    assert LogEntry.objects.filter(object_id=str(mailbox.pk), action_flag=CHANGE).exists()
    followed = alice_client.get(response["Location"])
    assert "Tipo de Servidor cambiado a «Outlook autenticación básica»" in followed.content.decode()


def test_it_switches_from_basic_to_modern_with_the_new_secret(org_a, alice_client, fake_check):
    mailbox = make_mailbox(org_a, server_type="outlook_basic", password=PASSWORD, secret="")
    page = alice_client.post(change_url(mailbox), admin_post(modern(secret=NEW_SECRET)))
    assert NEW_SECRET not in page.content.decode()
    alice_client.post(change_url(mailbox), {SWITCH_PAYLOAD: payload_of(page)})
    fresh = ReceptionMailbox.objects.get(pk=mailbox.pk)
    assert fresh.server_type == "outlook_modern"
    assert fresh.password == ""
    assert fresh.current_secret.value == NEW_SECRET


def test_it_validates_before_asking(org_a, alice_client, fake_check):
    """The new type needs its own password: the stored one is about to be wiped."""
    mailbox = make_mailbox(org_a, server_type="gmail", password=PASSWORD, secret="")
    response = alice_client.post(
        change_url(mailbox), admin_post(basic(server_type="other", password=""))
    )
    assert response.status_code == 200
    assert "password" in response.context["adminform"].form.errors
    assert WARNING not in response.content.decode()


def test_it_refuses_a_tampered_confirmation(mailbox, alice_client, fake_check):
    page = alice_client.post(change_url(mailbox), admin_post(basic()))
    token = payload_of(page)
    forged = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    response = alice_client.post(change_url(mailbox), {SWITCH_PAYLOAD: forged}, follow=True)
    assert "La confirmación venció o no es válida" in response.content.decode()
    assert_untouched(mailbox)


def test_it_refuses_a_confirmation_for_another_mailbox(
    mailbox, org_b, charlie, alice_client, fake_check
):
    other = make_mailbox(org_b, secret=SECRET)
    token = payload_of(alice_client.post(change_url(mailbox), admin_post(basic())))
    charlie_client = Client()
    charlie_client.force_login(charlie)
    charlie_client.post(change_url(other), {SWITCH_PAYLOAD: token})
    assert ReceptionMailbox.objects.get(pk=other.pk).server_type == "outlook_modern"
    assert_untouched(mailbox)


def test_it_refuses_an_old_confirmation(mailbox, alice_client, fake_check):
    with time_machine.travel(datetime.datetime(2026, 5, 4, 10, 0, tzinfo=BOGOTA), tick=False):
        token = payload_of(alice_client.post(change_url(mailbox), admin_post(basic())))
    with time_machine.travel(datetime.datetime(2026, 5, 4, 10, 31, tzinfo=BOGOTA), tick=False):
        alice_client.post(change_url(mailbox), {SWITCH_PAYLOAD: token})
    assert_untouched(mailbox)


def test_it_validates_the_data_again_on_yes(org_a, alice_client, fake_check):
    """Asked at 23:50 with tomorrow's expiry; answered at 00:05, when that date is today."""
    mailbox = make_mailbox(org_a, server_type="outlook_basic", password=PASSWORD, secret="")
    with time_machine.travel(datetime.datetime(2026, 5, 4, 23, 50, tzinfo=BOGOTA), tick=False):
        values = modern(secret_expires_on="2026-05-05")
        token = payload_of(alice_client.post(change_url(mailbox), admin_post(values)))
    with time_machine.travel(datetime.datetime(2026, 5, 5, 0, 5, tzinfo=BOGOTA), tick=False):
        response = alice_client.post(change_url(mailbox), {SWITCH_PAYLOAD: token}, follow=True)
    assert "Los datos ya no son válidos" in response.content.decode()
    fresh = ReceptionMailbox.objects.get(pk=mailbox.pk)
    assert (fresh.server_type, fresh.password) == ("outlook_basic", PASSWORD)
    assert fake_check.calls == []


@pytest.mark.parametrize(("persona", "status"), [("bob", 403), ("sofia", 403), ("charlie", 404)])
def test_it_lets_only_the_back_office_confirm(
    request, mailbox, alice_client, fake_check, persona, status
):
    token = payload_of(alice_client.post(change_url(mailbox), admin_post(basic())))
    other = Client()
    other.force_login(request.getfixturevalue(persona))
    assert other.post(change_url(mailbox), {SWITCH_PAYLOAD: token}).status_code == status
    assert_untouched(mailbox)


def test_it_does_not_ask_when_the_type_stays(mailbox, alice_client, fake_check):
    response = alice_client.post(change_url(mailbox), admin_post(modern(secret="")))
    assert response.status_code == 302
    assert_untouched(mailbox)
