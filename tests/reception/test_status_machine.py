"""Every transition of the mailbox status machine, recorded with who/what, when and why."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.utils import timezone

from reception.diagnosis import Cause, Diagnosis, Section, Step, StepStatus
from reception.models import MailboxStatus, Protocol
from reception.status import (
    check_reason,
    failure_reason,
    mailbox_record_failure,
    mailbox_record_success,
    mailbox_set_status,
    status_after_passing_check,
)
from reception.transports.base import (
    AuthMethod,
    ErrorKind,
    MailProtocol,
    Stage,
    TransportError,
)
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
    assert not mailbox_set_status(mailbox, MailboxStatus.ACTIVE, reason="", source="check")
    assert not mailbox.status_changes.exists()


@pytest.mark.django_db
def test_a_new_reason_for_the_same_status_is_a_change(mailbox):
    assert mailbox_set_status(mailbox, MailboxStatus.ACTIVE, reason="Revisado", source="check")
    assert mailbox.status_changes.get().reason == "Revisado"
    assert mailbox.status_reason == "Revisado"
    stored = type(mailbox).objects.get(pk=mailbox.pk)
    assert (stored.status_reason, stored.status_changed_at) == (
        "Revisado",
        mailbox.status_changed_at,
    )


@pytest.mark.django_db
def test_a_new_status_for_the_same_reason_is_a_change(mailbox):
    mailbox_set_status(mailbox, MailboxStatus.ACTIVE, reason="Motivo", source="check")
    assert mailbox_set_status(mailbox, MailboxStatus.INACTIVE, reason="Motivo", source="check")
    assert mailbox.status_changes.count() == 2


@pytest.mark.django_db
def test_an_actor_that_is_nobody_in_particular_is_recorded_as_none(mailbox):
    mailbox_set_status(
        mailbox, MailboxStatus.INACTIVE, reason="x", actor=AnonymousUser(), source="cli"
    )
    assert mailbox.status_changes.get().actor is None


@pytest.mark.django_db
def test_a_passing_imap_check_means_activo(mailbox):
    assert status_after_passing_check(mailbox) == (MailboxStatus.ACTIVE, "Conexión correcta.")


@pytest.mark.django_db
def test_a_passing_pop3_check_means_por_activar_until_the_backup_is_confirmed(org_a):
    mailbox = make_mailbox(org_a, protocol=Protocol.POP3, backup_email="r@andina.test")
    status, reason = status_after_passing_check(mailbox)
    assert status == MailboxStatus.PENDING
    assert reason == (
        "Conexión correcta. Falta confirmar el correo de respaldo r@andina.test: POP3 borra los "
        "correos del servidor, así que primero se respaldan en esa dirección."
    )
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
def test_the_failure_reason_names_the_step_the_server_s_words_and_the_first_fix(mailbox):
    error = TransportError(ErrorKind.TIMEOUT, Stage.TCP, "sin respuesta en el intento X.")
    assert failure_reason(error, mailbox).startswith(
        "Falló «El puerto del servidor está abierto»: sin respuesta en el intento X. "
    )


@pytest.mark.django_db
def test_a_failure_the_diagnosis_has_no_fix_for_reads_without_a_hint(mailbox):
    error = TransportError(ErrorKind.PROTOCOL, Stage.TCP, "respuesta inesperada")
    assert failure_reason(error, mailbox) == (
        "Falló «El puerto del servidor está abierto»: respuesta inesperada."
    )


@pytest.mark.django_db
def test_an_error_that_needs_a_person_records_who_saw_it(mailbox, alice):
    mailbox_record_failure(mailbox, needs_a_person(), source="admin", actor=alice)
    assert mailbox.status_changes.get().actor == alice


@pytest.mark.django_db
def test_a_transient_error_is_counted_on_the_mailbox_in_hand_too(mailbox):
    moment = timezone.now().replace(microsecond=0)
    with time_machine.travel(moment, tick=False):
        mailbox_record_failure(mailbox, transient(), source="schedule")
    assert (mailbox.transient_failures, mailbox.first_transient_failure_at) == (1, moment)


@pytest.mark.django_db
def test_the_threshold_and_the_window_are_reached_when_met_exactly(mailbox, settings, alice):
    """Two failures exactly two hours apart, with a threshold of two in two hours: Inactivo."""
    settings.RECEPTION_TRANSIENT_FAILURES_TO_INACTIVATE = 2
    settings.RECEPTION_TRANSIENT_FAILURE_WINDOW_HOURS = 2
    start = datetime.datetime(2026, 3, 4, 15, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False):
        assert not mailbox_record_failure(mailbox, transient(), source="schedule")
    with time_machine.travel(start + datetime.timedelta(hours=2), tick=False):
        assert mailbox_record_failure(mailbox, transient(), source="schedule", actor=alice)
    change = mailbox.status_changes.get()
    assert change.actor == alice
    assert change.reason.startswith(
        "2 fallas seguidas desde 2026-03-04 10:00. Última: Falló «El puerto del servidor está "
        "abierto»: tiempo de espera agotado."
    )


@pytest.mark.django_db
def test_a_success_clears_the_count_on_the_mailbox_in_hand_too(mailbox):
    mailbox_record_failure(mailbox, transient(), source="schedule")
    mailbox_record_success(mailbox)
    assert (mailbox.transient_failures, mailbox.first_transient_failure_at) == (0, None)


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


def _diagnosis(*steps: Step) -> Diagnosis:
    return Diagnosis(MailProtocol.IMAP, AuthMethod.OAUTH2, steps, timezone.now())


def test_a_check_reason_names_the_failed_step_its_detail_and_the_first_fix_with_its_section():
    passed = Step(Stage.TCP, "Puerto abierto", StepStatus.OK)
    failed = Step(
        Stage.TOKEN,
        "Token de Entra ID",
        StepStatus.FAILED,
        detail="AADSTS7000222: secreto vencido de la app X.",
        causes=(
            Cause("Crea un secreto nuevo", Section.SECRET_RENEWAL),
            Cause("Otra causa menos probable"),
        ),
    )
    not_run = Step(Stage.AUTH, "Autenticación", StepStatus.NOT_RUN)
    assert check_reason(_diagnosis(passed, failed, not_run)) == (
        "Falló «Token de Entra ID»: AADSTS7000222: secreto vencido de la app X. "
        "Crea un secreto nuevo (guía: «Actualización de secreto en aplicación existente»)"
    )


def test_a_check_reason_without_a_guide_section_or_causes_has_no_hint():
    without_section = Step(
        Stage.TCP, "Puerto abierto", StepStatus.FAILED, "rechazada", (Cause("Revisa el puerto"),)
    )
    assert check_reason(_diagnosis(without_section)) == (
        "Falló «Puerto abierto»: rechazada. Revisa el puerto"
    )
    without_causes = Step(Stage.TCP, "Puerto abierto", StepStatus.FAILED, "rechazada")
    assert check_reason(_diagnosis(without_causes)) == "Falló «Puerto abierto»: rechazada."


def test_a_passing_check_reason_says_the_connection_is_correct():
    assert check_reason(_diagnosis(Step(Stage.TCP, "Puerto", StepStatus.OK))) == (
        "Conexión correcta."
    )
