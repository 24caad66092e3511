"""The POP3 backup address is confirmed by a one-time, expiring, signed link (or by Soporte)."""

import datetime
import json
import re

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from reception.models import MailboxStatus, Protocol, ReceptionMailbox
from reception.services import (
    backup_confirm_manually,
    backup_confirmation_send,
    mailbox_switch_server_type,
)
from tests.commands import run_command
from tests.factories.mailboxes import make_mailbox
from tests.reception.conftest import guide_configuration
from tests.reception.mailbox_data import admin_post


@pytest.fixture
def mailbox(org_a):
    return make_mailbox(
        org_a,
        protocol=Protocol.POP3,
        status=MailboxStatus.PENDING,
        backup_email="respaldo@andina.test",
    )


def sent_link(mailbox, django_capture_on_commit_callbacks) -> str:
    with django_capture_on_commit_callbacks(execute=True):
        backup_confirmation_send(mailbox)
    (message,) = [m for m in mail.outbox if "respaldo" in m.subject]
    assert message.to == ["respaldo@andina.test"]
    return re.search(r"http://\S+/respaldo/confirmar/\S+/", message.body).group(0)


def path_of(link: str) -> str:
    return link.split("8000", 1)[1]


@pytest.mark.django_db
def test_it_confirms_with_a_valid_link_and_activates(
    client, mailbox, django_capture_on_commit_callbacks
):
    link = sent_link(mailbox, django_capture_on_commit_callbacks)
    response = client.get(path_of(link))
    assert response.status_code == 200
    assert "Correo de respaldo confirmado" in response.text
    mailbox.refresh_from_db()
    assert mailbox.backup_confirmed_at is not None
    assert mailbox.status == MailboxStatus.ACTIVE
    change = mailbox.status_changes.first()
    assert change.source == "backup_link"
    assert change.from_status == MailboxStatus.PENDING


@pytest.mark.django_db
def test_it_refuses_a_reused_link(client, mailbox, django_capture_on_commit_callbacks):
    link = sent_link(mailbox, django_capture_on_commit_callbacks)
    client.get(path_of(link))
    response = client.get(path_of(link))
    assert response.status_code == 400
    assert "ya se usó" in response.text


@pytest.mark.django_db
def test_it_refuses_an_expired_link(client, mailbox, settings, django_capture_on_commit_callbacks):
    link = sent_link(mailbox, django_capture_on_commit_callbacks)
    later = timezone.now() + datetime.timedelta(
        days=settings.RECEPTION_BACKUP_CONFIRMATION_DAYS, hours=1
    )
    with time_machine.travel(later):
        response = client.get(path_of(link))
    assert response.status_code == 400
    assert "venció" in response.text
    mailbox.refresh_from_db()
    assert mailbox.backup_confirmed_at is None
    assert mailbox.status == MailboxStatus.PENDING


@pytest.mark.django_db
def test_it_refuses_a_tampered_link(client, mailbox, django_capture_on_commit_callbacks):
    link = sent_link(mailbox, django_capture_on_commit_callbacks)
    token = path_of(link).split("/")[-2]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = client.get(f"/respaldo/confirmar/{forged}/")
    assert response.status_code == 400
    assert "no es válido" in response.text
    mailbox.refresh_from_db()
    assert mailbox.backup_confirmed_at is None


@pytest.mark.django_db
def test_only_the_latest_link_works(client, mailbox, django_capture_on_commit_callbacks):
    first = sent_link(mailbox, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    second = sent_link(mailbox, django_capture_on_commit_callbacks)
    assert client.get(path_of(first)).status_code == 400
    assert client.get(path_of(second)).status_code == 200


@pytest.mark.django_db
def test_soporte_confirms_by_hand_and_it_is_recorded(mailbox, sofia):
    backup_confirm_manually(mailbox, actor=sofia)
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.ACTIVE
    assert mailbox.backup_confirmed_by == sofia
    change = mailbox.status_changes.first()
    assert change.actor == sofia
    assert change.source == "soporte_manual"
    assert "a mano por sofia" in change.reason


# --- A link confirms the address it was sent to, for the server type it was sent for ----------


@pytest.fixture
def live_pop3(configure_live_mailbox, dovecot):
    """A POP3 mailbox configured against Dovecot and the fake Entra ID: its check passed, so it
    is Por Activar and its confirmation link went to respaldo@andina.test."""
    mailbox = configure_live_mailbox("pop3")
    assert mailbox.status == MailboxStatus.PENDING, mailbox.status_reason
    mailbox.link = path_of(only_link_to("respaldo@andina.test"))
    mailbox.values = guide_configuration(mailbox.guide, dovecot, "pop3")
    mail.outbox.clear()
    return mailbox


def only_link_to(address: str) -> str:
    (message,) = [m for m in mail.outbox if "respaldo" in m.subject and m.to == [address]]
    return re.search(r"http://\S+/respaldo/confirmar/\S+/", message.body).group(0)


def make_the_check_fail(mailbox) -> None:
    """The app loses its permission on the mailbox: the next check fails, so no new link is sent."""
    guide = mailbox.guide
    guide.tenant.remove_mailbox_permission(mailbox.username, guide.app.enterprise_object_id)


def assert_old_link_refused(client, mailbox) -> None:
    response = client.get(mailbox.link)
    assert response.status_code == 400
    assert "No se pudo confirmar el correo de respaldo" in response.text
    assert "cambió el correo de respaldo o el tipo de servidor" in response.text
    mailbox.refresh_from_db()
    assert mailbox.backup_confirmed_at is None


def cli_configure(monkeypatch, capsys, values, *flags):
    stdin = json.dumps(values, default=str)
    argv = ["mailbox_configure", "--organization", "900123456", *flags]
    result = run_command(argv, stdin=stdin, monkeypatch=monkeypatch, capsys=capsys)
    assert result.status == 0, result.stderr
    return result


@pytest.mark.django_db
def test_an_old_link_does_not_confirm_a_new_address_given_on_the_cli(
    client, live_pop3, monkeypatch, capsys, django_capture_on_commit_callbacks
):
    make_the_check_fail(live_pop3)
    values = {**live_pop3.values, "backup_email": "nuevo@andina.test"}
    with django_capture_on_commit_callbacks(execute=True):
        result = cli_configure(monkeypatch, capsys, values)
    assert "Estado: Inactivo" in result.stdout
    assert mail.outbox == []

    assert_old_link_refused(client, live_pop3)
    assert live_pop3.backup_email == "nuevo@andina.test"

    # The new address gets its own link, which works once.
    with django_capture_on_commit_callbacks(execute=True):
        backup_confirmation_send(live_pop3)
    link = path_of(only_link_to("nuevo@andina.test"))
    assert client.get(link).status_code == 200
    live_pop3.refresh_from_db()
    assert live_pop3.backup_confirmed_at is not None
    assert client.get(link).status_code == 400


@pytest.mark.django_db
def test_an_old_link_does_not_confirm_a_new_address_given_in_the_admin(
    client, alice, live_pop3, django_capture_on_commit_callbacks
):
    make_the_check_fail(live_pop3)
    values = {**live_pop3.values, "backup_email": "nuevo@andina.test"}
    admin = Client()
    admin.force_login(alice)
    url = reverse("admin:reception_receptionmailbox_change", args=[live_pop3.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(url, admin_post(values))
    assert response.status_code == 302, response.context and response.context["errors"]
    live_pop3.refresh_from_db()
    assert (live_pop3.backup_email, live_pop3.status) == (
        "nuevo@andina.test",
        MailboxStatus.INACTIVE,
    )

    assert_old_link_refused(client, live_pop3)


@pytest.mark.django_db
def test_an_old_link_does_not_confirm_after_a_server_type_switch_on_the_cli(
    client, live_pop3, dovecot, monkeypatch, capsys, django_capture_on_commit_callbacks
):
    """Same backup address, but now behind a basic-auth login that Dovecot refuses."""
    values = {
        **live_pop3.values,
        "server_type": "outlook_basic",
        "password": "not-the-password",
        "tenant_id": None,
        "client_id": None,
        "object_id": None,
        "secret": None,
        "notification_email": None,
    }
    with django_capture_on_commit_callbacks(execute=True):
        result = cli_configure(monkeypatch, capsys, values, "--confirm-switch")
    assert "Estado: Inactivo" in result.stdout
    live_pop3.refresh_from_db()
    assert (live_pop3.server_type, live_pop3.backup_email) == (
        "outlook_basic",
        "respaldo@andina.test",
    )

    assert_old_link_refused(client, live_pop3)


@pytest.mark.django_db
def test_an_old_link_does_not_confirm_after_the_switch_service(client, live_pop3):
    mailbox_switch_server_type(mailbox=live_pop3, server_type="gmail", source="test")
    assert_old_link_refused(client, live_pop3)


@pytest.mark.django_db
def test_a_link_is_bound_to_its_address_even_if_a_writer_forgot_the_nonce(
    client, mailbox, django_capture_on_commit_callbacks
):
    link = sent_link(mailbox, django_capture_on_commit_callbacks)
    ReceptionMailbox.objects.filter(pk=mailbox.pk).update(backup_email="nuevo@andina.test")
    mailbox.link = path_of(link)
    assert_old_link_refused(client, mailbox)
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.PENDING
