"""E-mails to the people responsible for a mailbox: HTML and text, in Spanish (es-CO).

Sent after the transaction that caused them commits (callers use transaction.on_commit), so a
rolled-back change never mails anybody.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from organizations.roles import Role
from reception.models import ReceptionMailbox, Secret


def _send(template: str, context: dict, recipients: Iterable[str]) -> int:
    to = sorted({address for address in recipients if address})
    if not to:
        return 0
    with translation.override("es-co"):
        context = {**context, "site_url": settings.SITE_URL}
        subject = " ".join(
            render_to_string(f"reception/email/{template}_subject.txt", context).split()
        )
        text = render_to_string(f"reception/email/{template}.txt", context)
        html = render_to_string(f"reception/email/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=to)
    message.attach_alternative(html, "text/html")
    return message.send()


def responsible_addresses(mailbox: ReceptionMailbox) -> set[str]:
    """The secret's notification address and the organization's Back office members."""
    addresses = set(
        mailbox.organization.memberships.filter(role=Role.BACK_OFFICE)
        .exclude(user__email="")
        .values_list("user__email", flat=True)
    )
    secret = mailbox.current_secret
    if secret is not None and secret.notification_email:
        addresses.add(secret.notification_email)
    return addresses


def notify_mailbox_inactive(mailbox: ReceptionMailbox) -> int:
    mailbox.refresh_from_db(fields=["status", "status_reason", "status_changed_at"])
    return _send(
        "mailbox_inactive",
        {"mailbox": mailbox, "organization": mailbox.organization},
        responsible_addresses(mailbox),
    )


def notify_secret_expiring(secret: Secret, *, days_left: int) -> int:
    mailbox = secret.mailbox
    return _send(
        "secret_expiring",
        {
            "mailbox": mailbox,
            "organization": mailbox.organization,
            "secret": secret,
            "days_left": days_left,
        },
        [secret.notification_email]
        if secret.notification_email
        else responsible_addresses(mailbox),
    )


def notify_secret_expired(secret: Secret) -> int:
    mailbox = secret.mailbox
    return _send(
        "secret_expired",
        {"mailbox": mailbox, "organization": mailbox.organization, "secret": secret},
        {secret.notification_email} | responsible_addresses(mailbox),
    )


def send_backup_confirmation(mailbox: ReceptionMailbox, link: str, valid_days: int) -> int:
    return _send(
        "backup_confirmation",
        {
            "mailbox": mailbox,
            "organization": mailbox.organization,
            "link": link,
            "valid_days": valid_days,
        },
        [mailbox.backup_email],
    )


def notify_mailbox_stale(mailbox: ReceptionMailbox, *, last_read) -> int:
    """An Activo mailbox that has not been read for several fetch intervals."""
    return _send(
        "mailbox_stale",
        {
            "mailbox": mailbox,
            "organization": mailbox.organization,
            "last_read": last_read,
            "intervals": settings.RECEPTION_STALE_FETCH_INTERVALS,
            "interval_minutes": settings.RECEPTION_FETCH_INTERVAL_MINUTES,
        },
        responsible_addresses(mailbox),
    )
