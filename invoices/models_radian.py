"""The organization's DIAN credentials and the RADIAN events sent with them."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_cryptography.fields import encrypt

from invoices.models import ClaimConcept


class DianEnvironment(models.TextChoices):
    HABILITACION = "habilitacion", _("Habilitación")
    PRODUCCION = "produccion", _("Producción")


class DianCredentials(models.Model):
    """What the organization signs and sends its RADIAN events with.

    The certificate (PKCS#12, base64), its password and the software PIN are encrypted at rest
    and never shown again; the certificate's subject and dates are kept in clear to judge it.
    """

    #: What a person types as it is: the admin's form and the service copy exactly these.
    PLAIN_FIELDS = (
        "software_id",
        "environment",
        "test_set_id",
        "event_prefix",
        "receiver_name",
        "receiver_id",
        "receiver_job_title",
        "receiver_department",
    )

    organization = models.OneToOneField(
        "organizations.Organization",
        on_delete=models.CASCADE,
        related_name="dian_credentials",
        verbose_name=_("organización"),
    )
    certificate = encrypt(models.TextField(_("certificado (PKCS#12)")))
    certificate_password = encrypt(
        models.CharField(_("contraseña del certificado"), max_length=256, blank=True)
    )
    certificate_subject = models.CharField(_("titular del certificado"), max_length=500)
    certificate_not_before = models.DateTimeField(_("certificado válido desde"))
    certificate_not_after = models.DateTimeField(_("certificado válido hasta"))
    software_id = models.CharField(
        _("Id. del software"), max_length=64, help_text=_("El que asignó la DIAN al software.")
    )
    software_pin = encrypt(models.CharField(_("PIN del software"), max_length=64))
    environment = models.CharField(_("ambiente"), max_length=12, choices=DianEnvironment.choices)
    test_set_id = models.CharField(
        _("TestSetId"),
        max_length=64,
        blank=True,
        help_text=_("Solo en habilitación: el set de pruebas asignado por la DIAN."),
    )
    event_prefix = models.CharField(
        _("prefijo de los eventos"),
        max_length=10,
        help_text=_("Los eventos se numeran prefijo + consecutivo; un número nunca se reutiliza."),
    )
    next_event_number = models.PositiveBigIntegerField(_("siguiente consecutivo"), default=1)
    receiver_name = models.CharField(_("nombre de quien recibe"), max_length=200)
    receiver_id = models.CharField(_("identificación de quien recibe"), max_length=20)
    receiver_job_title = models.CharField(_("cargo de quien recibe"), max_length=100)
    receiver_department = models.CharField(_("área de quien recibe"), max_length=100)
    certificate_warning_sent_at = models.DateTimeField(
        _("aviso de vencimiento del certificado"), null=True, blank=True, editable=False
    )
    certificate_expired_notice_sent_at = models.DateTimeField(
        _("aviso de certificado vencido"), null=True, blank=True, editable=False
    )
    updated_at = models.DateTimeField(_("actualizado"), auto_now=True)

    class Meta:
        verbose_name = _("credenciales DIAN")
        verbose_name_plural = _("credenciales DIAN")

    def __str__(self) -> str:
        return str(_("Credenciales DIAN de %(org)s") % {"org": self.organization})


class RadianEventState(models.TextChoices):
    TO_SEND = "to_send", _("Por enviar")
    SENT = "sent", _("Enviado")
    REGISTERED = "registered", _("Registrado")
    REJECTED = "rejected", _("Rechazado")
    TRANSIENT = "transient", _("Error transitorio")


class RadianEvent(models.Model):
    """One signed event for one invoice, and what DIAN said about it."""

    organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        related_name="radian_events",
        verbose_name=_("organización"),
    )
    document = models.ForeignKey(
        "invoices.ReceivedDocument",
        on_delete=models.PROTECT,
        related_name="radian_events",
        verbose_name=_("documento"),
    )
    review_event = models.OneToOneField(
        "invoices.ReviewEvent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="radian_event",
        verbose_name=_("evento de revisión"),
    )
    code = models.CharField(_("evento"), max_length=3)
    concept = models.CharField(
        _("concepto de reclamo"), max_length=2, choices=ClaimConcept.choices, blank=True
    )
    note = models.TextField(_("nota"), blank=True)
    number = models.CharField(_("número del evento"), max_length=40)
    cude = models.CharField(_("CUDE"), max_length=96, unique=True)
    issued_at = models.DateTimeField(_("emitido"))
    signed_xml = models.TextField(_("XML firmado"))
    state = models.CharField(
        _("estado"),
        max_length=10,
        choices=RadianEventState.choices,
        default=RadianEventState.TO_SEND,
    )
    dian_status_code = models.CharField(_("código DIAN"), max_length=10, blank=True)
    dian_description = models.TextField(_("respuesta DIAN"), blank=True)
    dian_errors = models.JSONField(_("reglas de la DIAN"), default=list, blank=True)
    attempts = models.PositiveSmallIntegerField(_("intentos"), default=0)
    next_retry_at = models.DateTimeField(_("próximo intento"), null=True, blank=True)
    last_error = models.TextField(_("último error"), blank=True)
    sent_at = models.DateTimeField(_("enviado"), null=True, blank=True)
    registered_at = models.DateTimeField(_("registrado"), null=True, blank=True)
    supplier_notified_at = models.DateTimeField(_("proveedor avisado"), null=True, blank=True)
    supplier_email = models.CharField(_("correo del proveedor"), max_length=254, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("usuario"),
    )
    created_at = models.DateTimeField(_("creado"), auto_now_add=True)

    class Meta:
        verbose_name = _("evento RADIAN")
        verbose_name_plural = _("eventos RADIAN")
        ordering = ["-created_at", "-id"]
        constraints = [
            # A number is never reused within the organization's numbering.
            models.UniqueConstraint(
                fields=["organization", "number"], name="one_radian_number_per_organization"
            ),
            models.CheckConstraint(
                condition=models.Q(code__in=["030", "031", "032", "033"]),
                name="radian_event_buyer_codes",
            ),
        ]
        indexes = [
            # The events list filtered by state within an organization.
            models.Index(fields=["organization", "state"], name="radian_org_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.number}"
