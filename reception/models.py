"""The reception mailbox of an organization, its secrets over time, and what it has fetched."""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_cryptography.fields import encrypt

from config.storage import get_private_storage


class ServerType(models.TextChoices):
    OUTLOOK_MODERN = "outlook_modern", _("Outlook autenticación moderna")
    OUTLOOK_BASIC = "outlook_basic", _("Outlook autenticación básica")
    GMAIL = "gmail", _("Gmail")
    OTHER = "other", _("Otro")


class Protocol(models.TextChoices):
    IMAP = "imap", _("IMAP")
    POP3 = "pop3", _("POP3")


class Security(models.TextChoices):
    SSL = "ssl", _("SSL/TLS")
    STARTTLS = "starttls", _("STARTTLS")


class MailboxStatus(models.TextChoices):
    ACTIVE = "active", _("Activo")
    PENDING = "pending", _("Por Activar")
    INACTIVE = "inactive", _("Inactivo")


class ReceptionMailbox(models.Model):
    """The "Correo de Recepción de Documentos Electrónicos" of one organization."""

    organization = models.OneToOneField(
        "organizations.Organization",
        on_delete=models.CASCADE,
        related_name="mailbox",
        verbose_name=_("organización"),
    )
    server_type = models.CharField(_("Tipo de Servidor"), max_length=20, choices=ServerType.choices)
    protocol = models.CharField(_("Protocolo de Acceso"), max_length=4, choices=Protocol.choices)
    host = models.CharField(_("Servidor"), max_length=253)
    port = models.PositiveIntegerField(
        _("Puerto"), validators=[MinValueValidator(1), MaxValueValidator(65535)]
    )
    security = models.CharField(
        _("Protocolo de Seguridad"), max_length=8, choices=Security.choices, default=Security.SSL
    )
    username = models.CharField(_("Usuario"), max_length=254)
    password = encrypt(models.CharField(_("Contraseña"), max_length=512, blank=True, default=""))
    tenant_id = models.UUIDField(_("Id. Tenant"), null=True, blank=True)
    client_id = models.UUIDField(_("Id. Aplicación"), null=True, blank=True)
    object_id = models.UUIDField(
        _("Id. de objeto (aplicación empresarial)"),
        null=True,
        blank=True,
        help_text=_(
            "Opcional. El Id. de objeto de la aplicación en «Aplicaciones empresariales»; "
            "se usa para escribir los comandos de PowerShell del diagnóstico."
        ),
    )
    backup_email = models.EmailField(_("Correo de respaldo"), blank=True)
    backup_confirmed_at = models.DateTimeField(_("respaldo confirmado"), null=True, blank=True)
    backup_confirmation_sent_at = models.DateTimeField(
        _("confirmación de respaldo enviada"), null=True, blank=True, editable=False
    )
    #: Changes with every confirmation e-mail, so only the latest link works, and only once.
    backup_confirmation_nonce = models.UUIDField(null=True, blank=True, editable=False)
    backup_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("respaldo confirmado por"),
    )

    status = models.CharField(
        _("estado"), max_length=8, choices=MailboxStatus.choices, default=MailboxStatus.INACTIVE
    )
    status_reason = models.TextField(_("motivo del estado"), blank=True)
    status_changed_at = models.DateTimeField(_("cambio de estado"), null=True, blank=True)
    last_check = models.JSONField(_("último diagnóstico"), null=True, blank=True, editable=False)
    last_checked_at = models.DateTimeField(_("último diagnóstico"), null=True, blank=True)
    transient_failures = models.PositiveIntegerField(_("fallas transitorias seguidas"), default=0)
    first_transient_failure_at = models.DateTimeField(null=True, blank=True, editable=False)

    fetch_lock_token = models.UUIDField(null=True, blank=True, editable=False)
    fetch_locked_until = models.DateTimeField(null=True, blank=True, editable=False)
    fetch_locked_by = models.CharField(max_length=255, blank=True, editable=False)
    last_fetch_at = models.DateTimeField(_("última lectura"), null=True, blank=True)

    created_at = models.DateTimeField(_("creado"), auto_now_add=True)
    updated_at = models.DateTimeField(_("actualizado"), auto_now=True)

    class Meta:
        verbose_name = _("Correo Recepción de Documentos Electrónicos")
        verbose_name_plural = _("Correos Recepción de Documentos Electrónicos")
        permissions = [
            ("check_receptionmailbox", _("Puede probar la conexión del buzón")),
            ("reactivate_receptionmailbox", _("Puede reactivar el buzón")),
            ("confirm_backup_receptionmailbox", _("Puede confirmar a mano el correo de respaldo")),
            ("rotate_secret_receptionmailbox", _("Puede actualizar el secreto")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(port__gte=1, port__lte=65535), name="mailbox_port_range"
            ),
        ]
        indexes = [
            # The scheduler's fan-out: "every active mailbox".
            models.Index(fields=["status"], name="mailbox_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.username} ({self.organization.name})"

    @property
    def uses_modern_auth(self) -> bool:
        return self.server_type == ServerType.OUTLOOK_MODERN

    @property
    def current_secret(self) -> "Secret | None":
        return self.secrets.filter(is_current=True).first()


class Secret(models.Model):
    """A client secret of the mailbox's Entra ID app. Retired secrets keep no value."""

    mailbox = models.ForeignKey(
        ReceptionMailbox,
        on_delete=models.CASCADE,
        related_name="secrets",
        verbose_name=_("buzón"),
    )
    value = encrypt(models.TextField(_("Secreto"), null=True, blank=True))
    expires_on = models.DateField(_("Fecha Expiración"), null=True, blank=True)
    notification_email = models.EmailField(_("Correo Notificación"), blank=True)
    is_current = models.BooleanField(_("actual"), default=True)
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("creado por"),
    )
    retired_at = models.DateTimeField(_("retirado"), null=True, blank=True)
    expiry_warning_sent_at = models.DateTimeField(_("aviso de vencimiento"), null=True, blank=True)
    expired_notice_sent_at = models.DateTimeField(_("aviso de vencido"), null=True, blank=True)

    class Meta:
        verbose_name = _("secreto")
        verbose_name_plural = _("secretos")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox"],
                condition=models.Q(is_current=True),
                name="one_current_secret_per_mailbox",
            ),
            models.CheckConstraint(
                condition=models.Q(is_current=True) | models.Q(value__isnull=True),
                name="retired_secret_has_no_value",
            ),
        ]
        indexes = [
            # The daily expiry job: current secrets with a date.
            models.Index(fields=["is_current", "expires_on"], name="secret_expiry_idx"),
        ]

    def __str__(self) -> str:
        state = _("actual") if self.is_current else _("retirado")
        return f"{_('Secreto')} #{self.pk} ({state})"


class StatusChange(models.Model):
    """Every status transition of a mailbox: who or what, when and why."""

    mailbox = models.ForeignKey(
        ReceptionMailbox, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(_("de"), max_length=8, choices=MailboxStatus.choices, blank=True)
    to_status = models.CharField(_("a"), max_length=8, choices=MailboxStatus.choices)
    reason = models.TextField(_("motivo"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("usuario"),
    )
    source = models.CharField(_("origen"), max_length=40, help_text=_("admin, cli, tarea, ..."))
    created_at = models.DateTimeField(_("fecha"), auto_now_add=True)

    class Meta:
        verbose_name = _("cambio de estado")
        verbose_name_plural = _("cambios de estado")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.from_status or '∅'} → {self.to_status}"


class MessageOutcome(models.TextChoices):
    PENDING = "pending", _("Por procesar")
    DOCUMENT = "document", _("Documento registrado")
    DUPLICATE = "duplicate", _("Duplicado")
    NOT_DIAN = "not_dian", _("No es documento electrónico")
    REJECTED = "rejected", _("Rechazado")
    ERROR = "error", _("Error")


class ServerState(models.TextChoices):
    ON_SERVER = "on_server", _("En el servidor")
    MOVED = "moved", _("Movido a su carpeta")
    BACKED_UP = "backed_up", _("Respaldado")
    DELETED = "deleted", _("Borrado del servidor")


class IncomingMessage(models.Model):
    """The fetch ledger: one row per e-mail seen on the server, committed before it is touched.

    The unique (mailbox, server_key) makes a re-run after a crash neither lose nor duplicate.
    """

    # No index of its own: the indexes below that start with the mailbox serve its lookups, and
    # a fetch's every insert and decision (which changes an indexed column, so touches every
    # index) maintained one more.
    mailbox = models.ForeignKey(
        ReceptionMailbox, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    server_key = models.CharField(
        _("clave en el servidor"),
        max_length=300,
        help_text=_("IMAP: carpeta, UIDVALIDITY y UID; POP3: UIDL."),
    )
    folder = models.CharField(_("carpeta"), max_length=200, blank=True)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    uid = models.BigIntegerField(null=True, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=998, blank=True)
    sender = models.CharField(_("remitente"), max_length=998, blank=True)
    subject = models.TextField(_("asunto"), blank=True)
    sent_at = models.DateTimeField(_("fecha del correo"), null=True, blank=True)
    size = models.PositiveIntegerField(_("tamaño"), default=0)
    sha256 = models.CharField(_("hash SHA-256"), max_length=64, blank=True)
    raw = models.FileField(
        _("correo original"), storage=get_private_storage, upload_to="mail/%Y/%m/", blank=True
    )
    outcome = models.CharField(
        _("resultado"),
        max_length=10,
        choices=MessageOutcome.choices,
        default=MessageOutcome.PENDING,
    )
    reason_code = models.CharField(_("código del motivo"), max_length=40, blank=True)
    reason = models.TextField(_("motivo"), blank=True)
    server_state = models.CharField(
        _("estado en el servidor"),
        max_length=10,
        choices=ServerState.choices,
        default=ServerState.ON_SERVER,
    )
    received_at = models.DateTimeField(_("leído"), auto_now_add=True)
    processed_at = models.DateTimeField(_("procesado"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("procesamientos"), default=0)

    class Meta:
        verbose_name = _("correo recibido")
        verbose_name_plural = _("correos recibidos")
        ordering = ["-received_at", "-id"]
        permissions = [("reprocess_incomingmessage", _("Puede reprocesar correos"))]
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "server_key"], name="one_ledger_row_per_server_message"
            )
        ]
        indexes = [
            # Post-processing: "committed rows not yet moved/deleted on the server".
            models.Index(fields=["mailbox", "server_state"], name="message_server_state_idx"),
            # Triage list: "mail that produced no document", newest first.
            models.Index(fields=["outcome", "-received_at"], name="message_outcome_idx"),
            # After a UIDVALIDITY change: "is this message already recorded under an old UID?"
            models.Index(fields=["mailbox", "sha256"], name="message_hash_idx"),
        ]

    def __str__(self) -> str:
        return self.subject[:80] or self.server_key


class FolderState(models.Model):
    """IMAP sync point per folder: UIDVALIDITY and the last UID recorded."""

    mailbox = models.ForeignKey(
        ReceptionMailbox, on_delete=models.CASCADE, related_name="folder_states"
    )
    folder = models.CharField(max_length=200)
    uidvalidity = models.BigIntegerField()
    last_uid = models.BigIntegerField(default=0)
    # From a UIDVALIDITY change until a run has seen every message of the folder: until then a
    # message may still have a row under its old number, which the fetch looks for by hash.
    renumbered = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "folder"], name="one_state_per_folder")
        ]

    def __str__(self) -> str:
        return f"{self.folder} {self.uidvalidity}:{self.last_uid}"


class FetchRun(models.Model):
    """One fetch of one mailbox: when, what it found, and what went wrong."""

    class Outcome(models.TextChoices):
        RUNNING = "running", _("En curso")
        OK = "ok", _("Correcto")
        FAILED = "failed", _("Falló")
        SKIPPED = "skipped", _("Omitido (otro en curso)")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    mailbox = models.ForeignKey(ReceptionMailbox, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(_("origen"), max_length=40)
    started_at = models.DateTimeField(_("inicio"), auto_now_add=True)
    finished_at = models.DateTimeField(_("fin"), null=True, blank=True)
    outcome = models.CharField(
        _("resultado"), max_length=8, choices=Outcome.choices, default=Outcome.RUNNING
    )
    counts = models.JSONField(_("conteos"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("lectura del buzón")
        verbose_name_plural = _("lecturas del buzón")
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["mailbox", "-started_at"], name="run_mailbox_idx")]

    def __str__(self) -> str:
        return f"{self.mailbox} @ {self.started_at:%Y-%m-%d %H:%M}"
