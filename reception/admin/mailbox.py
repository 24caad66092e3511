"""The reception mailbox in the admin: thin over `MailboxConfigurationForm` and the services.

A valid POST is saved here rather than through Django's own save path because that path runs
inside one database transaction, and the connection check that `mailbox_configure` ends with
must run outside any transaction (it can take the network timeout while holding row locks).
Only public ModelAdmin hooks are used; an invalid POST and every GET go to Django's view.
Changing the server type goes through an intermediate page whose "Sí" carries the form sealed
(reception.admin.sealing); the mailbox's operations are in reception.admin.operations.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from organizations.admin import OrganizationScopedAdminMixin
from organizations.models import Organization
from organizations.roles import Action
from organizations.scoping import scope_queryset
from reception import services
from reception.admin.inlines import SecretInline, StatusChangeInline
from reception.admin.operations import MailboxOperationsMixin
from reception.admin.pages import DIAGNOSIS_ANCHOR, mailbox_change_url, page_title, paragraphs
from reception.admin.schedules import LIST_CSS
from reception.admin.sealing import SWITCH_PAYLOAD, seal, unseal
from reception.exceptions import DestinationRefused
from reception.forms import (
    CONNECTION_FIELDS,
    INTRO_PARAGRAPHS,
    SECURITY_NOTE,
    SWITCH_WARNING,
    MailboxConfigurationForm,
    expiry_note,
    secret_state,
)
from reception.models import MailboxStatus, ReceptionMailbox, ServerType
from reception.monitoring import StaleFetchFilter, last_read_column
from reception.services import mailbox_configure

#: Where a request carries the service's DestinationRefused back to the form (see get_form).
REFUSAL_ATTRIBUTE = "reception_destination_refused"

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


@admin.register(ReceptionMailbox)
class ReceptionMailboxAdmin(MailboxOperationsMixin, OrganizationScopedAdminMixin, admin.ModelAdmin):
    view_action = Action.MAILBOX_VIEW
    add_action = change_action = Action.MAILBOX_CONFIGURE
    delete_action = Action.MAILBOX_DELETE
    form = MailboxConfigurationForm
    inlines = [SecretInline, StatusChangeInline]
    list_display = [
        "organization",
        "username",
        "server_type",
        "protocol",
        "status",
        "status_changed_at",
        last_read_column,
    ]
    list_filter = ["status", StaleFetchFilter, "server_type", "protocol"]
    list_select_related = ["organization"]
    search_fields = ["username", "organization__name", "organization__nit"]
    switch_template = "admin/reception/receptionmailbox/switch_server_type.html"
    check_result_template = "admin/reception/receptionmailbox/check_result.html"
    rotation_template = "admin/reception/receptionmailbox/rotate_secret.html"
    confirm_backup_template = "admin/reception/receptionmailbox/confirm_backup.html"

    class Media:
        css = LIST_CSS

    # --- Who may do what -------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._configurable_organizations(request).exists()

    def _configurable_organizations(self, request: HttpRequest) -> QuerySet[Organization]:
        """Organizations without a mailbox yet, where the user may configure one."""
        queryset = Organization.objects.filter(mailbox__isnull=True)
        return scope_queryset(queryset, request.user, action=Action.MAILBOX_CONFIGURE, field="pk")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "organization":
            kwargs["queryset"] = self._configurable_organizations(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # --- What the page shows ---------------------------------------------------------------

    def get_fieldsets(self, request: HttpRequest, obj: ReceptionMailbox | None = None) -> list:
        if obj is not None and not self.has_change_permission(request, obj):
            return self._read_only_fieldsets(request, obj)
        head = ["organization"] if obj is None else ["organization", "status_summary"]
        if obj is not None and self.allows(request, Action.SECRET_VIEW, obj):
            head.append("secret_summary")
        return [
            (None, {"fields": head}),
            (
                _("Correo Recepción de Documentos Electrónicos"),
                {"description": paragraphs(INTRO_PARAGRAPHS), "fields": CONNECTION_FIELDS},
            ),
            (_("Autenticación básica"), {"classes": ["basic-auth"], "fields": ["password"]}),
            (
                _("Información de Seguridad"),
                {
                    "classes": ["modern-auth"],
                    "description": paragraphs([SECURITY_NOTE]),
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
                    "description": paragraphs([expiry_note()]),
                    "fields": ["secret_expires_on", "notification_email"],
                },
            ),
        ]

    def _read_only_fieldsets(self, request: HttpRequest, obj: ReceptionMailbox) -> list:
        head = ["organization", "status_summary"]
        if self.allows(request, Action.SECRET_VIEW, obj):
            head.append("secret_summary")
        return [
            (None, {"fields": head}),
            (_("Correo Recepción de Documentos Electrónicos"), {"fields": CONNECTION_FIELDS}),
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
                extra_context = {"title": page_title(mailbox), **(extra_context or {})}
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
        try:
            if form.switches_server_type:
                services.mailbox_destination_check(form.cleaned_data)
                return self._switch_confirmation(request, mailbox, form)
            saved = self._configure(request, form, confirm_switch=False)
        except DestinationRefused as refused:
            # Django's view validates again, with the refusal on its field (see get_form).
            setattr(request, REFUSAL_ATTRIBUTE, refused)
            return super().changeform_view(request, object_id, form_url, extra_context)
        message = self.construct_change_message(request, form, [], add=mailbox is None)
        if mailbox is None:
            self.log_addition(request, saved, message)
            return self.response_add(request, saved)
        self.log_change(request, saved, message)
        return self.response_change(request, saved)

    def get_form(
        self,
        request: HttpRequest,
        obj: ReceptionMailbox | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> type[MailboxConfigurationForm]:
        """The configuration form, carrying the service's refusal of this request if any."""
        form = super().get_form(request, obj, change, **kwargs)
        refused = getattr(request, REFUSAL_ATTRIBUTE, None)
        if refused is None:
            return form
        return type(form.__name__, (form,), {"service_errors": {refused.field: [str(refused)]}})

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
        self._tell_status(request, mailbox)
        return mailbox

    def _tell_status(self, request: HttpRequest, mailbox: ReceptionMailbox, lead: str = "") -> None:
        self.message_user(
            request,
            lead
            + _("Estado del correo: %(status)s. %(reason)s")
            % {"status": mailbox.get_status_display(), "reason": mailbox.status_reason},
            messages.WARNING if mailbox.status == MailboxStatus.INACTIVE else messages.SUCCESS,
        )

    def response_add(
        self, request: HttpRequest, obj: ReceptionMailbox, post_url_continue: str | None = None
    ) -> HttpResponse:
        return self._to_diagnosis(request, obj, super().response_add(request, obj))

    def response_change(self, request: HttpRequest, obj: ReceptionMailbox) -> HttpResponse:
        return self._to_diagnosis(request, obj, super().response_change(request, obj))

    def _to_diagnosis(
        self, request: HttpRequest, mailbox: ReceptionMailbox, response: HttpResponse
    ) -> HttpResponse:
        """Saving ran the connection check: land on the mailbox page with its step-by-step
        diagnosis in view, not on the list with one line ("Guardar y añadir otro" and popups
        keep Django's own answer)."""
        if not isinstance(response, HttpResponseRedirect) or IS_POPUP_VAR in request.POST:
            return response
        if "_addanother" in request.POST:
            return response
        return HttpResponseRedirect(mailbox_change_url(mailbox) + DIAGNOSIS_ANCHOR)

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
            "payload": seal(request, mailbox, request.POST),
            "change_url": reverse("admin:reception_receptionmailbox_change", args=[mailbox.pk]),
        }
        return TemplateResponse(request, self.switch_template, context)

    def _switch_confirmed(self, request: HttpRequest, mailbox: ReceptionMailbox) -> HttpResponse:
        """ "Sí": validate the data again (never trust what came back) and save the new type."""
        change_url = mailbox_change_url(mailbox)
        data = unseal(request, mailbox, request.POST[SWITCH_PAYLOAD])
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
        try:
            saved = self._configure(request, form, confirm_switch=True)
        except DestinationRefused as refused:
            self.message_user(
                request,
                _("Los datos ya no son válidos; no se cambió nada. %(errors)s")
                % {"errors": f"{form.fields[refused.field].label}: {refused}"},
                messages.ERROR,
            )
            return HttpResponseRedirect(change_url)
        self.log_change(request, saved, self.construct_change_message(request, form, []))
        self.message_user(
            request,
            _("Tipo de Servidor cambiado a «%(type)s»; se eliminaron los parámetros anteriores.")
            % {"type": saved.get_server_type_display()},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(change_url + DIAGNOSIS_ANCHOR)
