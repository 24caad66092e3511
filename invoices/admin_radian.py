"""The DIAN credentials (Back office) and the RADIAN events list (Back office and Contador).

Permissions come from organizations.scoping by the role in the object's organization. The
certificate, its password and the PIN are write-only: the page shows the certificate's subject
and dates, never a secret. Events are written only by invoices.radian_services.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy

from invoices.models import DianCredentials, RadianEvent
from invoices.radian_forms import DianCredentialsForm
from organizations.admin import OrganizationScopedAdminMixin
from organizations.models import Organization
from organizations.roles import Action
from organizations.scoping import scope_queryset

_SETTINGS = (
    "software_id",
    "environment",
    "test_set_id",
    "event_prefix",
    ("receiver_name", "receiver_id"),
    ("receiver_job_title", "receiver_department"),
)


@admin.register(DianCredentials)
class DianCredentialsAdmin(OrganizationScopedAdminMixin, admin.ModelAdmin):
    view_action = Action.DIAN_VIEW
    add_action = Action.DIAN_CONFIGURE
    change_action = Action.DIAN_CONFIGURE
    form = DianCredentialsForm
    object_select_related = ("organization",)
    list_display = (
        "organization",
        "environment",
        "software_id",
        "certificate_not_after",
        "event_prefix",
        "next_event_number",
    )
    readonly_fields = (
        "certificate_subject",
        "certificate_not_before",
        "certificate_not_after",
        "next_event_number",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._configurable_organizations(request).exists()

    def _configurable_organizations(self, request: HttpRequest) -> QuerySet[Organization]:
        """Organizations without DIAN credentials yet, where the user may configure them."""
        queryset = Organization.objects.filter(dian_credentials__isnull=True)
        return scope_queryset(queryset, request.user, action=Action.DIAN_CONFIGURE, field="pk")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "organization":
            kwargs["queryset"] = self._configurable_organizations(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple:
        if obj is not None and not self.has_change_permission(request, obj):
            return ("organization", *self.readonly_fields, *_flat(_SETTINGS))
        if obj is not None:
            return ("organization", *self.readonly_fields)
        return self.readonly_fields

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        certificate = ["certificate_subject", "certificate_not_before", "certificate_not_after"]
        if obj is None or self.has_change_permission(request, obj):
            certificate = ["certificate", "certificate_password", *certificate]
        software = ["software_id"]
        if obj is None or self.has_change_permission(request, obj):
            software.append("software_pin")
        return [
            (None, {"fields": ["organization"]}),
            (gettext_lazy("Certificado digital"), {"fields": certificate}),
            (
                gettext_lazy("Software y ambiente"),
                {"fields": [*software, "environment", "test_set_id"]},
            ),
            (
                gettext_lazy("Numeración de los eventos"),
                {"fields": ["event_prefix", "next_event_number"]},
            ),
            (
                gettext_lazy("Quien recibe los bienes (032 y 033)"),
                {"fields": list(_SETTINGS[4:])},
            ),
        ]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        """Only the form's own model fields: the write-only certificate, password and PIN share
        their names with the encrypted columns and must never be read back as initial values."""
        readonly = set(self.get_readonly_fields(request, obj))
        kwargs["fields"] = [
            name for name in DianCredentialsForm.Meta.fields if name not in readonly
        ]
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # Imported here, as in the documents' review step: the signing stack it brings would
        # otherwise load with the admin in every command and worker.
        from invoices.radian_services import dian_credentials_configure

        saved = dian_credentials_configure(
            organization=form.organization,
            data=form.cleaned_data,
            certificate=form.certificate_bytes,
        )
        obj.pk = saved.pk
        for warning in form.warnings:
            self.message_user(request, warning, messages.WARNING)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        """Nothing related to save; the service saved everything."""


def _flat(fields: tuple | list) -> list[str]:
    return [name for item in fields for name in (item if isinstance(item, tuple) else (item,))]


@admin.register(RadianEvent)
class RadianEventAdmin(OrganizationScopedAdminMixin, admin.ModelAdmin):
    view_action = Action.RADIAN_EVENT_VIEW
    object_select_related = ("organization", "document")
    list_display = (
        "created_at",
        "number",
        "code",
        "document_link",
        "state",
        "rules_display",
        "next_retry_at",
        "registered_at",
    )
    list_filter = ("state", "code", "created_at")
    search_fields = ("number", "cude", "document__number", "document__cufe")
    search_help_text = gettext_lazy("Número del evento, CUDE, número o CUFE de la factura.")
    ordering = ("-created_at", "-id")
    list_select_related = ("document",)
    fields = (
        "organization",
        "document_link",
        ("code", "concept"),
        "note",
        "number",
        "cude",
        "issued_at",
        "state",
        ("dian_status_code", "dian_description"),
        "rules_display",
        ("attempts", "next_retry_at", "last_error"),
        ("sent_at", "registered_at"),
        ("supplier_notified_at", "supplier_email"),
        "actor",
        "signed_xml",
    )
    readonly_fields = (
        "organization",
        "document_link",
        "code",
        "concept",
        "note",
        "number",
        "cude",
        "issued_at",
        "state",
        "dian_status_code",
        "dian_description",
        "rules_display",
        "attempts",
        "next_retry_at",
        "last_error",
        "sent_at",
        "registered_at",
        "supplier_notified_at",
        "supplier_email",
        "actor",
        "signed_xml",
    )

    @admin.display(description=gettext_lazy("factura"))
    def document_link(self, event: RadianEvent) -> str:
        url = reverse("admin:invoices_receiveddocument_change", args=[event.document_id])
        return format_html('<a href="{}">{}</a>', url, event.document.number)

    @admin.display(description=gettext_lazy("reglas de la DIAN"))
    def rules_display(self, event: RadianEvent) -> str:
        if not event.dian_errors:
            return "—"
        return format_html_join("", "<div>{}</div>", ((line,) for line in event.dian_errors))
