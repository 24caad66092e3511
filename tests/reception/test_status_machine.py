"""Every transition of the mailbox status machine, recorded with who/what, when and why."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from reception.models import MailboxStatus, Protocol
from reception.status import (
    mailbox_record_failure,
    mailbox_record_success,
    mailbox_set_status,
    status_after_passing_check,
)
from reception.transports.base import ErrorKind, Stage, TransportError
from tests.factories.mailboxes import make_mailbox


def needs_a_person() -> TransportError:
    return TransportError(
        ErrorKind.EXPIRED_SECRET,
        Stage.TOKEN,
        "AADSTS7000222: The provided client secret keys for app are expired.",
        codes=(7000222,),
    )


def transient() -> TransportError:
    return TransportError(ErrorKind.TIMEOUT, Stage.TCP, "tiempo de espera agotado")


@pytest.fixture
def mailbox(org_a, alice):
    return make_mailbox(org_a, notification_email="ti@andina.test")


@pytest.mark.django_db
def test_it_records_who_when_and_why(mailbox, alice):
    assert mailbox_set_status(
        mailbox, MailboxStatus.INACTIVE, reason="Prueba", actor=alice, source="admin"
    )
    change = mailbox.status_changes.get()
    assert (change.from_status, change.to_status) == (MailboxStatus.ACTIVE, MailboxStatus.INACTIVE)
    assert (change.actor, change.source, change.reason) == (alice, "admin", "Prueba")
    assert mailbox.status_changed_at is not None


@pytest.mark.django_db
def test_it_records_nothing_when_nothing_changes(mailbox):
    mailbox_set_status(mailbox, MailboxStatus.ACTIVE, reason="", source="check")
    assert not mailbox.status_changes.exists()


@pytest.mark.django_db
def test_a_passing_imap_check_means_activo(mailbox):
    assert status_after_passing_check(mailbox)[0] == MailboxStatus.ACTIVE


@pytest.mark.django_db
def test_a_passing_pop3_check_means_por_activar_until_the_backup_is_confirmed(org_a):
    mailbox = make_mailbox(org_a, protocol=Protocol.POP3, backup_email="r@andina.test")
    status, reason = status_after_passing_check(mailbox)
    assert status == MailboxStatus.PENDING
    assert "r@andina.test" in reason
    mailbox.backup_confirmed_at = timezone.now()
    assert status_after_passing_check(mailbox)[0] == MailboxStatus.ACTIVE


@pytest.mark.django_db
def test_an_error_that_needs_a_person_inactivates_at_once_and_mails(
    mailbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert mailbox_record_failure(mailbox, needs_a_person(), source="schedule")
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.INACTIVE
    assert "Token de Entra ID" in mailbox.status_reason
    assert "Actualización de secreto" in mailbox.status_reason
    (message,) = mail.outbox
    assert "quedó Inactivo" in message.subject
    assert set(message.to) == {"ti@andina.test", "alice@example.test"}
    assert mailbox.status_changes.get().source == "schedule"


@pytest.mark.django_db
def test_a_transient_error_does_not_flip_the_status(mailbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert not mailbox_record_failure(mailbox, transient(), source="schedule")
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.ACTIVE
    assert mailbox.transient_failures == 1
    assert mail.outbox == []


@pytest.mark.django_db
def test_many_transient_errors_over_the_window_inactivate(
    mailbox, settings, django_capture_on_commit_callbacks
):
    settings.RECEPTION_TRANSIENT_FAILURES_TO_INACTIVATE = 3
    settings.RECEPTION_TRANSIENT_FAILURE_WINDOW_HOURS = 2
    start = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        for minutes in (0, 5, 10, 15):  # four failures in a quarter of an hour: not yet
            with time_machine.travel(start + datetime.timedelta(minutes=minutes)):
                assert not mailbox_record_failure(mailbox, transient(), source="schedule")
        with time_machine.travel(start + datetime.timedelta(hours=2, minutes=1)):
            assert mailbox_record_failure(mailbox, transient(), source="schedule")
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.INACTIVE
    assert "5 fallas seguidas" in mailbox.status_reason
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_success_resets_the_count(mailbox, settings):
    settings.RECEPTION_TRANSIENT_FAILURES_TO_INACTIVATE = 2
    settings.RECEPTION_TRANSIENT_FAILURE_WINDOW_HOURS = 0
    mailbox_record_failure(mailbox, transient(), source="schedule")
    mailbox_record_success(mailbox)
    assert not mailbox_record_failure(mailbox, transient(), source="schedule")
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.ACTIVE
    assert mailbox.transient_failures == 1


@pytest.mark.django_db
def test_a_success_restarts_the_failure_window(mailbox, settings):
    """Failures before a success do not count towards the window of the failures after it."""
    settings.RECEPTION_TRANSIENT_FAILURES_TO_INACTIVATE = 2
    settings.RECEPTION_TRANSIENT_FAILURE_WINDOW_HOURS = 2
    start = timezone.now()
    with time_machine.travel(start):
        mailbox_record_failure(mailbox, transient(), source="schedule")
    with time_machine.travel(start + datetime.timedelta(hours=3)):
        mailbox_record_success(mailbox)
        assert not mailbox_record_failure(mailbox, transient(), source="schedule")
    with time_machine.travel(start + datetime.timedelta(hours=3, minutes=5)):
        # Two failures, but five minutes apart: the window began after the success.
        assert not mailbox_record_failure(mailbox, transient(), source="schedule")
    mailbox.refresh_from_db()
    assert mailbox.status == MailboxStatus.ACTIVE
    assert mailbox.first_transient_failure_at >= start + datetime.timedelta(hours=3)
