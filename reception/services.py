"""Business operations on reception mailboxes: the only writers of their state.

The admin, the management commands and the background tasks all call these functions.
Network work (the connection check) always runs outside database transactions.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from organizations.models import Organization
from reception.connection import check_tokens, mailbox_settings
from reception.diagnosis import Diagnosis, diagnose
from reception.exceptions import ServerTypeChangeNotConfirmed
from reception.models import MailboxStatus, ReceptionMailbox, Secret, ServerType
from reception.status import (
    check_reason,
    mailbox_record_success,
    mailbox_set_status,
    status_after_passing_check,
)

def secret_replace(
    mailbox: ReceptionMailbox,
    *,
    value: str,
    expires_on: datetime.date | None,
    notification_email: str,
    actor: Any = None,
) -> Secret:
    """Make `value` the current secret; older secrets stay as history without their value."""
    with transaction.atomic():
        secret_retire_all(mailbox)
        return Secret.objects.create(
            mailbox=mailbox,
            value=value,
            expires_on=expires_on,
            notification_email=notification_email,
            created_by=actor if getattr(actor, "pk", None) else None,
            is_current=True,
        )


def secret_retire_all(mailbox: ReceptionMailbox) -> int:
    return Secret.objects.filter(mailbox=mailbox, is_current=True).update(
        is_current=False, value=None, retired_at=timezone.now()
    )


def mailbox_switch_server_type(
    *, mailbox: ReceptionMailbox, server_type: str, actor: Any = None, source: str
) -> ReceptionMailbox:
    """Wipe every parameter of the earlier server type and store the new type.

    Callers reach this only after the user answered "Sí" to the guide's warning.
    """
    ServerType(server_type)
    with transaction.atomic():
        mailbox = ReceptionMailbox.objects.select_for_update().get(pk=mailbox.pk)
        previous = mailbox.get_server_type_display()
        mailbox.server_type = server_type
        mailbox.password = ""
        mailbox.tenant_id = mailbox.client_id = mailbox.object_id = None
        mailbox.backup_email = ""
        mailbox.backup_confirmed_at = None
        mailbox.backup_confirmed_by = None
        mailbox.last_check = None
        mailbox.save()
        secret_retire_all(mailbox)
        mailbox_set_status(
            mailbox,
            MailboxStatus.INACTIVE,
            reason=_(
                "Tipo de servidor cambiado de «%(previous)s» a «%(new)s»: los parámetros "
                "anteriores fueron eliminados."
            )
            % {"previous": previous, "new": mailbox.get_server_type_display()},
            actor=actor,
            source=source,
        )
    return mailbox


def mailbox_configure(
    *,
    organization: Organization,
    data: dict[str, Any],
    actor: Any = None,
    source: str,
    confirm_switch: bool = False,
    run_check: bool = True,
) -> ReceptionMailbox:
    """Save a validated configuration (a MailboxConfigurationForm's cleaned_data), then check it.

    A change of server type on a configured mailbox needs `confirm_switch`; the check decides
    the resulting status (Activo, Por Activar or Inactivo).
    """
    with transaction.atomic():
        mailbox = (
            ReceptionMailbox.objects.select_for_update().filter(organization=organization).first()
        )
        if mailbox is not None and mailbox.server_type != data["server_type"]:
            if not confirm_switch:
                raise ServerTypeChangeNotConfirmed(
                    _(
                        "Al cambiar el Tipo de Servidor se eliminarán todos los parámetros "
                        "diligenciados previamente; confirme el cambio."
                    )
                )
            mailbox = mailbox_switch_server_type(
                mailbox=mailbox, server_type=data["server_type"], actor=actor, source=source
            )
        if mailbox is None:
            mailbox = ReceptionMailbox(organization=organization)
        previous_backup = mailbox.backup_email
        for field in ("server_type", "protocol", "host", "port", "security", "username"):
            setattr(mailbox, field, data[field])
        modern = data["server_type"] == ServerType.OUTLOOK_MODERN
        if modern:
            mailbox.password = ""
            mailbox.tenant_id = data["tenant_id"]
            mailbox.client_id = data["client_id"]
            mailbox.object_id = data.get("object_id") or None
        else:
            if data.get("password"):
                mailbox.password = data["password"]
            mailbox.tenant_id = mailbox.client_id = mailbox.object_id = None
        mailbox.backup_email = data.get("backup_email") or ""
        if mailbox.backup_email != previous_backup:
            mailbox.backup_confirmed_at = None
            mailbox.backup_confirmed_by = None
        mailbox.full_clean(exclude=["organization"])
        mailbox.save()
        if not modern:
            secret_retire_all(mailbox)
        elif data.get("secret"):
            secret_replace(
                mailbox,
                value=data["secret"],
                expires_on=data.get("secret_expires_on"),
                notification_email=data.get("notification_email") or "",
                actor=actor,
            )
        else:
            current = mailbox.current_secret
            if current is not None and "secret_expires_on" in data:
                if current.expires_on != data.get("secret_expires_on"):
                    current.expiry_warning_sent_at = None
                    current.expired_notice_sent_at = None
                current.expires_on = data.get("secret_expires_on")
                current.notification_email = data.get("notification_email") or ""
                current.save()
    if run_check:
        mailbox_check(mailbox, actor=actor, source=source)
    return mailbox


def mailbox_check(
    mailbox: ReceptionMailbox, *, actor: Any = None, source: str, create_folders: bool = True
) -> Diagnosis:
    """Run the step-by-step connection check, keep it on the mailbox, and move the status.

    A passing check makes an IMAP mailbox Activo (its folder structure created) and a POP3
    mailbox Por Activar until its backup address is confirmed; any failure makes it Inactivo
    with the failed step as the reason — a person asked for this check and is looking.
    """
    diagnosis = diagnose(
        mailbox_settings(mailbox), create_folders=create_folders, tokens=check_tokens
    )
    mailbox.last_check = diagnosis.as_dict()
    mailbox.last_checked_at = timezone.now()
    ReceptionMailbox.objects.filter(pk=mailbox.pk).update(
        last_check=mailbox.last_check, last_checked_at=mailbox.last_checked_at
    )
    if diagnosis.ok:
        status, reason = status_after_passing_check(mailbox)
        mailbox_record_success(mailbox, source=source)
    else:
        status, reason = MailboxStatus.INACTIVE, check_reason(diagnosis)
    mailbox_set_status(mailbox, status, reason=reason, actor=actor, source=source)
    return diagnosis
