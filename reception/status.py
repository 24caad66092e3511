"""The mailbox status machine, in one place: every transition is recorded with who, when, why.

- A check that passes: IMAP → Activo; POP3 → Por Activar until the backup address is confirmed,
  then Activo.
- Failures that need a person (invalid or expired secret, missing permission, refused login) →
  Inactivo at once, and the people responsible are told by e-mail.
- Transient failures (timeouts, refused connections, Entra 5xx) only count; enough of them in a
  row, spanning enough time, make the mailbox Inactivo. A success resets the count.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from reception.models import MailboxStatus, Protocol, ReceptionMailbox, StatusChange
from reception.transports.base import TransportError

if TYPE_CHECKING:
    from reception.diagnosis import Cause, Diagnosis


def mailbox_set_status(
    mailbox: ReceptionMailbox,
    status: str,
    *,
    reason: str,
    actor: Any = None,
    source: str,
) -> bool:
    """Move `mailbox` to `status`, recording who/what and why. Returns True if it changed."""
    if mailbox.status == status and mailbox.status_reason == reason:
        return False
    with transaction.atomic():
        StatusChange.objects.create(
            mailbox=mailbox,
            from_status=mailbox.status,
            to_status=status,
            reason=reason,
            actor=actor if getattr(actor, "pk", None) else None,
            source=source,
        )
        mailbox.status = status
        mailbox.status_reason = reason
        mailbox.status_changed_at = timezone.now()
        ReceptionMailbox.objects.filter(pk=mailbox.pk).update(
            status=status, status_reason=reason, status_changed_at=mailbox.status_changed_at
        )
    return True


def status_after_passing_check(mailbox: ReceptionMailbox) -> tuple[str, str]:
    """Where a mailbox whose check passed belongs, and why."""
    if mailbox.protocol == Protocol.POP3 and not mailbox.backup_confirmed_at:
        return MailboxStatus.PENDING, _(
            "Conexión correcta. Falta confirmar el correo de respaldo %(email)s: POP3 borra los "
            "correos del servidor, así que primero se respaldan en esa dirección."
        ) % {"email": mailbox.backup_email}
    return MailboxStatus.ACTIVE, _("Conexión correcta.")


def mailbox_record_success(mailbox: ReceptionMailbox) -> None:
    """A fetch reached the mailbox: transient failures so far are forgotten."""
    ReceptionMailbox.objects.filter(pk=mailbox.pk).update(
        transient_failures=0, first_transient_failure_at=None
    )
    mailbox.transient_failures = 0
    mailbox.first_transient_failure_at = None


def mailbox_record_failure(
    mailbox: ReceptionMailbox, error: TransportError, *, source: str, actor: Any = None
) -> bool:
    """Apply a failed fetch or check to the status. Returns True if the mailbox went Inactivo."""
    from reception.notifications import notify_mailbox_inactive

    now = timezone.now()
    reason = failure_reason(error, mailbox)
    if not error.transient:
        changed = mailbox_set_status(
            mailbox, MailboxStatus.INACTIVE, reason=reason, actor=actor, source=source
        )
        if changed:
            transaction.on_commit(lambda: notify_mailbox_inactive(mailbox))
        return mailbox.status == MailboxStatus.INACTIVE
    with transaction.atomic():
        locked = ReceptionMailbox.objects.select_for_update().get(pk=mailbox.pk)
        locked.transient_failures += 1
        locked.first_transient_failure_at = locked.first_transient_failure_at or now
        locked.save(update_fields=["transient_failures", "first_transient_failure_at"])
    mailbox.transient_failures = locked.transient_failures
    mailbox.first_transient_failure_at = locked.first_transient_failure_at
    window = timedelta(hours=settings.RECEPTION_TRANSIENT_FAILURE_WINDOW_HOURS)
    persistent = (
        locked.transient_failures >= settings.RECEPTION_TRANSIENT_FAILURES_TO_INACTIVATE
        and now - locked.first_transient_failure_at >= window
    )
    if persistent and mailbox.status != MailboxStatus.INACTIVE:
        mailbox_set_status(
            mailbox,
            MailboxStatus.INACTIVE,
            reason=_("%(count)s fallas seguidas desde %(since)s. Última: %(reason)s")
            % {
                "count": locked.transient_failures,
                "since": timezone.localtime(locked.first_transient_failure_at).strftime(
                    "%Y-%m-%d %H:%M"
                ),
                "reason": reason,
            },
            actor=actor,
            source=source,
        )
        transaction.on_commit(lambda: notify_mailbox_inactive(mailbox))
        return True
    return False


def failure_reason(error: TransportError, mailbox: ReceptionMailbox) -> str:
    """One readable line: what failed, the server's words and the most likely fix."""
    from reception.connection import mailbox_settings
    from reception.diagnosis import explain, step_titles

    connection = mailbox_settings(mailbox)
    causes = explain(error, connection)
    hint = _hint(causes[0]) if causes else ""
    return _("Falló «%(stage)s»: %(detail)s.%(hint)s") % {
        "stage": step_titles(connection).get(error.stage, str(error.stage)),
        "detail": error.detail.rstrip("."),
        "hint": hint,
    }


def check_reason(diagnosis: Diagnosis) -> str:
    """The status reason after a failed check: the failed step, its detail, the first fix."""
    step = diagnosis.failed_step
    if step is None:
        return _("Conexión correcta.")
    hint = _hint(step.causes[0]) if step.causes else ""
    return _("Falló «%(stage)s»: %(detail)s.%(hint)s") % {
        "stage": step.title,
        "detail": step.detail.rstrip("."),
        "hint": hint,
    }


def _hint(cause: Cause) -> str:
    section = _(" (guía: «%(section)s»)") % {"section": cause.section} if cause.section else ""
    return f" {cause.text}{section}"
