"""django-q2 entry points: ids in, one service call, a short summary out."""

from __future__ import annotations

from django.db.models import Q
from django_q.tasks import async_task

from reception.exceptions import MailboxBusy, MailboxUnreachable
from reception.fetching import mailbox_fetch
from reception.models import MailboxStatus, Protocol, ReceptionMailbox
from reception.monitoring import stale_fetch_alert
from reception.services import secrets_notify_expiring


def fetchable_mailboxes():
    """Activo mailboxes, and POP3 ones Por Activar (read, but nothing deleted, until confirmed)."""
    return ReceptionMailbox.objects.filter(
        Q(status=MailboxStatus.ACTIVE) | Q(status=MailboxStatus.PENDING, protocol=Protocol.POP3)
    )


def fetch_all_mailboxes() -> dict:
    """The scheduled fan-out: one task per mailbox, so workers share the load."""
    ids = list(fetchable_mailboxes().values_list("pk", flat=True))
    for mailbox_id in ids:
        async_task(
            "reception.tasks.fetch_mailbox",
            mailbox_id,
            task_name=f"fetch-mailbox-{mailbox_id}",
            group="fetch-mailbox",
        )
    return {"queued": len(ids)}


def fetch_mailbox(mailbox_id: int, trigger: str = "schedule") -> dict:
    mailbox = ReceptionMailbox.objects.select_related("organization").get(pk=mailbox_id)
    try:
        return mailbox_fetch(mailbox, trigger=trigger).as_dict()
    except MailboxBusy:
        return {"skipped": "busy"}
    except MailboxUnreachable as error:
        return {**error.summary.as_dict(), "unreachable": error.error.detail}


def notify_expiring_secrets() -> dict:
    return secrets_notify_expiring()


def alert_stale_mailboxes() -> dict:
    return stale_fetch_alert()
