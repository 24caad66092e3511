"""The POP3 backup address is confirmed by a one-time, expiring, signed link (or by Soporte)."""

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from reception.models import MailboxStatus, Protocol
from reception.services import backup_confirm_manually, backup_confirmation_send
from tests.factories.mailboxes import make_mailbox


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
