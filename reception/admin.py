"""The reception mailbox in the admin: thin over `MailboxConfigurationForm` and the services.

A valid POST is saved here rather than through Django's own save path because that path runs
inside one database transaction, and the connection check that `mailbox_configure` ends with
must run outside any transaction (it can take the network timeout while holding row locks).
Only public ModelAdmin hooks are used; an invalid POST and every GET go to Django's view.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from organizations.admin import OrganizationScopedAdminMixin
from organizations.models import Organization
from organizations.roles import Role
from organizations.scoping import can_configure, scope_queryset
from reception.forms import (
    INTRO_PARAGRAPHS,
    SECURITY_NOTE,
    SWITCH_WARNING,
    MailboxConfigurationForm,
    expiry_note,
    secret_state,
)
from reception.models import MailboxStatus, ReceptionMailbox, Secret, ServerType, StatusChange
from reception.services import mailbox_configure

#: POST key of the intermediate page's "Sí": the sealed form data to save.
SWITCH_PAYLOAD = "_switch_payload"
#: How long the "Sí" of the intermediate page stays valid.
SWITCH_CONFIRMATION_SECONDS = 30 * 60

#: What a change of server type deletes, as the intermediate page lists it.
WIPED_ON_SWITCH = (
    _("Contraseña"),
    _("Id. Tenant"),
    _("Id. Aplicación"),
    _("Id. de objeto"),
    _("Secretos (quedan en el historial, sin su valor)"),
    _("Correo de respaldo y su confirmación"),
    _("Último diagnóstico de conexión"),
)


class SecretInline(admin.TabularInline):
    """The secrets over time: when, by whom, until when, which is current. Never a value."""

    model = Secret
    fields = ["created_at", "created_by", "expires_on", "notification_email", "is_current"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("historial de secretos")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class StatusChangeInline(admin.TabularInline):
    model = StatusChange
    fields = ["created_at", "from_status", "to_status", "reason", "actor", "source"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReceptionMailbox)
class ReceptionMailboxAdmin(OrganizationScopedAdminMixin, admin.ModelAdmin):
    form = MailboxConfigurationForm
    inlines = [SecretInline, StatusChangeInline]
    list_display = [
        "organization",
        "username",
        "server_type",
        "protocol",
        "status",
        "status_changed_at",
    ]
    list_filter = ["status", "server_type", "protocol"]
    list_select_related = ["organization"]
    search_fields = ["username", "organization__name", "organization__nit"]
    switch_template = "admin/reception/receptionmailbox/switch_server_type.html"

    # --- Who may do what -------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return (
            super().has_add_permission(request)
            and self._configurable_organizations(request).exists()
        )

    def has_change_permission(
        self, request: HttpRequest, obj: ReceptionMailbox | None = None
    ) -> bool:
        """The Back office group's permission counts only for its own organizations."""
        allowed = super().has_change_permission(request, obj)
        if obj is None or not allowed:
            return allowed
        return can_configure(request.user, obj.organization_id)

    def _configurable_organizations(self, request: HttpRequest) -> QuerySet[Organization]:
        """Organizations without a mailbox yet, where the user is Back office."""
        queryset = Organization.objects.filter(mailbox__isnull=True)
        return scope_queryset(queryset, request.user, field="pk", roles=[Role.BACK_OFFICE])

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "organization":
            kwargs["queryset"] = self._configurable_organizations(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # --- What the page shows ---------------------------------------------------------------

    def get_fieldsets(self, request: HttpRequest, obj: ReceptionMailbox | None = None) -> list:
        if obj is not None and not self.has_change_permission(request, obj):
            return self._read_only_fieldsets(request)
        head = ["organization"] if obj is None else ["organization", "status_summary"]
        if obj is not None and request.user.has_perm("reception.view_secret"):
            head.append("secret_summary")
        return [
            (None, {"fields": head}),
            (
                _("Correo Recepción de Documentos Electrónicos"),
                {
                    "description": _paragraphs(INTRO_PARAGRAPHS),
                    "fields": [
                        "server_type",
                        "protocol",
                        "host",
                        "port",
                        "security",
                        "username",
                        "backup_email",
                    ],
                },
            ),
            (_("Autenticación básica"), {"classes": ["basic-auth"], "fields": ["password"]}),
            (
                _("Información de Seguridad"),
                {
                    "classes": ["modern-auth"],
                    "description": _paragraphs([SECURITY_NOTE]),
                    "fields": [
                        "tenant_id",
                        "tenant_id_confirm",
                        "client_id",
                        "client_id_confirm",
                        "secret",
                        "secret_confirm",
                        "object_id",
                    ],
                },
            ),
            (
                None,
                {
                    "classes": ["modern-auth"],
                    "description": _paragraphs([expiry_note()]),
                    "fields": ["secret_expires_on", "notification_email"],
                },
            ),
        ]

    def _read_only_fieldsets(self, request: HttpRequest) -> list:
        head = ["organization", "status_summary"]
        if request.user.has_perm("reception.view_secret"):
            head.append("secret_summary")
        return [
            (None, {"fields": head}),
            (
                _("Correo Recepción de Documentos Electrónicos"),
                {
                    "fields": [
                        "server_type",
                        "protocol",
                        "host",
                        "port",
                        "security",
                        "username",
                        "backup_email",
                    ]
                },
            ),
            (_("Información de Seguridad"), {"fields": ["tenant_id", "client_id", "object_id"]}),
        ]

    def get_readonly_fields(
        self, request: HttpRequest, obj: ReceptionMailbox | None = None
    ) -> list[str]:
        return [] if obj is None else ["organization", "status_summary", "secret_summary"]

    @admin.display(description=_("Estado"))
    def status_summary(self, obj: ReceptionMailbox) -> str:
        when = (
            date_format(timezone.localtime(obj.status_changed_at), "SHORT_DATETIME_FORMAT")
            if obj.status_changed_at
            else "—"
        )
        return format_html(
            '<strong class="mailbox-status mailbox-status-{}">{}</strong> · {}<br>{}',
            obj.status,
            obj.get_status_display(),
            when,
            obj.status_reason or "",
        )

    @admin.display(description=_("Secreto"))
    def secret_summary(self, obj: ReceptionMailbox) -> str:
        if obj.server_type != ServerType.OUTLOOK_MODERN:
            return gettext("No aplica: este tipo de servidor no usa secreto.")
        current = obj.current_secret
        if current is None:
            return gettext("No hay un secreto configurado.")
        return gettext("Hay un secreto configurado (%(state)s).") % {"state": secret_state(current)}

    # --- Saving ----------------------------------------------------------------------------

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        if request.method != "POST":
            if object_id is not None:
                mailbox = self.get_object(request, unquote(object_id))
                extra_context = {"title": _title(mailbox), **(extra_context or {})}
            return super().changeform_view(request, object_id, form_url, extra_context)
        mailbox = None if object_id is None else self.get_object(request, unquote(object_id))
        if mailbox is None and not self.has_add_permission(request):
            raise PermissionDenied
        if mailbox is not None and not self.has_change_permission(request, mailbox):
            raise PermissionDenied
        if mailbox is not None and SWITCH_PAYLOAD in request.POST:
            return self._switch_confirmed(request, mailbox)
        form_class = self.get_form(request, mailbox, change=mailbox is not None)
        form = form_class(request.POST, request.FILES, instance=mailbox)
        if not form.is_valid():
            # Django's own view validates again and shows the errors; it saves nothing.
            return super().changeform_view(request, object_id, form_url, extra_context)
        if form.switches_server_type:
            return self._switch_confirmation(request, mailbox, form)
        saved = self._configure(request, form, confirm_switch=False)
        message = self.construct_change_message(request, form, [], add=mailbox is None)
        if mailbox is None:
            self.log_addition(request, saved, message)
            return self.response_add(request, saved)
        self.log_change(request, saved, message)
        return self.response_change(request, saved)

    def _configure(
        self, request: HttpRequest, form: MailboxConfigurationForm, *, confirm_switch: bool
    ) -> ReceptionMailbox:
        if form.instance.pk:
            organization = form.instance.organization
        else:
            organization = form.cleaned_data["organization"]
        mailbox = mailbox_configure(
            organization=organization,
            data=form.cleaned_data,
            actor=request.user,
            source="admin",
            confirm_switch=confirm_switch,
        )
        mailbox.refresh_from_db()
        self.message_user(
            request,
            _("Estado del correo: %(status)s. %(reason)s")
            % {"status": mailbox.get_status_display(), "reason": mailbox.status_reason},
            messages.WARNING if mailbox.status == MailboxStatus.INACTIVE else messages.SUCCESS,
        )
        return mailbox

    # --- The server-type switch ------------------------------------------------------------

    def _switch_confirmation(
        self, request: HttpRequest, mailbox: ReceptionMailbox, form: MailboxConfigurationForm
    ) -> TemplateResponse:
        """The guide's warning, with "Sí" re-posting the (sealed) data and "No" going back."""
        new_type = ServerType(form.cleaned_data["server_type"])
        context = {
            **self.admin_site.each_context(request),
            "title": _("¿Cambiar el Tipo de Servidor?"),
            "subtitle": None,
            "opts": self.opts,
            "object": mailbox,
            "warning": SWITCH_WARNING,
            "previous_type": ServerType(form.stored_server_type).label,
            "new_type": new_type.label,
            "wiped": WIPED_ON_SWITCH,
            "payload_name": SWITCH_PAYLOAD,
            "payload": _seal(request, mailbox, request.POST),
            "change_url": reverse("admin:reception_receptionmailbox_change", args=[mailbox.pk]),
        }
        return TemplateResponse(request, self.switch_template, context)

    def _switch_confirmed(self, request: HttpRequest, mailbox: ReceptionMailbox) -> HttpResponse:
        """ "Sí": validate the data again (never trust what came back) and save the new type."""
        change_url = reverse("admin:reception_receptionmailbox_change", args=[mailbox.pk])
        data = _unseal(request, mailbox, request.POST[SWITCH_PAYLOAD])
        if data is None:
            self.message_user(
                request,
                _("La confirmación venció o no es válida; no se cambió nada. Guarda de nuevo."),
                messages.ERROR,
            )
            return HttpResponseRedirect(change_url)
        form = self.get_form(request, mailbox, change=True)(data, instance=mailbox)
        if not form.is_valid():
            errors = "; ".join(
                f"{form.fields[name].label if name in form.fields else ''}: {' '.join(msgs)}"
                for name, msgs in form.errors.items()
            )
            self.message_user(
                request,
                _("Los datos ya no son válidos; no se cambió nada. %(errors)s")
                % {"errors": errors},
                messages.ERROR,
            )
            return HttpResponseRedirect(change_url)
        saved = self._configure(request, form, confirm_switch=True)
        self.log_change(request, saved, self.construct_change_message(request, form, []))
        self.message_user(
            request,
            _("Tipo de Servidor cambiado a «%(type)s»; se eliminaron los parámetros anteriores.")
            % {"type": saved.get_server_type_display()},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(change_url)


def _title(mailbox: ReceptionMailbox) -> str:
    """The guide's heading: "Correo Recepción de Documentos Electrónicos - Activo"."""
    return f"{ReceptionMailbox._meta.verbose_name} - {mailbox.get_status_display()}"


def _paragraphs(texts: Any) -> str:
    return format_html_join("", "<p>{}</p>", ((text,) for text in texts))


def _fernet() -> Fernet:
    """A key of its own for the switch page, derived from the secrets' encryption key."""
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"reception.switch-confirmation"
    ).derive(settings.RECEPTION_ENCRYPTION_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _seal(request: HttpRequest, mailbox: ReceptionMailbox, post: QueryDict) -> str:
    """The submitted data, encrypted: the intermediate page must not show a secret or password."""
    fields = [
        [name, value]
        for name, values in post.lists()
        if name not in ("csrfmiddlewaretoken", SWITCH_PAYLOAD)
        for value in values
    ]
    payload = {"mailbox": mailbox.pk, "user": request.user.pk, "fields": fields}
    return _fernet().encrypt(json.dumps(payload).encode()).decode()


def _unseal(request: HttpRequest, mailbox: ReceptionMailbox, token: str) -> QueryDict | None:
    """The data sealed for this mailbox and this user, unless expired or tampered with."""
    try:
        payload = json.loads(_fernet().decrypt(token.encode(), ttl=SWITCH_CONFIRMATION_SECONDS))
    except (InvalidToken, ValueError):
        return None
    if payload.get("mailbox") != mailbox.pk or payload.get("user") != request.user.pk:
        return None
    data = QueryDict(mutable=True)
    for name, value in payload["fields"]:
        data.appendlist(name, value)
    return data
