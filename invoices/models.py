"""Documents received from suppliers, their taxes and their review trail (RADIAN events)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from config.storage import get_private_storage

AMOUNT = {"max_digits": 22, "decimal_places": 6}


class DocumentType(models.TextChoices):
    INVOICE = "invoice", _("Factura")
    CREDIT_NOTE = "credit_note", _("Nota crédito")
    DEBIT_NOTE = "debit_note", _("Nota débito")


class ReviewStatus(models.TextChoices):
    """The buyer's DIAN (RADIAN) events, in the order they normally happen."""

    PENDING = "pending", _("Pendiente")
    ACKNOWLEDGED = "acknowledged", _("Acuse de recibo (030)")
    GOODS_RECEIVED = "goods_received", _("Recibo del bien o servicio (032)")
    ACCEPTED = "accepted", _("Aceptado (033)")
    CLAIMED = "claimed", _("Reclamado (031)")


class ClaimConcept(models.TextChoices):
    INCONSISTENT = "01", _("01 Documento con inconsistencias")
    GOODS_NOT_DELIVERED = "02", _("02 Mercancía no entregada totalmente")
    GOODS_PARTIALLY_DELIVERED = "03", _("03 Mercancía no entregada parcialmente")
    SERVICE_NOT_RENDERED = "04", _("04 Servicio no prestado")


class ReceivedDocument(models.Model):
    # No index of its own: the indexes below that start with the organization serve its
    # lookups, and a fetch's every insert maintained one more.
    organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.PROTECT,
        related_name="documents",
        verbose_name=_("organización"),
        db_index=False,
    )
    mailbox = models.ForeignKey(
        "reception.ReceptionMailbox",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="documents",
        verbose_name=_("buzón"),
    )
    source_message = models.ForeignKey(
        "reception.IncomingMessage",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="documents",
        verbose_name=_("correo de origen"),
    )
    document_type = models.CharField(_("tipo"), max_length=12, choices=DocumentType.choices)
    type_code = models.CharField(_("código de tipo"), max_length=4, blank=True)
    number = models.CharField(_("número"), max_length=60)
    cufe = models.CharField(_("CUFE/CUDE"), max_length=200)
    cufe_scheme = models.CharField(_("esquema"), max_length=30, blank=True)
    issue_date = models.DateField(_("fecha de emisión"))
    issue_time = models.TimeField(_("hora de emisión"), null=True, blank=True)
    supplier_nit = models.CharField(_("NIT proveedor"), max_length=20)
    supplier_check_digit = models.CharField(_("DV proveedor"), max_length=1, blank=True)
    supplier_name = models.CharField(_("proveedor"), max_length=450)
    buyer_nit = models.CharField(_("NIT comprador"), max_length=20)
    buyer_check_digit = models.CharField(_("DV comprador"), max_length=1, blank=True)
    buyer_name = models.CharField(_("comprador"), max_length=450, blank=True)
    currency = models.CharField(_("moneda"), max_length=3, default="COP")
    line_extension_amount = models.DecimalField(_("valor bruto"), null=True, blank=True, **AMOUNT)
    tax_exclusive_amount = models.DecimalField(_("base gravable"), null=True, blank=True, **AMOUNT)
    tax_inclusive_amount = models.DecimalField(
        _("total con impuestos"), null=True, blank=True, **AMOUNT
    )
    payable_amount = models.DecimalField(_("total a pagar"), **AMOUNT)
    tax_amount = models.DecimalField(_("impuestos"), default=0, **AMOUNT)
    is_test_environment = models.BooleanField(_("ambiente de pruebas"), default=False)
    dian_validated = models.BooleanField(_("validado por la DIAN"), default=False)
    dian_response_code = models.CharField(_("respuesta DIAN"), max_length=4, blank=True)
    referenced_number = models.CharField(_("documento referenciado"), max_length=60, blank=True)
    referenced_cufe = models.CharField(_("CUFE referenciado"), max_length=200, blank=True)
    referenced_document = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notes",
        verbose_name=_("factura referenciada"),
    )
    warnings = models.JSONField(_("advertencias"), default=list, blank=True)
    xml_file = models.FileField(
        _("XML"), storage=get_private_storage, upload_to="documents/%Y/%m/", blank=True
    )
    pdf_file = models.FileField(
        _("PDF"), storage=get_private_storage, upload_to="documents/%Y/%m/", blank=True
    )
    received_at = models.DateTimeField(_("recibido"), auto_now_add=True)
    review_status = models.CharField(
        _("estado de revisión"),
        max_length=16,
        choices=ReviewStatus.choices,
        default=ReviewStatus.PENDING,
    )
    goods_received_at = models.DateTimeField(_("recibo del bien"), null=True, blank=True)
    claim_concept = models.CharField(
        _("concepto de reclamo"), max_length=2, choices=ClaimConcept.choices, blank=True
    )
    claim_reason = models.TextField(_("motivo del reclamo"), blank=True)

    class Meta:
        verbose_name = _("documento recibido")
        verbose_name_plural = _("documentos recibidos")
        ordering = ["-issue_date", "-id"]
        permissions = [
            ("review_receiveddocument", _("Puede registrar eventos de revisión")),
            ("export_receiveddocument", _("Puede exportar documentos")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "cufe"], name="one_document_per_cufe_and_organization"
            )
        ]
        indexes = [
            # The accountants' list: an organization's documents, newest first.
            models.Index(fields=["organization", "-issue_date", "-id"], name="doc_org_date_idx"),
            # Search and filter by supplier.
            models.Index(fields=["supplier_nit"], name="doc_supplier_idx"),
            # Linking notes to invoices by number within an organization.
            models.Index(fields=["organization", "number"], name="doc_org_number_idx"),
            # The workspace's CUFE search for users who see every organization (superusers):
            # the unique (organization, cufe) index only helps when the organization is known.
            models.Index(fields=["cufe"], name="doc_cufe_idx"),
            # The "close to the tacit-acceptance deadline" filter: invoices whose goods arrived
            # and that still await an acceptance or a claim (few, whatever the total).
            models.Index(
                fields=["organization", "goods_received_at"],
                condition=models.Q(review_status="goods_received"),
                name="doc_awaiting_decision_idx",
            ),
            # Notes that arrived before their invoice, by what they reference (few, whatever
            # the total): every fetched batch of invoices looks for them.
            *(
                models.Index(
                    fields=["organization", field],
                    condition=models.Q(referenced_document__isnull=True)
                    & ~models.Q(document_type=DocumentType.INVOICE),
                    name=f"doc_note_waiting_{suffix}_idx",
                )
                for field, suffix in (("referenced_cufe", "cufe"), ("referenced_number", "number"))
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_document_type_display()} {self.number}"


class DocumentTax(models.Model):
    document = models.ForeignKey(ReceivedDocument, on_delete=models.CASCADE, related_name="taxes")
    scheme_id = models.CharField(_("código"), max_length=10)
    name = models.CharField(_("impuesto"), max_length=60, blank=True)
    percent = models.DecimalField(
        _("tarifa"), max_digits=9, decimal_places=4, null=True, blank=True
    )
    taxable_amount = models.DecimalField(_("base"), null=True, blank=True, **AMOUNT)
    amount = models.DecimalField(_("valor"), **AMOUNT)
    is_withholding = models.BooleanField(_("retención"), default=False)

    class Meta:
        verbose_name = _("impuesto")
        verbose_name_plural = _("impuestos")
        ordering = ["is_withholding", "scheme_id", "percent"]

    def __str__(self) -> str:
        return f"{self.scheme_id} {self.percent}% = {self.amount}"


class ReviewEvent(models.Model):
    """One review step recorded by a person; kept so it can be sent to DIAN later."""

    document = models.ForeignKey(
        ReceivedDocument, on_delete=models.CASCADE, related_name="review_events"
    )
    from_status = models.CharField(_("de"), max_length=16, choices=ReviewStatus.choices)
    to_status = models.CharField(_("a"), max_length=16, choices=ReviewStatus.choices)
    event_code = models.CharField(_("evento DIAN"), max_length=3, blank=True)
    claim_concept = models.CharField(
        _("concepto de reclamo"), max_length=2, choices=ClaimConcept.choices, blank=True
    )
    note = models.TextField(_("nota"), blank=True)
    #: Empty for an event sent from the command line (`radian_send`), which has no user.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("usuario"),
    )
    created_at = models.DateTimeField(_("fecha"), auto_now_add=True)
    sent_to_dian_at = models.DateTimeField(_("enviado a la DIAN"), null=True, blank=True)

    class Meta:
        verbose_name = _("evento de revisión")
        verbose_name_plural = _("eventos de revisión")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.event_code or self.to_status} · {self.created_at:%Y-%m-%d}"


# The RADIAN sending side lives in its own module; imported here so Django registers it.
from invoices.models_radian import (  # noqa: E402
    DianCredentials,
    DianEnvironment,
    RadianEvent,
    RadianEventState,
)

__all__ = [
    "AMOUNT",
    "ClaimConcept",
    "DianCredentials",
    "DianEnvironment",
    "DocumentTax",
    "DocumentType",
    "RadianEvent",
    "RadianEventState",
    "ReceivedDocument",
    "ReviewEvent",
    "ReviewStatus",
]
