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
from reception.exceptions import ServerTypeChangeNotConfirmed
from reception.models import MailboxStatus, ReceptionMailbox, Secret, ServerType, StatusChange

#: Fields that belong to one server type and are wiped when the type changes.
TYPE_BOUND_FIELDS = ("password", "tenant_id", "client_id", "object_id", "backup_email")


def mailbox_set_status(
    mailbox: ReceptionMailbox,
    status: str,
    *,
    reason: str,
    actor: Any = None,
    source: str,
) -> bool:
    """Move `mailbox` to `status`, recording who/what and why. Returns True if it changed."""
    changed = mailbox.status != status or mailbox.status_reason != reason
    if not changed:
        return False
    with transaction.atomic():
        StatusChange.objects.create(
            mailbox=mailbox,
            from_status=mailbox.status if mailbox.pk and mailbox.status_changed_at else "",
            to_status=status,
            reason=reason,
            actor=actor if getattr(actor, "pk", None) else None,
            source=source,
        )
        mailbox.status = status
        mailbox.status_reason = reason
        mailbox.status_changed_at = timezone.now()
        mailbox.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])
    return True


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


def mailbox_check(mailbox: ReceptionMailbox, *, actor: Any = None, source: str) -> Any:
    """Run the step-by-step connection check and move the status accordingly."""
    raise NotImplementedError("wired to reception.diagnosis by the connectivity work")
