"""Business operations on reception mailboxes: the only writers of their state.

The admin, the management commands and the background tasks all call these functions.
Network work (the connection check) always runs outside database transactions.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from organizations.models import Organization
from reception.connection import check_tokens, mailbox_settings
from reception.destinations import destination_check_on_save
from reception.diagnosis import Diagnosis, diagnose
from reception.exceptions import (
    BackupLinkInvalid,
    BackupNotAwaitingConfirmation,
    SecretNotApplicable,
    ServerTypeChangeNotConfirmed,
)
from reception.models import MailboxStatus, Protocol, ReceptionMailbox, Secret, ServerType
from reception.status import (
    check_reason,
    mailbox_record_success,
    mailbox_set_status,
    status_after_passing_check,
)
from reception.validators import validate_secret_value


def secret_replace(
    mailbox: ReceptionMailbox,
    *,
    value: str,
    expires_on: datetime.date | None,
    notification_email: str,
    actor: Any = None,
) -> Secret:
    """Make `value` the current secret; older secrets stay as history without their value.

    The value is checked first: the working secret is retired only in the transaction that
    stores one that can be sent to Entra ID.
    """
    try:
        validate_secret_value(value)
    except ValidationError as error:
        raise ValidationError({"secret": error}) from error
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
        mailbox.backup_confirmation_nonce = None  # links sent for the old type stop working
        mailbox.backup_confirmation_sent_at = None
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
    the resulting status (Activo, Por Activar or Inactivo). Before anything is saved the host is
    resolved and vetted (`DestinationRefused`, naming the field): the form's rules cannot use
    the network.
    """
    mailbox_destination_check(data)
    with transaction.atomic():
        mailbox = (
            ReceptionMailbox.objects.select_for_update().filter(organization=organization).first()
        )
        if mailbox is not None and mailbox.server_type != data["server_type"]:
            if not confirm_switch:
                raise ServerTypeChangeNotConfirmed(
                    _(
                        "Al cambiar el Tipo de Servidor se eliminarán todos los parámetros "
                        "diligenciados previamente; confirma el cambio."
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
            mailbox.backup_confirmation_nonce = None  # a link to the old address confirms nothing
            mailbox.backup_confirmation_sent_at = None
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
        diagnosis = mailbox_check(mailbox, actor=actor, source=source)
        if diagnosis.ok and mailbox.status == MailboxStatus.PENDING:
            backup_confirmation_send(mailbox)
    return mailbox


def mailbox_destination_check(data: dict[str, Any]) -> None:
    """Raise DestinationRefused when the configuration's credential may not go to its host.

    The same rules run again before every connection; this is the save's turn, with DNS.
    """
    destination_check_on_save(server_type=data["server_type"], host=data["host"], port=data["port"])


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
        mailbox_record_success(mailbox)
    else:
        status, reason = MailboxStatus.INACTIVE, check_reason(diagnosis)
    mailbox_set_status(mailbox, status, reason=reason, actor=actor, source=source)
    return diagnosis


def secret_rotate(
    mailbox: ReceptionMailbox,
    *,
    value: str,
    expires_on: datetime.date | None,
    notification_email: str,
    actor: Any = None,
    source: str,
) -> Diagnosis:
    """Make a new secret current (the old one is retired without its value), then check.

    A passing check reactivates the mailbox; this is the guide's "Actualización de secreto en
    aplicación existente" from our side. Only Outlook modern auth has a secret: for any other
    type a secret would be stored and never used, so it is refused.
    """
    if not mailbox.uses_modern_auth:
        raise SecretNotApplicable(
            _("El tipo de servidor «%(type)s» no usa secreto de aplicación.")
            % {"type": mailbox.get_server_type_display()}
        )
    secret_replace(
        mailbox,
        value=value,
        expires_on=expires_on,
        notification_email=notification_email,
        actor=actor,
    )
    return mailbox_check(mailbox, actor=actor, source=source)


# --- Secret expiry -----------------------------------------------------------------------------


def secrets_notify_expiring(*, today: datetime.date | None = None) -> dict[str, int]:
    """Warn N days before each current secret's expiry date (Bogotá), once per secret, and
    make the mailbox Inactivo once the date has passed.

    A warning whose day was missed (worker down) goes out on the next run, not never. Each
    secret is claimed with a conditional UPDATE before mailing, so two concurrent runs send one
    e-mail; a failed send releases the claim for the next run.
    """
    from reception.notifications import notify_secret_expired, notify_secret_expiring

    today = today or timezone.localdate()
    warn_days = settings.RECEPTION_SECRET_WARNING_DAYS
    counts = {"warned": 0, "expired": 0}
    current = Secret.objects.filter(is_current=True, expires_on__isnull=False)
    for secret in current.filter(
        expired_notice_sent_at__isnull=True, expires_on__lt=today
    ).select_related("mailbox__organization"):
        if not _claim(secret, "expired_notice_sent_at"):
            continue
        mailbox = secret.mailbox
        mailbox_set_status(
            mailbox,
            MailboxStatus.INACTIVE,
            reason=_(
                "El secreto de la aplicación venció el %(date)s. Registra uno nuevo con "
                "«Actualizar secreto» (guía: «Actualización de secreto en aplicación existente»)."
            )
            % {"date": secret.expires_on.isoformat()},
            source="secret_expiry",
        )
        _send_or_release(
            secret, "expired_notice_sent_at", lambda s=secret: notify_secret_expired(s)
        )
        counts["expired"] += 1
    for secret in current.filter(
        expiry_warning_sent_at__isnull=True,
        expired_notice_sent_at__isnull=True,
        expires_on__gte=today,
        expires_on__lte=today + datetime.timedelta(days=warn_days),
    ).select_related("mailbox__organization"):
        if not _claim(secret, "expiry_warning_sent_at"):
            continue
        days_left = (secret.expires_on - today).days
        _send_or_release(
            secret,
            "expiry_warning_sent_at",
            lambda s=secret, d=days_left: notify_secret_expiring(s, days_left=d),
        )
        counts["warned"] += 1
    return counts


def _claim(secret: Secret, field: str) -> bool:
    return bool(
        Secret.objects.filter(pk=secret.pk, **{f"{field}__isnull": True}).update(
            **{field: timezone.now()}
        )
    )


def _send_or_release(secret: Secret, field: str, send: Any) -> None:
    try:
        send()
    except Exception:
        Secret.objects.filter(pk=secret.pk).update(**{field: None})
        raise


# --- POP3 backup address -----------------------------------------------------------------------

BACKUP_SALT = "reception.backup-confirmation"


def backup_awaits_confirmation(mailbox: ReceptionMailbox) -> bool:
    """Only a POP3 mailbox backs mail up, and its address is confirmed once."""
    return bool(
        mailbox.protocol == Protocol.POP3
        and mailbox.backup_email
        and mailbox.backup_confirmed_at is None
    )


def backup_confirmation_send(mailbox: ReceptionMailbox) -> str:
    """Mail a one-time, expiring confirmation link to the backup address; return the link.

    Each link replaces the earlier ones, so "Reenviar enlace" is this same call. The link is
    signed with the address and server type read under the row lock, and goes to that address.
    """
    from reception.notifications import send_backup_confirmation

    with transaction.atomic():
        locked = (
            ReceptionMailbox.objects.select_for_update()
            .select_related("organization")
            .get(pk=mailbox.pk)
        )
        if not backup_awaits_confirmation(locked):
            raise BackupNotAwaitingConfirmation(
                _("Este buzón no tiene un correo de respaldo por confirmar.")
            )
        nonce = uuid.uuid4()
        locked.backup_confirmation_nonce = nonce
        locked.backup_confirmation_sent_at = timezone.now()
        locked.save(update_fields=["backup_confirmation_nonce", "backup_confirmation_sent_at"])
        token = signing.dumps(
            {"m": locked.pk, "n": nonce.hex, "a": _backup_binding(locked)}, salt=BACKUP_SALT
        )
        link = settings.SITE_URL + reverse("backup-confirm", args=[token])
        days = settings.RECEPTION_BACKUP_CONFIRMATION_DAYS
        transaction.on_commit(lambda: send_backup_confirmation(locked, link, days))
    mailbox.backup_confirmation_nonce = nonce
    return link


def backup_confirm(token: str) -> ReceptionMailbox:
    """Confirm the backup address from the e-mailed link; a passing mailbox becomes Activo.

    The link confirms only what it was sent for: its nonce must be the latest, and the address
    and server type must still be those it was signed with, whichever way they were changed.
    """
    max_age = datetime.timedelta(days=settings.RECEPTION_BACKUP_CONFIRMATION_DAYS)
    try:
        payload = signing.loads(token, salt=BACKUP_SALT, max_age=max_age)
    except signing.SignatureExpired as error:
        raise BackupLinkInvalid(
            _("El enlace de confirmación venció; pide uno nuevo guardando de nuevo el buzón.")
        ) from error
    except signing.BadSignature as error:
        raise BackupLinkInvalid(_("El enlace de confirmación no es válido.")) from error
    with transaction.atomic():
        mailbox = (
            ReceptionMailbox.objects.select_for_update()
            .filter(pk=payload.get("m"), backup_confirmation_nonce=uuid.UUID(hex=payload["n"]))
            .first()
        )
        if (
            mailbox is None
            or not backup_awaits_confirmation(mailbox)
            or payload.get("a") != _backup_binding(mailbox)
        ):
            raise BackupLinkInvalid(
                _(
                    "Este enlace ya no sirve: ya se usó, se envió uno más reciente, o cambió el "
                    "correo de respaldo o el tipo de servidor del buzón."
                )
            )
        _backup_confirmed(mailbox, actor=None, source="backup_link")
    return mailbox


def _backup_binding(mailbox: ReceptionMailbox) -> str:
    """What a link vouches for: this backup address of this mailbox, on this server type."""
    bound = "\n".join([mailbox.server_type, mailbox.protocol, mailbox.backup_email])
    return salted_hmac(BACKUP_SALT, bound, algorithm="sha256").hexdigest()[:32]


def backup_confirm_manually(mailbox: ReceptionMailbox, *, actor: Any) -> None:
    """Soporte confirms the backup address by hand (e.g. the link could not be delivered).

    Checked under the row lock: two people confirming at once record one confirmation.
    """
    with transaction.atomic():
        mailbox = ReceptionMailbox.objects.select_for_update().get(pk=mailbox.pk)
        if not backup_awaits_confirmation(mailbox):
            raise BackupNotAwaitingConfirmation(
                _("Este buzón no tiene un correo de respaldo por confirmar.")
            )
        _backup_confirmed(mailbox, actor=actor, source="soporte_manual")


def _backup_confirmed(mailbox: ReceptionMailbox, *, actor: Any, source: str) -> None:
    mailbox.backup_confirmed_at = timezone.now()
    mailbox.backup_confirmed_by = actor if getattr(actor, "pk", None) else None
    mailbox.backup_confirmation_nonce = None
    mailbox.save(
        update_fields=[
            "backup_confirmed_at",
            "backup_confirmed_by",
            "backup_confirmation_nonce",
            "updated_at",
        ]
    )
    if mailbox.status == MailboxStatus.PENDING:
        how = _("a mano por %(user)s") % {"user": actor} if actor else _("con el enlace enviado")
        mailbox_set_status(
            mailbox,
            MailboxStatus.ACTIVE,
            reason=_("Correo de respaldo %(email)s confirmado %(how)s.")
            % {"email": mailbox.backup_email, "how": how},
            actor=actor,
            source=source,
        )
